"""Fair scheduling of query work, on the event loop, before a request gets a Flask thread.

Modelled on the Wikidata Query Service's rules: each client (its address) may run a few queries at once and
spend a budget of query time per minute; past either it gets 429 with Retry-After and a message naming the
limit. Requests that need a query process wait here, on the event loop, for one of `slots` (the worker's
query processes), so a waiting request holds no thread that resource pages, stored queries or /health need.
When a slot frees, it goes to the waiter whose client has the fewest requests running, then the fewest in all
(then the earliest): a client with none running goes before the queued requests of a client that has several.
A wait is bounded (503 with Retry-After).

The limits are per server worker (the workers share nothing); README's operations section gives the defaults.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nato_kg.errors import Problem

WINDOW_S = 60.0  # the budget's window: query-seconds per minute
HEAVY_S = 1.0  # a client that has used more query time than this in the window never takes the last process


@dataclass
class _Client:
    running: dict[int, tuple[float, bool]] = field(default_factory=dict)  # ticket -> (start, capped)
    waiting: int = 0
    spent: deque[tuple[float, float]] = field(default_factory=deque)  # (end, seconds) within the window
    # The sum of `spent`'s seconds, kept as entries come and go: a busy client has thousands of entries in the
    # window, and summing them on every admission made each request cost more the more requests came before.
    spent_seconds: float = 0.0

    def queries_running(self) -> int:
        return sum(capped for _, capped in self.running.values())

    def charge(self, end: float, seconds: float) -> None:
        self.spent.append((end, seconds))
        self.spent_seconds += seconds

    def used(self, now: float) -> float:
        while self.spent and self.spent[0][0] <= now - WINDOW_S:
            self.spent_seconds -= self.spent.popleft()[1]
        if not self.spent:
            self.spent_seconds = 0.0  # no rounding left over from the subtractions
        return (max(0.0, self.spent_seconds)
                + sum(now - start for start, capped in self.running.values() if capped))


@dataclass
class Ticket:
    client: str
    number: int
    capped: bool  # counted against the client's limits (a query, not a page)


@dataclass
class _Waiter:
    ticket: Ticket
    future: asyncio.Future[None]


class QueryGate:
    """Admission to the worker's query processes. All methods run on the event loop (no locks needed).

    A client may have `per_client` queries running or waiting (past it: 429), of which at most `slots - 1` (at
    least 1) run at once, so one query process is always left for other clients; and `seconds_per_minute` of
    query time in the last minute (past it: 429). Pages are not held to these, only queued fairly."""

    def __init__(self, slots: int, per_client: int, seconds_per_minute: float, max_wait_s: float,
                 time_limit_s: float, max_waiting: int, unavailable: Callable[[], int] = lambda: 0) -> None:
        self.slots = slots
        # Processes out of service (being replaced after a time limit): their slots wait for them, or the next
        # request would be let in only to wait for the replacement in a Flask thread.
        self.unavailable = unavailable
        self._loop: asyncio.AbstractEventLoop | None = None
        self.per_client = per_client
        self.seconds_per_minute = seconds_per_minute
        self.max_wait_s = max_wait_s
        self.time_limit_s = time_limit_s
        self.max_waiting = max_waiting
        self.free = slots
        self._clients: dict[str, _Client] = {}
        self._waiters: list[_Waiter] = []
        self._numbers = itertools.count()
        self.refused = {"concurrency": 0, "budget": 0, "queue_full": 0, "waited_too_long": 0}

    def _client(self, address: str) -> _Client:
        client = self._clients.get(address)
        if client is None:
            client = self._clients[address] = _Client()
        return client

    def _check_limits(self, address: str, client: _Client, now: float) -> None:
        queries = client.queries_running()
        if queries + client.waiting >= self.per_client:
            self.refused["concurrency"] += 1
            oldest = min((start for start, capped in client.running.values() if capped), default=now)
            raise Problem(429, f"too many queries at once from {address}: {queries} running and "
                          f"{client.waiting} waiting; at most {self.per_client} may run or wait at a time "
                          "(per server worker); wait for one to finish",
                          retry_after_s=self.time_limit_s - (now - oldest))
        used = client.used(now)
        if used >= self.seconds_per_minute:
            self.refused["budget"] += 1
            # Retry when enough of the window's spending has aged out to bring it under the budget.
            over, retry = used - self.seconds_per_minute, WINDOW_S
            for end, seconds in client.spent:
                over -= seconds
                if over < 0:
                    retry = end + WINDOW_S - now
                    break
            raise Problem(429, f"{address} has used {used:.1f} s of query time in the last minute; the limit is "
                          f"{self.seconds_per_minute:g} s per minute (per server worker); wait and try "
                          "again", retry_after_s=retry)

    async def enter(self, address: str, capped: bool = True) -> Ticket:
        """A ticket to run, or Problem. `capped` requests (queries) count against the client's limits; pages are
        only queued fairly."""
        self._loop = asyncio.get_running_loop()
        now = time.monotonic()
        number = next(self._numbers)
        if number % 1024 == 0:
            self._forget_idle_clients(now)
        client = self._client(address)
        if capped:
            self._check_limits(address, client, now)
        if len(self._waiters) >= self.max_waiting:
            self.refused["queue_full"] += 1
            raise Problem(503, f"all {self.slots} query processes are busy and {self.max_waiting} requests are "
                          "waiting; try again shortly", retry_after_s=self.time_limit_s / 2)
        ticket = Ticket(address, number, capped)
        waiter = _Waiter(ticket, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        client.waiting += 1
        self._dispatch()
        try:
            if not waiter.future.done():
                await asyncio.wait_for(asyncio.shield(waiter.future), self.max_wait_s)
        except (TimeoutError, asyncio.CancelledError) as error:
            if waiter.future.done():  # granted at the last moment: give the slot back
                self.leave(ticket)
            else:
                waiter.future.cancel()
                self._waiters.remove(waiter)
                client.waiting -= 1
            if isinstance(error, asyncio.CancelledError):
                raise
            self.refused["waited_too_long"] += 1
            raise Problem(503, f"all {self.slots} query processes stayed busy for {self.max_wait_s:g} s; try "
                          "again shortly", retry_after_s=self.time_limit_s / 2) from None
        return ticket

    def leave(self, ticket: Ticket, query_seconds: float | None = None) -> None:
        """The request is answered: charge its query time (the seconds its query processes took, if known;
        else the time it held its slot) and hand the slot to the fairest waiter."""
        now = time.monotonic()
        client = self._clients[ticket.client]
        started, capped = client.running.pop(ticket.number)
        if capped:
            client.charge(now, now - started if query_seconds is None else query_seconds)
        self.free += 1
        self._dispatch()

    def _eligible(self, waiter: _Waiter, available: int, now: float) -> bool:
        """Whether this waiter may take a process now. A client runs at most one query fewer than the processes
        in service; one that has used more than HEAVY_S of query time in the window may not take the last
        process in service at all (while another is being replaced), so a newcomer always finds one."""
        if not waiter.ticket.capped:
            return True
        client = self._clients[waiter.ticket.client]
        share = max(1, available - 1)
        if self.slots > 1 and client.used(now) > HEAVY_S:
            share = available - 1
        return client.queries_running() < share

    def _rank(self, waiter: _Waiter) -> tuple[int, int, int]:
        client = self._clients[waiter.ticket.client]
        return (len(client.running), len(client.running) + client.waiting, waiter.ticket.number)

    def _dispatch(self) -> None:
        """Give free slots to waiters: the one whose client has the fewest requests running goes first, then
        the one whose client has the fewest in all (running or waiting), then the earliest; a query whose client
        already runs its share waits for one of its own to finish."""
        now = time.monotonic()
        while self.free - self.unavailable() > 0:
            available = self.slots - self.unavailable()
            eligible = [w for w in self._waiters if self._eligible(w, available, now)]
            if not eligible:
                return
            waiter = min(eligible, key=self._rank)
            self._waiters.remove(waiter)
            self.free -= 1
            client = self._clients[waiter.ticket.client]
            client.waiting -= 1
            client.running[waiter.ticket.number] = (time.monotonic(), waiter.ticket.capped)
            waiter.future.set_result(None)

    def wake(self) -> None:
        """A process is back in service (called from any thread): let waiters in."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._dispatch)

    def _forget_idle_clients(self, now: float) -> None:
        """Clients with nothing running or waiting and no spending in the window are forgotten: the table stays
        as small as the set of recent clients."""
        for address, client in list(self._clients.items()):
            if not client.running and not client.waiting and client.used(now) == 0:
                del self._clients[address]

    def state(self) -> dict[str, Any]:
        return {"slots": self.slots, "free": max(0, self.free - self.unavailable()), "waiting": len(self._waiters),
                "clients": len(self._clients), "refused": dict(self.refused)}

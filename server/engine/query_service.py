"""QueryService: the one way to run a SPARQL query here, checked by the policy and run in a killable process.

Each gunicorn worker owns a small pool of query processes (server/engine/query_process.py), each with its own copy of
the store. A request borrows an idle process, sends it the query over a pipe and waits with a deadline; at
the deadline the process is killed (nothing else can stop Oxigraph mid-query), the client gets a 503, and a
replacement starts in the background. A process that dies (memory cap, stack overflow) is replaced the same
way. So one runaway query holds one process for at most the time limit and never stalls the others.
"""

from __future__ import annotations

import atexit
import copy
import hashlib
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from nato_kg import formats
from nato_kg.engine.federation import ServiceRelay
from nato_kg.engine.messages import Answer, QueryBackend, QueryRequest, ScratchDataset, receive_reply, send_request
from nato_kg.engine.policy import QueryInfo, QueryPolicy
from nato_kg.engine.remote_backend import RemoteEndpoint
from nato_kg.errors import Problem
from nato_kg.settings import Settings

log = logging.getLogger("kg.queries")


@dataclass(frozen=True)
class QueryResult:
    body: bytes
    media_type: str  # with charset
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    service_failures: tuple[tuple[str, str], ...] = ()  # (endpoint, why) of SERVICE SILENT calls that failed


@dataclass(frozen=True)
class CheckedQuery:
    """A query the policy has let through, with the dataset it was checked against: what QueryService.run
    takes, so a query is checked once however many steps (negotiation, ETag, the run) look at it."""

    text: str
    info: QueryInfo
    default_graphs: tuple[str, ...] = ()  # the protocol's default-graph-uri
    named_graphs: tuple[str, ...] = ()  # and named-graph-uri

    @property
    def form(self) -> str:
        return self.info.form or "SELECT"  # no form found: the engine reports the syntax error

    @property
    def formats(self) -> tuple[str, ...]:
        """The short names of the formats this query's answer can be given in."""
        return formats.formats_for(self.form)


def query_digest(query: str | None) -> str:
    """The short name a query goes by in the logs."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()[:12] if query else "-"


class _Process:
    """One query process, started as `python -m nato_kg.engine.query_process` with one end of a socket pair.

    Its stderr comes through us: each line goes to the server log, and the last few are kept, because when
    the engine aborts the process (a Rust panic, a failed allocation) they are the only record of why."""

    STDERR_TAIL = 40  # lines kept; a panic's message comes first, before its backtrace

    def __init__(self, settings: Settings) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen([sys.executable, "-m", "nato_kg.engine.query_process", str(theirs.fileno())],
                                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        theirs.close()
        self.conn = Connection(ours.detach())
        self.conn.send(settings)
        self.stderr_tail: deque[str] = deque(maxlen=self.STDERR_TAIL)
        self.stderr_closed = threading.Event()
        self.killed_by_us = False
        threading.Thread(target=self._read_stderr, name="kg-query-stderr", daemon=True).start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        pid = self.process.pid
        try:
            for raw in self.process.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                if line and not line.startswith(" "):  # a backtrace's frames are indented: logged, not kept
                    self.stderr_tail.append(line)
                log.warning("query process %d: %s", pid, line)
        finally:
            self.stderr_closed.set()

    def death(self) -> tuple[str, str]:
        """(cause, detail) of this process's end, once it has ended (waits a few seconds for it at most)."""
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(5)
        self.stderr_closed.wait(5)  # the pipe closes when the process is gone: then the tail is complete
        said = "\n".join(self.stderr_tail)
        if code == -signal.SIGKILL:
            return ("time-limit" if self.killed_by_us else "killed", "SIGKILL")
        if code == -signal.SIGSEGV or "overflowed its stack" in said:
            return "stack-overflow", f"signal {-code}" if code < 0 else f"exit code {code}"
        if "memory allocation of" in said:
            return "memory-limit", next(line for line in reversed(self.stderr_tail) if "memory allocation" in line)
        if code == -signal.SIGABRT:
            return "engine-panic", _panic_message(list(self.stderr_tail)) or "SIGABRT with no message"
        return "exited", f"signal {-code}" if code < 0 else f"exit code {code}"

    def wait_ready(self, timeout_s: float) -> bool:  # the process's first message, once its store is loaded
        try:
            return self.conn.poll(timeout_s) and self.conn.recv()[0] == "ready"
        except (EOFError, OSError):
            return False

    def kill(self) -> None:
        self.killed_by_us = True
        self.process.kill()  # SIGKILL: nothing else stops a query inside Oxigraph
        self.process.wait(5)
        self.conn.close()

    def set_niceness(self, niceness: int) -> bool:
        """Set this process's CPU niceness (its main thread evaluates the query); False if not allowed (only a
        privileged server may lower it again)."""
        try:
            os.setpriority(os.PRIO_PROCESS, self.process.pid, niceness)
        except OSError:
            return False
        return True

    def died_while_idle(self) -> bool:
        """True when this idle process is gone (killed from outside, crashed): an idle process sends nothing,
        so a readable pipe means its end was closed. poll() also reaps it, so no zombie is left behind."""
        if self.process.poll() is not None:
            return True
        try:
            return self.conn.poll(0)
        except (OSError, ValueError):
            return True


def _panic_message(lines: list[str]) -> str | None:
    """The message of a Rust panic in a process's stderr: the line after 'thread ... panicked at FILE:'."""
    for i, line in enumerate(lines):
        if " panicked at " in line:
            rest = line.split(" panicked at ", 1)[1]
            return lines[i + 1].strip() if rest.endswith(":") and i + 1 < len(lines) else rest
    return None


def _death_error(cause: str, detail: str, settings: Settings) -> Problem:
    """What the client is told when its query's process died, by cause."""
    messages = {
        "memory-limit": (503, f"the query needed more than the {settings.query_memory_mb} MB memory limit and "
                              "was stopped; narrow it down (a LIMIT, fewer variables, more specific patterns)"),
        "stack-overflow": (503, "the query is nested too deeply for the engine (its stack overflowed); "
                                "write long chains of operators or patterns in smaller parts"),
        "engine-panic": (500, f"the query engine (Oxigraph) failed on this query: {detail}. This is a bug in "
                              "the engine, not in your query; it is in the server log under this query's "
                              "digest"),
        "killed": (503, "the query's process was killed from outside the server (not by a limit of ours); "
                        "try again"),
        "exited": (503, f"the query's process ended unexpectedly ({detail}); try again"),
    }
    status, message = messages[cause]
    return Problem(status, message, cause)


class ProcessPool:
    """A fixed number of query processes; a borrowed one is returned, or killed and replaced."""

    STARTUP_S = 120.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.size = max(1, settings.query_processes)
        self._idle: queue.Queue[_Process] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self.restarts = 0
        self.starting = 0  # replacements being started
        self.dead = 0  # slots whose replacement failed to start; retried every RETRY_S
        self.died_idle = 0  # processes found dead while idle (killed from outside, crashed)
        self.on_ready: Callable[[], None] | None = None  # told when a replacement is ready (the fair queue waits)
        started = [_Process(settings) for _ in range(self.size)]
        for process in started:  # they load in parallel; the service is usable once they all are ready
            if not process.wait_ready(self.STARTUP_S):
                raise RuntimeError(f"a query process failed to start (exit code {process.process.poll()})")
            self._idle.put(process)
        # A process that dies while idle is noticed within WATCH_S even when no query comes to find it.
        threading.Thread(target=self._watch, name="kg-query-watch", daemon=True).start()

    WATCH_S = 1.0
    RETRY_S = 5.0

    def _watch(self) -> None:
        while not self._closed:
            time.sleep(self.WATCH_S)
            self.sweep()

    def sweep(self) -> int:
        """Find idle processes that have died, take them out of the idle queue and replace them."""
        with self._idle.mutex:
            dead = [process for process in self._idle.queue if process.died_while_idle()]
            for process in dead:
                self._idle.queue.remove(process)
        for process in dead:
            self._replace_dead(process)
        return len(dead)

    def _replace_dead(self, process: _Process) -> None:
        log.warning("query process %d died while idle (exit status %s); starting a replacement",
                    process.process.pid, process.process.returncode)
        with self._lock:
            self.died_idle += 1
        self._replace(process)

    def state(self) -> dict[str, int]:
        self.sweep()  # what /health says is true now, not as of the last watch
        with self._lock:
            idle, starting, dead = self._idle.qsize(), self.starting, self.dead
            return {"size": self.size, "idle": idle, "busy": self.size - idle - starting - dead,
                    "starting": starting, "dead": dead, "restarts": self.restarts,
                    "died_idle": self.died_idle}

    def _take(self, timeout_s: float) -> _Process:
        """A live idle process, waiting up to `timeout_s`; dead ones met on the way are replaced, never used."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                process = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise Problem(503, f"all {self.size} query processes stayed busy for {timeout_s:g} s; "
                              "try again shortly") from None
            if not process.died_while_idle():
                return process
            self._replace_dead(process)

    LONG_QUERY_S = 1.0  # a query running longer than this gets LONG_QUERY_NICENESS
    LONG_QUERY_NICENESS = 10

    # How long a query waits here for a live process. The ASGI front's fair queue (server/serving/admission.py)
    # lets in no more requests than there are processes, so a wait here is for a replacement that is starting.
    TAKE_S = 30.0

    # Deaths the query did not cause: it is run once more on a fresh process rather than answered 503.
    NOT_THE_QUERYS_FAULT = frozenset({"killed", "exited"})

    def run(self, request: QueryRequest, timeout_s: float) -> Answer:
        """The answer from an idle query process; raises Problem (the query's, or a dead process's)."""
        try:
            return self._run_once(request, timeout_s)
        except Problem as error:
            if error.cause not in self.NOT_THE_QUERYS_FAULT:
                raise
            log.warning("a query process died under a query (%s); the query runs once more on a fresh one",
                        error.cause)
            return self._run_once(request, timeout_s)

    def _run_once(self, request: QueryRequest, timeout_s: float) -> Answer:
        process = self._take(max(timeout_s, self.TAKE_S))
        # The limit counts from here: time spent waiting for a free process must not get a healthy process
        # killed for a query it has barely started.
        deadline = time.monotonic() + timeout_s
        niced = False
        try:
            send_request(process.conn, request)
            if not process.conn.poll(min(self.LONG_QUERY_S, timeout_s)):
                # A long query yields the CPU to short ones (other clients' queries, pages) on a busy machine.
                niced = process.set_niceness(self.LONG_QUERY_NICENESS)
            if not process.conn.poll(max(0.0, deadline - time.monotonic())):
                self._replace(process)
                raise Problem(503, f"the query exceeded the {timeout_s:g} s time limit and was stopped; "
                              "narrow it down (a LIMIT, fewer joins, more specific patterns)",
                              "time-limit")
            reply = receive_reply(process.conn)
        except (EOFError, OSError):
            cause, detail = process.death()
            self._replace(process)
            raise _death_error(cause, detail, self.settings) from None
        if niced and not process.set_niceness(0):
            self._replace(process)  # cannot be given its priority back: a fresh one takes its place
        else:
            self._idle.put(process)
        if isinstance(reply, Problem):
            raise reply
        return reply

    def unavailable(self) -> int:
        """Processes not in service now: replacements starting, and dead slots."""
        with self._lock:
            return self.starting + self.dead

    def _replace(self, process: _Process) -> None:
        """Kill `process` and start another in the background, so the request can answer at once."""
        with self._lock:
            self.restarts += 1
            self.starting += 1

        def work() -> None:
            process.kill()
            counted_as = "starting"  # "dead" once a start has failed; retried until one succeeds
            try:
                while not self._closed:
                    fresh = _Process(self.settings)
                    if fresh.wait_ready(self.STARTUP_S) and not self._closed:
                        self._idle.put(fresh)
                        break
                    fresh.kill()
                    log.error("a replacement query process failed to start; trying again in %g s", self.RETRY_S)
                    if counted_as == "starting":
                        with self._lock:
                            self.starting -= 1
                            self.dead += 1
                        counted_as = "dead"
                    time.sleep(self.RETRY_S)
            finally:
                with self._lock:
                    if counted_as == "starting":
                        self.starting -= 1
                    else:
                        self.dead -= 1
            if self.on_ready is not None:
                self.on_ready()

        threading.Thread(target=work, name="kg-query-restart", daemon=True).start()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return


_spent = threading.local()  # query seconds spent by the request this thread is answering


def reset_query_seconds() -> None:
    _spent.seconds = 0.0


def query_seconds() -> float:
    """Seconds this thread's request has spent in query processes since reset_query_seconds(): what the fair
    scheduler charges to the client's budget (server/serving/admission.py)."""
    return float(getattr(_spent, "seconds", 0.0))


class QueryService:
    """Check a query against the policy, then answer it in a query process, in the format asked for."""

    def __init__(self, settings: Settings, held_graphs: Sequence[str]) -> None:
        self.settings = settings
        self.held_graphs = tuple(sorted(held_graphs))
        self.policy = QueryPolicy(settings.base_iri, self.held_graphs, settings.allowed_service_endpoints)
        # Where queries are answered: our own query processes, or another SPARQL server (--backend).
        self.pool: QueryBackend = RemoteEndpoint(settings) if settings.backend_url else ProcessPool(settings)
        atexit.register(self.pool.close)
        # SERVICE calls from our query processes go through this process's loopback relay (server/engine/federation.py):
        # our User-Agent, a per-call time limit and clear errors. A remote backend makes its own calls.
        self.relay = (ServiceRelay(settings) if settings.allowed_service_endpoints and not settings.backend_url
                      else None)

    scratch: ScratchDataset | None = None

    def over(self, dataset: ScratchDataset) -> QueryService:
        """This service answering over `dataset` instead of the served graph: the same policy (holding
        `dataset`'s named graphs, resolving against its base), query processes and serialisers, with the
        dataset's real default graph instead of the union. The conformance suites run through this."""
        if not isinstance(self.pool, ProcessPool):
            raise ValueError("a scratch dataset is loaded by our own query processes; --backend has none")
        view = copy.copy(self)
        view.settings = replace(self.settings, base_iri=dataset.base_iri)
        view.held_graphs = tuple(sorted(graph for graph, _ in dataset.named))
        view.policy = QueryPolicy(dataset.base_iri, view.held_graphs, self.settings.allowed_service_endpoints)
        view.scratch = dataset
        return view

    def check(self, query: str, default_graph_uris: Sequence[str] = (),
              named_graph_uris: Sequence[str] = ()) -> CheckedQuery:
        """The query, let through by the policy (raises Problem when refused), with the facts negotiation needs."""
        if len(query.encode("utf-8")) > self.settings.max_query_bytes:
            raise Problem(413, f"the query is longer than the {self.settings.max_query_bytes} byte limit")
        if "\x00" in query:
            raise Problem(400, "the query contains a NUL character")
        info = self.policy.check(query, default_graph_uris, named_graph_uris)
        return CheckedQuery(query, info, tuple(default_graph_uris), tuple(named_graph_uris))

    def run(self, query: CheckedQuery | str, fmt: str) -> QueryResult:
        """Answer a query in format `fmt` (a short name: json, xml, csv, tsv, ttl, nt, jsonld, rdfxml). A query
        given as text is checked here; a CheckedQuery, by check(), is not checked again.

        Raises Problem with the HTTP status and a message for the client."""
        if isinstance(query, str):
            query = self.check(query)
        if fmt not in query.formats:
            raise Problem(406, f"format '{fmt}' does not fit this {query.form} query; use one of: "
                          f"{', '.join(query.formats)}")
        info = query.info
        # The protocol's dataset overrides FROM / FROM NAMED. With neither, the default graph is the union of the
        # named graphs (a scratch dataset has a default graph of its own).
        given = bool(query.default_graphs or query.named_graphs)
        request = QueryRequest(
            query.text, fmt, self.settings.base_iri,
            default_graphs=query.default_graphs if given else None,
            named_graphs=query.named_graphs if given else None,
            union=not (given or info.from_graphs or info.from_named or self.scratch),
            scratch=self.scratch)
        failures: tuple[tuple[str, str], ...] = ()
        started = time.monotonic()
        try:
            if self.relay is None or not info.services:
                answer = self.pool.run(request, self.settings.query_timeout_s)
            else:
                with self.relay.call() as call:
                    relayed = replace(request, text=self.relay.rewrite(query.text, info, call))
                    try:
                        answer = self.pool.run(relayed, self.settings.query_timeout_s)
                    except Problem as problem:
                        raise self.relay.explain(problem, call) from None
                    failures = self.relay.failures(call)
        except Problem as problem:
            if problem.cause:  # ours, not the client's: the server log says which query and why
                log.error("query %s failed (%s): %s", query_digest(query.text), problem.cause, problem.message)
            raise
        finally:
            _spent.seconds = getattr(_spent, "seconds", 0.0) + time.monotonic() - started
        return QueryResult(answer.body, formats.media_type(fmt), query.form, failures)

    def state(self) -> dict[str, Any]:
        return self.pool.state()

    def close(self) -> None:
        self.pool.close()
        if self.relay is not None:
            self.relay.close()


__all__ = ["CheckedQuery", "ProcessPool", "QueryResult", "QueryService", "query_digest"]

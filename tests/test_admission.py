"""The fair scheduler's bookkeeping (server/serving/admission.py), driven through QueryGate's own calls on an
event loop; the live behaviour (429s, Retry-After, order) is in test_fair_scheduling.py."""

from __future__ import annotations

import asyncio

import pytest

from nato_kg.errors import Problem
from nato_kg.serving.admission import QueryGate


def test_the_time_budget_counts_every_charged_second_of_thousands_of_queries():
    """A busy client's window holds thousands of charges; the budget is their exact sum (kept as a running
    total, so an admission does not cost more the more queries came before it)."""
    gate = QueryGate(slots=2, per_client=4, seconds_per_minute=30.0, max_wait_s=5.0, time_limit_s=10.0,
                     max_waiting=10)

    async def run() -> int:
        admitted = 0
        while True:
            try:
                ticket = await gate.enter("127.0.0.2")
            except Problem as problem:
                assert problem.status == 429 and "30 s per minute" in problem.message, problem.message
                return admitted
            gate.leave(ticket, 0.01)
            admitted += 1

    admitted = asyncio.run(run())
    assert admitted == pytest.approx(3000, abs=1)  # 3,000 queries of 0.01 s fill the 30 s budget

    async def another_client() -> None:  # is not held to the first one's budget: enter raises no Problem
        gate.leave(await gate.enter("127.0.0.3"), 0.01)

    asyncio.run(another_client())

"""The SPARQL 1.1 federation tests (service/) through our path with their endpoints allowed.

By default our policy refuses SERVICE to the suite's endpoints (http://example.org/sparql, ...): that is the
documented refusal in the main table. Here each endpoint a test names is allowed and routed (the
`service_routes` setting) to a stand-in on loopback: an `oxigraph serve` holding that test's qt:serviceData,
so the query goes through our SERVICE relay (server/engine/federation.py) as a deployment's would. An endpoint
with no data (service07's invalid.endpoint.org) is routed to a loopback port where nothing listens. Plain
pyoxigraph cannot take part: it would call the endpoints' real addresses.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from nato_kg.engine.policy import inspect
from nato_kg.engine.query_service import QueryService
from nato_kg.settings import Settings

from .harness import Outcome, W3CTest, judge, our_answer

ORACLE = Path(sys.executable).with_name("oxigraph")  # the `oxigraph` command of the test extra


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StandIn:
    """`oxigraph serve` in memory on a loopback port."""

    def __init__(self, log: Path, timeout_s: float = 60.0) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.process = subprocess.Popen([str(ORACLE), "serve", "--bind", self.url.removeprefix("http://")],
                                        stdout=log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/query?query=ASK%7B%7D", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"oxigraph serve did not come up at {self.url} (see {log})") from None
                time.sleep(0.1)

    def hold(self, data: Path | None) -> None:
        """Replace the default graph with `data` (or empty it)."""
        body = data.read_bytes() if data else b""
        request = urllib.request.Request(f"{self.url}/store?default", data=body, method="PUT",
                                         headers={"Content-Type": "text/turtle"})
        with urllib.request.urlopen(request, timeout=30):
            pass

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)


def service_tests(tests: Sequence[W3CTest]) -> list[W3CTest]:
    return [t for t in tests if t.suite == "SPARQL 1.1" and t.part == "service" and t.result is not None]


def run_federation(tests: Sequence[W3CTest]) -> list[tuple[W3CTest, Outcome]]:
    """Each federation test through our path, its endpoints allowed and routed to stand-ins."""
    with_data = sorted({endpoint for t in tests for endpoint, _ in t.service_data})
    named = {s for t in tests for s in inspect(t.query_text(), t.base_iri).services if s}
    with tempfile.TemporaryDirectory() as scratch:
        stand_ins = {endpoint: StandIn(Path(scratch) / f"oxigraph-{i}.log") for i, endpoint in enumerate(with_data)}
        unreachable = f"http://127.0.0.1:{_free_port()}/sparql"  # nothing listens there
        routes = [f"{e}={s.url}/query" for e, s in stand_ins.items()]
        routes += [f"{e}={unreachable}" for e in sorted(named - set(stand_ins))]
        settings = Settings.from_env(query_processes=1, allowed_service_endpoints=tuple(sorted(named)),
                                     service_routes=tuple(routes))
        service = QueryService(settings, held_graphs=())
        try:
            results = []
            for test in tests:
                data = dict(test.service_data)
                for endpoint, stand_in in stand_ins.items():
                    stand_in.hold(data.get(endpoint))
                results.append((test, judge(test, our_answer(service, test))))
            return results
        finally:
            service.close()
            for stand_in in stand_ins.values():
                stand_in.close()

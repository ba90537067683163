"""Fair scheduling under load: does a well-behaved client keep being served while another runs heavy queries?

Starts `kg serve` (defaults: 2 workers, 2 query processes each, 10 s time limit) on a loopback port. Eight
"heavy" clients from 127.0.0.1 each send, over and over, a 5-way cross-join COUNT that runs into the time
limit (honouring Retry-After when refused, as WDQS asks of its clients; `--ignore-retry-after` makes them
retry at once). Meanwhile one "light" client bound to 127.0.0.2 sends, one at a time, a cheap query never
asked before and then a resource page (`/doc/<slug>`, each slug first uncached, later from the response cache).
Prints each kind's count, p50, p99, max and non-200 answers, and the heavy clients' statuses.

    .venv/bin/python benchmarks/fairness.py [--seconds 60] [--ignore-retry-after] [--json out.json]

Targets (issue 13): light cheap new queries p99 < 100 ms, resource pages p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?p ?q }"


class FromAddress(requests.adapters.HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(port: int, extra: list[str], log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "nato_kg.cli", "serve", "--port", str(port),
                                "--access-log", "off", *extra], cwd=ROOT, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "KG_SERVICE_ROUTES": "https://query.wikidata.org/sparql="
                                                                      "http://127.0.0.1:9/no-wikidata"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not come up; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def summary(latencies: list[float], statuses: Counter[int]) -> dict[str, Any]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else None
    return {"count": len(ordered), "p50_ms": statistics.median(ordered) * 1000 if ordered else None,
            "p99_ms": p99 * 1000 if p99 is not None else None, "max_ms": ordered[-1] * 1000 if ordered else None,
            "non_200": sum(n for status, n in statuses.items() if status != 200), "statuses": dict(statuses)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--heavy-clients", type=int, default=8)
    parser.add_argument("--ignore-retry-after", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve-arg", action="append", default=[], help="extra `kg serve` argument (repeat)")
    args = parser.parse_args(argv)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path("/tmp") / f"kg-fairness-{port}.log"
    server = start(port, args.serve_arg, log)
    try:
        slugs_query = ("SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?s), 'http://127.0.0.1:8000/id/')) }"
                       " ORDER BY ?s")
        rows = requests.get(url + "/sparql", params={"query": slugs_query}, headers={"Accept": "text/csv"},
                            timeout=30).text.splitlines()[1:]
        slugs = [row.strip().rsplit("/id/", 1)[1] for row in rows if "/id/" in row]
        stop_at = time.monotonic() + args.seconds
        heavy_statuses: Counter[int] = Counter()
        lock = threading.Lock()

        def heavy() -> None:
            session = session_from("127.0.0.1")
            while time.monotonic() < stop_at:
                try:
                    response = session.get(url + "/sparql", params={"query": HEAVY}, timeout=60)
                except requests.RequestException:
                    with lock:
                        heavy_statuses[0] += 1
                    continue
                with lock:
                    heavy_statuses[response.status_code] += 1
                if response.status_code in (429, 503) and not args.ignore_retry_after:
                    wait_s = float(response.headers.get("Retry-After", "1"))
                    time.sleep(min(wait_s, max(0.0, stop_at - time.monotonic())))

        threads = [threading.Thread(target=heavy, daemon=True) for _ in range(args.heavy_clients)]
        for thread in threads:
            thread.start()
        time.sleep(min(3.0, args.seconds / 10))  # the heavy queries take their processes first
        light = session_from("127.0.0.2")
        kinds: dict[str, tuple[list[float], Counter[int]]] = {
            "cheap new query": ([], Counter()), "resource page, first visit": ([], Counter()),
            "resource page, repeat": ([], Counter())}
        n = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            response = light.get(url + "/sparql", params={"query": f"ASK {{ ?s ?p {time.time_ns()} }}"}, timeout=60)
            kinds["cheap new query"][0].append(time.perf_counter() - started)
            kinds["cheap new query"][1][response.status_code] += 1
            kind = "resource page, first visit" if n < len(slugs) else "resource page, repeat"
            started = time.perf_counter()
            response = light.get(url + "/doc/" + slugs[n % len(slugs)], headers={"Accept": "text/html"}, timeout=60)
            kinds[kind][0].append(time.perf_counter() - started)
            kinds[kind][1][response.status_code] += 1
            n += 1
        for thread in threads:
            thread.join(70)
        report = {"seconds": args.seconds, "heavy_clients": args.heavy_clients,
                  "honour_retry_after": not args.ignore_retry_after, "serve_args": args.serve_arg,
                  "light": {kind: summary(*values) for kind, values in kinds.items()},
                  "heavy_statuses": dict(heavy_statuses), "load_average": os.getloadavg()}
    finally:
        stop(server)
    print(f"{args.heavy_clients} heavy clients (127.0.0.1) for {args.seconds:g} s, "
          f"{'honouring' if not args.ignore_retry_after else 'ignoring'} Retry-After; "
          f"their answers: {report['heavy_statuses']}")
    print("| light client (127.0.0.2) | requests | p50 ms | p99 ms | max ms | non-200 |")
    print("|---|---|---|---|---|---|")
    for kind, row in report["light"].items():
        if row["count"]:
            print(f"| {kind} | {row['count']} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['max_ms']:.1f} | "
                  f"{row['non_200']} |")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in report['load_average'])}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

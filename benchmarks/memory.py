"""Worker memory under requests that each bring something new to remember: does any worker outgrow its budget?

Starts `kg serve` (defaults: 2 workers; per worker the response cache 64 MB, policy verdicts 8 MB, known IRIs
4 MB, remembered Accept headers 256 × 1 KB) on a loopback port, then for `--seconds` sends from 4 threads:
distinct 60 KB query texts (a cheap ASK with a 60 KB comment; half by GET, which the response cache may keep,
half by POST) and distinct 30 KB unknown `/doc/` names (each a 404 after a look-up the known-IRIs memo keeps).
Samples each worker's RSS (/proc/PID/status VmRSS) every 2 s and prints, per worker, its RSS after a warm-up
(a few ordinary requests of each kind), at most and at the end, the growth, and the documented ceiling (the sum
of the budgets).

    .venv/bin/python benchmarks/memory.py [--seconds 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fairness import free_port, start, stop
from support.processes import children, command_line

MB = 1024 * 1024
CEILING_MB = 64 + 8 + 4 + 0.25  # response cache + policy verdicts + known IRIs + Accept headers (README)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def workers(master: int) -> list[int]:
    """The gunicorn workers of `master` (its children other than query processes)."""
    return sorted(pid for pid in children(master) if "nato_kg.cli" in command_line(pid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(port, [], Path("/tmp") / f"kg-memory-{port}.log")
    try:
        pids = workers(server.pid)
        # Warm up first (templates compiled, code paths imported, threads started), so that "before" is a
        # serving worker and the growth is what the requests' data made it keep.
        warm = requests.Session()
        for n in range(40):
            warm.get(url + "/sparql", params={"query": f"ASK {{ ?s ?p {n} }}"}, timeout=60)
            warm.post(url + "/sparql", data=f"ASK {{ ?s ?p {n} }}".encode(),
                      headers={"Content-Type": "application/sparql-query"}, timeout=60)
            warm.get(url + f"/doc/warm-up-{n}", timeout=60)
            warm.get(url + "/doc/nato", timeout=60)
        before = {pid: rss_mb(pid) for pid in pids}
        peak = dict(before)
        stop_at = time.monotonic() + args.seconds
        statuses: Counter[str] = Counter()

        def send() -> None:
            session = requests.Session()
            rng = random.Random()
            n = 0
            while time.monotonic() < stop_at:
                noise = "".join(rng.choices(string.ascii_letters, k=60_000))
                query = f"ASK {{ ?s ?p ?o }} # {noise}"
                if n % 3 == 0:
                    response = session.get(url + "/sparql", params={"query": query}, timeout=60)
                elif n % 3 == 1:
                    response = session.post(url + "/sparql", data=query.encode(),
                                            headers={"Content-Type": "application/sparql-query"}, timeout=60)
                else:
                    response = session.get(url + "/doc/" + noise[:30_000], timeout=60)
                statuses[f"{response.request.method} {response.status_code}"] += 1
                n += 1

        threads = [threading.Thread(target=send, daemon=True) for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for pid in pids:
                peak[pid] = max(peak[pid], rss_mb(pid))
            time.sleep(2)
        after = {pid: rss_mb(pid) for pid in pids}
        health = requests.get(url + "/health", timeout=30).json()
    finally:
        stop(server)
    report = {"seconds": args.seconds, "requests": dict(statuses), "ceiling_mb": CEILING_MB,
              "workers": [{"pid": pid, "before_mb": before[pid], "peak_mb": peak[pid], "after_mb": after[pid],
                           "growth_mb": peak[pid] - before[pid]} for pid in pids],
              "one_worker_memos": health.get("memos"), "one_worker_response_cache": health.get("response_cache"),
              "load_average": os.getloadavg()}
    print(f"{args.seconds:g} s of distinct 60 KB queries and 30 KB unknown paths: {dict(statuses)}")
    print("| worker | RSS before | peak | end | growth | documented ceiling |")
    print("|---|---|---|---|---|---|")
    for row in report["workers"]:
        print(f"| {row['pid']} | {row['before_mb']:.0f} MB | {row['peak_mb']:.0f} MB | {row['after_mb']:.0f} MB | "
              f"{row['growth_mb']:.0f} MB | {CEILING_MB:g} MB |")
    print(f"one worker's memos: {report['one_worker_memos']}; response cache: {report['one_worker_response_cache']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

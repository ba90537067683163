"""Connection floods against `kg serve`: does a well-behaved client keep being answered?

Starts `kg serve` (defaults: 2 workers; per worker a 5 s request-head limit, 256 connections per address, the
longest-idle connection closed past 1,000) on a loopback port. An attacker process keeps open 2,100 silent
connections (spread over `--silent-addresses` loopback addresses; 127.0.0.10, 127.0.0.11, ...) and 500
slow-header connections (a byte of a request head every second, from 127.0.1.10, ...), reopening each one the
server closes. Meanwhile a well-behaved client bound to 127.0.0.2 sends, one at a time on a keep-alive
connection, a cheap query never asked before and a resource page. Prints its p50, p99, max and errors, and
what the attacker saw.

    .venv/bin/python benchmarks/connections.py [--seconds 60] [--silent 2100] [--slow 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fairness import free_port, session_from, start, stop


async def attack(port: int, silent: int, slow: int, silent_addresses: int, slow_addresses: int, seconds: float,
                 counts: dict[str, int]) -> None:
    stop_at = time.monotonic() + seconds

    async def hold(address: str, trickle: bool) -> None:
        kind = "slow" if trickle else "silent"
        while time.monotonic() < stop_at:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
            except OSError:
                counts[f"{kind}_connect_failed"] += 1
                await asyncio.sleep(0.5)
                continue
            counts[f"{kind}_opened"] += 1
            head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
            try:
                n = 0
                while time.monotonic() < stop_at:
                    if trickle:
                        writer.write(head[n:n + 1])
                        n += 1
                        await writer.drain()
                    try:
                        data = await asyncio.wait_for(reader.read(65536), 1.0)
                    except TimeoutError:
                        continue
                    if data.startswith(b"HTTP/1.1 408"):
                        counts[f"{kind}_got_408"] += 1
                    counts[f"{kind}_closed_by_server"] += 1  # answered (408) or closed: the server let it go
                    break
            except OSError:
                counts[f"{kind}_closed_by_server"] += 1
            finally:
                writer.close()

    tasks = [hold(f"127.0.0.{10 + n % silent_addresses}", False) for n in range(silent)]
    tasks += [hold(f"127.0.1.{10 + n % slow_addresses}", True) for n in range(slow)]
    await asyncio.gather(*tasks)


def attacker(port: int, args: argparse.Namespace, results: Any) -> None:
    counts: Counter[str] = Counter()
    asyncio.run(attack(port, args.silent, args.slow, args.silent_addresses, args.slow_addresses,
                       args.seconds + 10, counts))
    results.put(dict(counts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--silent", type=int, default=2100)
    parser.add_argument("--slow", type=int, default=500)
    parser.add_argument("--silent-addresses", type=int, default=10)
    parser.add_argument("--slow-addresses", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve-arg", action="append", default=[], help="extra `kg serve` argument (repeat)")
    args = parser.parse_args(argv)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(port, args.serve_arg, Path("/tmp") / f"kg-connections-{port}.log")
    try:
        results: Any = multiprocessing.Queue()
        flood = multiprocessing.Process(target=attacker, args=(port, args, results))
        flood.start()
        time.sleep(10)  # the flood reaches its size (and the first head limits pass) before measuring
        client = session_from("127.0.0.2")
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        stop_at = time.monotonic() + args.seconds
        n = 0
        while time.monotonic() < stop_at:
            for path, params in (("/sparql", {"query": f"ASK {{ ?s ?p {time.time_ns()} }}"}), ("/doc/nato", {})):
                started = time.perf_counter()
                try:
                    status = str(client.get(url + path, params=params, timeout=30).status_code)
                except requests.RequestException as error:
                    status = type(error).__name__
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
            n += 1
        health = requests.get(url + "/health", timeout=30).json()
        flood.join(60)
        attacker_counts = results.get(timeout=10) if not results.empty() else {}
    finally:
        stop(server)
    ordered = sorted(latencies)
    report = {"seconds": args.seconds, "silent": args.silent, "slow": args.slow,
              "silent_addresses": args.silent_addresses, "slow_addresses": args.slow_addresses,
              "requests": len(ordered), "p50_ms": statistics.median(ordered) * 1000,
              "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000, "max_ms": ordered[-1] * 1000,
              "statuses": dict(statuses), "errors": sum(v for k, v in statuses.items() if k != "200"),
              "attacker": attacker_counts, "worker_connections_at_end": health.get("connections"),
              "load_average": os.getloadavg()}
    print(f"{args.silent} silent connections over {args.silent_addresses} addresses + {args.slow} slow-header "
          f"over {args.slow_addresses}, {args.seconds:g} s")
    print(f"well-behaved client (127.0.0.2): {report['requests']} requests, p50 {report['p50_ms']:.1f} ms, "
          f"p99 {report['p99_ms']:.1f} ms, max {report['max_ms']:.1f} ms, errors {report['errors']} "
          f"({report['statuses']})")
    print(f"attacker: {attacker_counts}")
    print(f"one worker's connections at the end: {report['worker_connections_at_end']}")
    print(f"load average: {', '.join(f'{x:.1f}' for x in report['load_average'])}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark our SPARQL endpoint against `oxigraph serve` (and rdflib-endpoint, when installed).

    python benchmarks/endpoint.py [--sizes real,100k,1m] [--duration 3] [--clients 4]

For each data size it starts every server on the same data on loopback, checks each query answers alike
everywhere (status and result count), then drives each query with C concurrent keep-alive clients for a
bounded time and count, and prints median and p99 latency, throughput and the ratios ours/oxigraph and
ours/rdflib-endpoint, then PASS/MISS for the targets of the endpoint issue. Results also go to
benchmarks/results/latest.json and latest.md. Sizes: `real` is the project's graph; `100k`, `1m` are
synthetic data shaped like it (benchmarks/synthetic.py), generated into a temporary folder.

Queries: a cheap SELECT, a GROUP BY over the whole graph, a CONSTRUCT, the stored queries in queries/*.rq
(whatever exists at run time), and, when our server sends ETags, the cheap and GROUP BY queries repeated
with If-None-Match (a 304 is expected).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: siblings are modules

import load
import servers
import synthetic

PROJECT_ROOT = servers.PROJECT_ROOT
RESULTS_DIR = Path(__file__).resolve().parent / "results"
BASE_IRI = "http://127.0.0.1:8000/"
SELECT_JSON = "application/sparql-results+json"
GRAPH_NT = "application/n-triples"
OURS, OXIGRAPH, RDFLIB = "ours", "oxigraph", "rdflib-endpoint"

CHEAP = "SELECT * WHERE { ?s ?p ?o } LIMIT 10"
GROUP_BY = "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY DESC(?n)"
CONSTRUCT = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
             "CONSTRUCT { ?s rdfs:label ?label } WHERE { ?s rdfs:label ?label } LIMIT 1000")


@dataclass(frozen=True)
class Query:
    name: str
    text: str
    accept: str
    core: bool = True  # the three fixed queries: more rounds, and rdflib-endpoint too


@dataclass
class Check:
    """One request before the load: does this server answer, and with how many results."""

    status: int
    results: int | None
    seconds: float
    etag: str | None
    error: str = ""


@dataclass
class Row:
    query: str
    checks: dict[str, Check] = field(default_factory=dict)
    measured: dict[str, load.Measurement] = field(default_factory=dict)  # the best round
    rounds: dict[str, list[load.Measurement]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def ratio(self, metric: str, other: str) -> float | None:
        ours, theirs = self.measured.get(OURS), self.measured.get(other)
        if not ours or not theirs:
            return None
        a, b = getattr(ours, metric), getattr(theirs, metric)
        return a / b if b else None


_FORM = re.compile(r"\b(SELECT|CONSTRUCT|DESCRIBE|ASK)\b", re.IGNORECASE)


def query_form(text: str) -> str:
    """SELECT, CONSTRUCT, DESCRIBE or ASK: the first form keyword outside IRIs, strings and comments."""
    bare = re.sub(r"<[^<>\s]*>", "<>", text)
    bare = re.sub(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'", '""', bare)
    bare = re.sub(r"#[^\n]*", "", bare)
    match = _FORM.search(bare)
    return match[1].upper() if match else "SELECT"


_SERVICE = re.compile(r"service", re.IGNORECASE)


def queries_for(data_dir: Path) -> tuple[list[Query], list[str]]:
    """The queries to run, and the names of stored queries left out because they call other hosts."""
    skipped: list[str] = []
    found = [Query("cheap SELECT", CHEAP, SELECT_JSON), Query("GROUP BY", GROUP_BY, SELECT_JSON),
             Query("CONSTRUCT", CONSTRUCT, GRAPH_NT)]
    for path in sorted((data_dir / "queries").glob("*.rq")):
        # Stored queries write IRIs relative to the dataset's base (`PREFIX kg: <id/>`); every server
        # gets the same explicit BASE, since only ours knows the base IRI on its own.
        text = f"BASE <{BASE_IRI}>\n" + path.read_text(encoding="utf-8")
        if _SERVICE.search(text):  # federated: it would send requests off this machine, never benchmarked
            skipped.append(f"rq:{path.stem}")
            continue
        accept = GRAPH_NT if query_form(text) in ("CONSTRUCT", "DESCRIBE") else SELECT_JSON
        found.append(Query(f"rq:{path.stem}", text, accept, core=False))
    return found, skipped


def get_url(server: servers.Server, query: Query) -> str:
    return f"{server.sparql_url}?{urlencode({'query': query.text})}"


def count_results(response: requests.Response) -> int | None:
    if response.status_code != 200:
        return None
    kind = response.headers.get("Content-Type", "").split(";")[0].strip()
    if kind == SELECT_JSON:
        body = response.json()
        return len(body["results"]["bindings"]) if "results" in body else int(bool(body.get("boolean")))
    return sum(1 for line in response.text.splitlines() if line.strip() and not line.startswith("#"))


def check(server: servers.Server, query: Query, etag: str | None = None, timeout_s: float = 60) -> Check:
    headers = {"Accept": query.accept}
    if etag:
        headers["If-None-Match"] = etag
    start = time.perf_counter()
    try:
        response = requests.get(get_url(server, query), headers=headers, timeout=timeout_s)
    except requests.Timeout:
        return Check(0, None, time.perf_counter() - start, None, f"no answer within {timeout_s:g} s")
    except requests.RequestException as exc:
        return Check(0, None, time.perf_counter() - start, None, f"{type(exc).__name__}")
    seconds = time.perf_counter() - start
    error = "" if response.status_code in (200, 304) else response.text[:200].replace("\n", " ").strip()
    return Check(response.status_code, count_results(response), seconds, response.headers.get("ETag"), error)


@dataclass
class Options:
    sizes: list[str]
    duration_s: int
    clients: int
    max_requests: int
    rounds: int
    max_duration_s: int
    stored_duration_s: int
    rdflib_all_queries: bool
    wait_quiet_s: int
    driver: str
    oxigraph_storage: str
    rdflib_endpoint: bool
    rdflib_max_triples: int
    slow_limit_s: float
    only: re.Pattern[str] | None
    our_cache_mb: int | None = None  # None: our default (the response cache on); 0: every request is evaluated


def prepare_data(size: str, workdir: Path) -> tuple[Path, int | None]:
    if size == "real":
        return PROJECT_ROOT, None
    triples = synthetic.parse_size(size)
    out = workdir / f"data-{size}"
    synthetic.generate(out, triples, base_iri=BASE_IRI)
    return out, triples


def wait_for_quiet(limit_s: int, threshold: float = 1.0) -> None:
    """Wait (at most limit_s) until the 1-minute load average is below threshold."""
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5)


def bench_size(size: str, options: Options, workdir: Path) -> dict[str, Any]:
    data_dir, wanted = prepare_data(size, workdir)
    nquads = workdir / f"{size}.nq"
    triples = servers.dump_nquads(data_dir, BASE_IRI, nquads)
    if wanted is not None and triples != wanted:
        raise RuntimeError(f"generator wrote {triples} triples, not {wanted}")
    print(f"\n== {size}: {triples:,} triples ({data_dir}) ==", flush=True)
    wait_for_quiet(options.wait_quiet_s)

    running: dict[str, servers.Server] = {}
    notes: list[str] = []
    try:
        t0 = time.perf_counter()
        cache = {} if options.our_cache_mb is None else {"KG_RESPONSE_CACHE_MB": str(options.our_cache_mb)}
        running[OURS] = servers.start_ours(data_dir, BASE_IRI, workdir, extra_env=cache)
        t1 = time.perf_counter()
        running[OXIGRAPH] = servers.start_oxigraph(nquads, workdir, options.oxigraph_storage)
        t2 = time.perf_counter()
        notes.append(f"start-up: ours {t1 - t0:.1f} s, oxigraph {t2 - t1:.1f} s (load included)")
        if options.rdflib_endpoint:
            if triples > options.rdflib_max_triples:
                notes.append(f"rdflib-endpoint skipped above {options.rdflib_max_triples:,} triples")
            elif servers.rdflib_endpoint_binary() is None:
                notes.append("rdflib-endpoint not installed (python benchmarks/endpoint.py --setup)")
            else:
                t3 = time.perf_counter()
                running[RDFLIB] = servers.start_rdflib_endpoint(nquads, workdir)
                notes.append(f"start-up: rdflib-endpoint {time.perf_counter() - t3:.1f} s")
        before = os.getloadavg()[0]
        queries, skipped = queries_for(data_dir)
        if skipped:
            notes.append("not run, as they call SERVICE endpoints off this machine: " + ", ".join(skipped))
        rows = run_queries(running, queries, options)
        notes.append(f"load average (1 min) of the machine: {before:.2f} before, {os.getloadavg()[0]:.2f} "
                     "after; other work on these 2 cores slows every server")
    finally:
        for server in running.values():
            server.stop()
    print_table(size, triples, rows, list(running))
    for note in notes:
        print(f"  note: {note}")
    return {
        "size": size, "triples": triples,
        "servers": {name: s.version for name, s in running.items()},
        "notes": notes,
        "rows": [row_dict(row) for row in rows],
    }


def measure(request: load.Request, options: Options, duration_s: int) -> load.Measurement | None:
    """Warm up (at most 20 requests), then one bounded run of C clients; None if the server is gone."""
    return load.warm_and_run(options.driver, request, options.clients, duration_s, options.max_requests)


def best(rounds: list[load.Measurement]) -> load.Measurement | None:
    """The round with the highest throughput: other work on the machine only ever slows a round down."""
    done = [m for m in rounds if m.requests]
    return max(done, key=lambda m: m.throughput) if done else None


def load_duration(first_answer_s: float, base_s: int, options: Options) -> int:
    """Long enough for about ten answers of a slow query, within the cap, and for two answers at least."""
    return max(base_s, min(options.max_duration_s, math.ceil(10 * first_answer_s)), math.ceil(2 * first_answer_s))


def run_queries(running: dict[str, servers.Server], queries: list[Query], options: Options) -> list[Row]:
    rows: list[Row] = []
    ours_etags: dict[str, str] = {}
    for query in queries:
        if options.only and not options.only.search(query.name):
            continue
        row = Row(query.name)
        rows.append(row)
        loadable: dict[str, tuple[load.Request, int]] = {}
        base_duration = options.duration_s if query.core else options.stored_duration_s
        number_of_rounds = options.rounds if query.core else 1
        for name, server in running.items():
            if name == RDFLIB and not (query.core or options.rdflib_all_queries):
                continue
            row.checks[name] = first = check(server, query, timeout_s=options.slow_limit_s)
            if name == OURS and first.etag and query.name in ("cheap SELECT", "GROUP BY"):
                ours_etags[query.name] = first.etag
            if first.status != 200:
                row.notes.append(f"{name}: HTTP {first.status} {first.error}")
            elif first.seconds > options.slow_limit_s:
                row.notes.append(f"{name}: one request took {first.seconds:.1f} s; not loaded")
            else:
                request = load.Request(get_url(server, query), {"Accept": query.accept})
                loadable[name] = (request, load_duration(first.seconds, base_duration, options))

        def measure_one(name: str, number: int, loadable: dict[str, tuple[load.Request, int]] = loadable,
                        base_duration: int = base_duration) -> load.Measurement | None:
            request, duration = loadable[name]  # a slow query (seconds an answer) gets one long round instead
            return measure(request, options, duration) if number == 0 or duration == base_duration else None

        record(row, query.name, running, alternating_rounds(running, list(loadable), number_of_rounds, measure_one))

    # Repeats with If-None-Match: ours answers 304 from the ETag; the others answer the full 200 again.
    for name, etag in ours_etags.items():
        base = next(q for q in queries if q.name == name)
        row = Row(f"{name} (If-None-Match)")
        server = running[OURS]
        row.checks[OURS] = repeat = check(server, base, etag)
        if repeat.status != 304:
            row.notes.append(f"ours: HTTP {repeat.status} to If-None-Match, not 304")
        else:
            request = load.Request(get_url(server, base), {"Accept": base.accept, "If-None-Match": etag}, 304)
            measured = [m for _ in range(options.rounds) if (m := measure(request, options, options.duration_s))]
            chosen = best(measured)
            if chosen:
                row.measured[OURS], row.rounds[OURS] = chosen, measured
            previous = next((r for r in rows if r.query == name), None)
            for other in (OXIGRAPH, RDFLIB):  # compared with the others' full answers from above
                if previous and other in previous.measured:
                    row.measured[other] = previous.measured[other]
            row.notes.append("ours: 304 Not Modified; others: their 200 from the row above")
        rows.append(row)
    if not ours_etags:
        rows.append(Row("If-None-Match",
                        notes=["ours sends no ETag on GET /sparql: 304 repeat not measured"]))
    return rows


def alternating_rounds(running: dict[str, servers.Server], names: list[str], number_of_rounds: int,
                       measure_one: Callable[[str, int], load.Measurement | None]) -> dict[str, list[load.Measurement]]:
    """Each server's rounds; the servers' order alternates, so a burst of other work on the machine hits both."""
    rounds: dict[str, list[load.Measurement]] = {name: [] for name in names}
    for number in range(number_of_rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            if running[name].process.poll() is None and (measured := measure_one(name, number)):
                rounds[name].append(measured)
    return rounds


def record(row: Any, name: str, running: dict[str, servers.Server], rounds: dict[str, list[load.Measurement]]) -> None:
    """Each server's best round into `row` (its `measured`, `rounds`, `checks`, `notes`), with a note for a server
    that exited, one that never answered, and result counts that differ; then one line of progress."""
    for server_name, server in running.items():
        if server.process.poll() is not None:
            row.notes.append(f"{server_name}: the server exited ({server.process.returncode}); see {server.log}")
    for server_name, measured in rounds.items():
        chosen = best(measured)
        if chosen is None:
            row.notes.append(f"{server_name}: no answer within the load duration")
        else:
            row.measured[server_name], row.rounds[server_name] = chosen, measured
    counts = {n: c.results for n, c in row.checks.items() if c.status == 200}
    if len(set(counts.values())) > 1:
        row.notes.append("result counts differ: " + ", ".join(f"{n} {c}" for n, c in counts.items()))
    print(f"  {name}: " + "  ".join(f"{n} {m.throughput:,.0f}/s p50 {m.p50_ms:.2f} ms"
                                    for n, m in row.measured.items()), flush=True)


def row_dict(row: Row) -> dict[str, Any]:
    return {
        "query": row.query,
        "checks": {n: {"status": c.status, "results": c.results, "seconds": round(c.seconds, 4),
                       "etag": c.etag, "error": c.error} for n, c in row.checks.items()},
        "measured": {n: m.as_dict() for n, m in row.measured.items()},
        "rounds": {n: [m.as_dict() for m in ms] for n, ms in row.rounds.items()},
        "ratios": {
            "throughput_ours_over_oxigraph": row.ratio("throughput", OXIGRAPH),
            "p50_ours_over_oxigraph": row.ratio("p50_ms", OXIGRAPH),
            "p99_ours_over_oxigraph": row.ratio("p99_ms", OXIGRAPH),
            "throughput_ours_over_rdflib_endpoint": row.ratio("throughput", RDFLIB),
        },
        "notes": row.notes,
    }


def fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "—" if value is None else f"{value:,.{digits}f}{suffix}"


def rate(value: float | None) -> str:
    """Requests per second: whole numbers, but a decimal for slow ones (0.2/s is not 0/s)."""
    return fmt(value, 0 if value is None or value >= 100 else 1 if value >= 1 else 2)


def table_lines(size: str, triples: int, rows: list[Row], names: list[str]) -> list[str]:
    head = ["query", "results"]
    for n in names:
        head += [f"{n} p50 ms", f"{n} p99 ms", f"{n} req/s"]
    head += ["thr ours/oxi", "p50 ours/oxi"]
    if RDFLIB in names:
        head.append("thr ours/rdflib")
    lines = [f"### {size} ({triples:,} triples)", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for row in rows:
        results = row.checks[OURS].results if OURS in row.checks else None
        cells = [row.query, "—" if results is None else str(results)]
        for n in names:
            m = row.measured.get(n)
            cells += [fmt(m and m.p50_ms), fmt(m and m.p99_ms), rate(m and m.throughput)]
        cells += [fmt(row.ratio("throughput", OXIGRAPH), 2, "×"), fmt(row.ratio("p50_ms", OXIGRAPH), 2, "×")]
        if RDFLIB in names:
            cells.append(fmt(row.ratio("throughput", RDFLIB), 1, "×"))
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {row.query}: {note}" for row in rows for note in row.notes]
    errors = [f"- {row.query}: {n} had {m.errors} errors in {m.requests} requests"
              for row in rows for n, m in row.measured.items() if m.errors]
    return [*lines, "", *notes, *errors]


def print_table(size: str, triples: int, rows: list[Row], names: list[str]) -> None:
    print()
    print("\n".join(table_lines(size, triples, rows, names)))


@dataclass(frozen=True)
class Target:
    description: str
    size: str | None  # None: every size measured
    query: str
    metric: str
    other: str
    bound: float
    at_least: bool  # ratio >= bound (else ratio <= bound)


TARGETS = [
    Target("cheap SELECT throughput ≥ 0.5× oxigraph serve", None, "cheap SELECT", "throughput", OXIGRAPH,
           0.5, True),
    Target("cheap SELECT median latency ≤ 2× oxigraph serve", None, "cheap SELECT", "p50_ms", OXIGRAPH,
           2.0, False),
    Target("GROUP BY (100k) throughput ≥ 1× oxigraph serve", "100k", "GROUP BY", "throughput", OXIGRAPH,
           1.0, True),
    Target("cheap SELECT throughput ≥ 12× rdflib-endpoint", None, "cheap SELECT", "throughput", RDFLIB,
           12.0, True),
    Target("GROUP BY (100k) throughput ≥ 12× rdflib-endpoint", "100k", "GROUP BY", "throughput", RDFLIB,
           12.0, True),
]


def evaluate_targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = {"throughput": "throughput_ours_over_", "p50_ms": "p50_ours_over_"}
    verdicts = []
    for target in TARGETS:
        for result in results:
            if (target.size and result["size"] != target.size) or target.other not in result["servers"]:
                continue
            row = next((r for r in result["rows"] if r["query"] == target.query), None)
            key = keys[target.metric] + target.other.replace("-", "_")
            ratio = row["ratios"][key] if row else None
            if ratio is None:
                verdict = "n/a"
            else:
                verdict = "PASS" if (ratio >= target.bound if target.at_least else ratio <= target.bound) \
                    else "MISS"
            verdicts.append({"target": target.description, "size": result["size"], "ratio": ratio,
                             "verdict": verdict})
    return verdicts


PYTHON_DRIVER_WARNING = (
    "Warning: measured with the Python load generator, which itself tops out near 1,000 requests a second "
    "on 2 cores: fast servers all look alike, so ratios of cheap queries (and their PASS) mean little. "
    "Install wrk."
)


def target_lines(verdicts: list[dict[str, Any]], driver: str) -> list[str]:
    lines = ["| target | size | ours / other | verdict |", "|---|---|---|---|"]
    lines += [f"| {v['target']} | {v['size']} | {fmt(v['ratio'], 2, '×')} | {v['verdict']} |"
              for v in verdicts]
    return [*lines, "", PYTHON_DRIVER_WARNING] if driver == "python" else lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="real,100k,1m", help="comma-separated: real, 100k, 1m, 250k, ...")
    parser.add_argument("--duration", type=int, default=2,
                        help="seconds of load per round, query and server (core queries)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent keep-alive connections")
    parser.add_argument("--max-requests", type=int, default=200_000,
                        help="cap per run (50,000 capped our cached answers at 25,000 req/s in a 2 s run)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs per query and server, in alternating order; the best one is reported")
    parser.add_argument("--max-duration", type=int, default=6,
                        help="seconds of load at most for a slow query (about ten answers)")
    parser.add_argument("--stored-duration", type=int, default=1,
                        help="seconds of load per stored query (queries/*.rq) and server, one round")
    parser.add_argument("--rdflib-endpoint-all-queries", action="store_true",
                        help="also run the stored queries on rdflib-endpoint (slow: minutes at 100k)")
    parser.add_argument("--wait-quiet", type=int, default=0, metavar="SECONDS",
                        help="before each size, wait up to this long for the machine's load average to "
                             "drop below 1 (other work on 2 cores skews every figure)")
    parser.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (auto: wrk when installed, else python)")
    parser.add_argument("--oxigraph-storage", choices=("disk", "memory"), default="disk",
                        help="oxigraph serve on an on-disk store (its deployment) or in memory")
    parser.add_argument("--skip-rdflib-endpoint", action="store_true")
    parser.add_argument("--our-cache-mb", type=int, default=None,
                        help="our response cache in MB (default: the server's, on); 0 measures every query evaluated")
    parser.add_argument("--rdflib-endpoint-max-triples", type=int, default=200_000,
                        help="skip rdflib-endpoint above this size (its load and queries take minutes)")
    parser.add_argument("--slow-limit", type=float, default=10.0,
                        help="a query whose first answer takes longer than this many seconds is not loaded")
    parser.add_argument("--only", help="regular expression: bench only the queries whose name matches")
    parser.add_argument("--setup", action="store_true",
                        help="create var/bench-venv with rdflib-endpoint, py-spy, pyinstrument, then exit")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="print the Markdown tables of a saved report (e.g. results/latest.json), then exit")
    args = parser.parse_args(argv)
    if args.render:
        print(markdown(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0

    if args.setup:
        servers.setup_bench_venv()
        print(f"installed rdflib-endpoint, py-spy and pyinstrument in {servers.BENCH_VENV}")
        return 0
    driver = args.driver
    if driver in ("auto", "wrk") and not load.wrk_available():
        if driver == "wrk":
            print("wrk is not installed: `apt-get install wrk` (Debian), or use --driver python",
                  file=sys.stderr)
            return 2
        print("note: wrk is not installed (`apt-get install wrk`); using the Python load generator, "
              "whose own CPU use on 2 cores caps the throughput it can show", file=sys.stderr)
        driver = "python"
    elif driver == "auto":
        driver = "wrk"
    options = Options(
        sizes=[s.strip().lower() for s in args.sizes.split(",") if s.strip()],
        duration_s=args.duration, clients=args.clients, max_requests=args.max_requests, driver=driver,
        rounds=args.rounds, max_duration_s=args.max_duration, stored_duration_s=args.stored_duration,
        rdflib_all_queries=args.rdflib_endpoint_all_queries, wait_quiet_s=args.wait_quiet,
        oxigraph_storage=args.oxigraph_storage, rdflib_endpoint=not args.skip_rdflib_endpoint,
        rdflib_max_triples=args.rdflib_endpoint_max_triples, slow_limit_s=args.slow_limit,
        only=re.compile(args.only) if args.only else None, our_cache_mb=args.our_cache_mb,
    )
    command = " ".join(["python benchmarks/endpoint.py", shlex.join(sys.argv[1:] if argv is None else argv)]).strip()
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so the servers' `finally: stop()` runs
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmp:
        for size in options.sizes:
            results.append(bench_size(size, options, Path(tmp)))
    verdicts = evaluate_targets(results)
    print("\n## Targets\n")
    print("\n".join(target_lines(verdicts, driver)))
    elapsed = time.perf_counter() - started
    print(f"\n{elapsed:.0f} s in all; driver {driver}, {options.clients} clients, "
          f"{options.duration_s} s per query and server")

    report = {
        "command": command, "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "platform": platform.platform()},
        "driver": driver, "clients": options.clients, "duration_s": options.duration_s,
        "oxigraph_storage": options.oxigraph_storage, "elapsed_s": round(elapsed, 1),
        "sizes": results, "targets": verdicts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def _exit_on_signal(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def markdown(report: dict[str, Any]) -> str:
    """The same tables as printed, rebuilt from the JSON report (so RESULTS.md can be regenerated)."""
    out = [f"Command: `{report['command']}`  ", f"Date: {report['date']}; {report['machine']['cpus']} CPUs; "
           f"load driver {report['driver']}, {report['clients']} clients, {report['duration_s']} s per "
           f"query and server; oxigraph storage: {report['oxigraph_storage']}.", ""]
    for result in report["sizes"]:
        out += [f"Servers: {', '.join(f'{n} = {v}' for n, v in result['servers'].items())}", ""]
        rows = [_row_from_dict(r) for r in result["rows"]]
        out += table_lines(result["size"], result["triples"], rows, list(result["servers"]))
        out += [f"- {note}" for note in result["notes"]] + [""]
    out += ["## Targets", "", *target_lines(report["targets"], report["driver"]), ""]
    return "\n".join(out)


def _row_from_dict(data: dict[str, Any]) -> Row:
    row = Row(data["query"], notes=list(data["notes"]))
    row.checks = {n: Check(c["status"], c["results"], c["seconds"], c["etag"], c["error"])
                  for n, c in data["checks"].items()}
    row.measured = {n: load.Measurement(**m) for n, m in data["measured"].items()}
    row.rounds = {n: [load.Measurement(**m) for m in ms] for n, ms in data.get("rounds", {}).items()}
    return row


if __name__ == "__main__":
    sys.exit(main())

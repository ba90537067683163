"""What the total-order ORDER BY costs: ours (rewritten sort keys), ours with the engine's own sort, and
`oxigraph serve`, on the same synthetic data in one run.

    python benchmarks/order_by.py --size 100k

Every request is new to the server (our response cache is off), so this is the path no cache answers. For
each query: the median and best of --rounds sequential requests, and the ratio to the engine's own sort.
The mixed-terms query is the one the engine's comparator cannot sort: its rows say whether the server
answered, misordered or crashed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from servers import PROJECT_ROOT, Server, dump_nquads, start_ours, start_oxigraph
from support.sparql_order import in_order
from synthetic import DEFAULT_BASE, generate, parse_size

QUERIES = {  # name: (query, the sort variable, descending)
    "dates (one kind: the engine sorts it right)":
        (f"SELECT ?s ?d WHERE {{ ?s <{DEFAULT_BASE}ontology#date> ?d }} ORDER BY ?d", "d", False),
    "every object, top 10 (mixed kinds)":
        ("SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?o LIMIT 10", "o", False),
    "every object, DESC, top 10 (mixed kinds)":
        ("SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY DESC(?o) LIMIT 10", "o", True),
}


def measure(server: Server, query: str, key: str, descending: bool, rounds: int) -> str:
    times = []
    verdict = "in order"
    for _ in range(rounds):
        started = time.perf_counter()
        try:
            response = requests.post(server.sparql_url, data={"query": query}, timeout=120,
                                     headers={"Accept": "application/sparql-results+json"})
        except requests.RequestException as error:
            return f"no answer ({type(error).__name__}: the server crashed)"
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:80]!r}"
        values = [row.get(key) for row in response.json()["results"]["bindings"]]
        if in_order(values, descending):
            verdict = "MISORDERED"
    return f"{statistics.median(times) * 1000:.0f} ms median, {min(times) * 1000:.0f} ms best; {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", help="triples: real, 100k, 1m, ...")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kg-order-by-") as tmp:
        work = Path(tmp)
        data = PROJECT_ROOT if args.size == "real" else work / "data"
        if args.size != "real":
            generate(data, parse_size(args.size))
        nquads = work / "data.nq"
        quads = dump_nquads(data, DEFAULT_BASE, nquads)
        print(f"{quads} quads; {args.rounds} sequential requests per query; response cache off\n")
        rows: dict[str, dict[str, str]] = {name: {} for name in QUERIES}
        for folder in "abc":
            (work / folder).mkdir()
        for label, start in (
            ("ours", lambda: start_ours(data, DEFAULT_BASE, work / "a", {"KG_RESPONSE_CACHE_MB": "0"})),
            ("ours, engine's own sort", lambda: start_ours(data, DEFAULT_BASE, work / "b", {
                "KG_RESPONSE_CACHE_MB": "0", "KG_ORDER_BY_REWRITE": "0"})),
            ("oxigraph serve", lambda: start_oxigraph(nquads, work / "c", "memory")),
        ):
            server = start()
            try:
                for name, (query, key, descending) in QUERIES.items():
                    rows[name][label] = measure(server, query, key, descending, args.rounds)
            finally:
                server.stop()
        for name, results in rows.items():
            print(f"## {name}")
            for label, result in results.items():
                print(f"  {label:26} {result}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

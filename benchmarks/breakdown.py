"""Where a request's time goes in our endpoint, layer by layer, for one query (no HTTP load generator).

    python benchmarks/breakdown.py [--size real|100k|1m] [--query cheap|group-by|construct|FILE.rq]

Times, in one process and one thread, the median of many calls of each layer:
  engine       pyoxigraph Store.query + serialize, in this process (the floor: what Oxigraph itself costs)
  policy       QueryService.check: the safety check and form detection, no engine
  service      QueryService.run: policy, the pipe to a query process, its engine work, the bytes back
  flask        the Flask app's test client: GET /sparql through routing, negotiation, ETag, access log
and, over HTTP on loopback with one keep-alive connection (requests.Session), a running `kg serve`:
  http         the whole request as a client sees it (uvicorn, sockets, Flask, the query process)
Each layer includes the ones above it, so the differences say what each adds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import endpoint
import servers

QUERIES = {"cheap": endpoint.CHEAP, "group-by": endpoint.GROUP_BY, "construct": endpoint.CONSTRUCT}


def timed(call: Callable[[], object], budget_s: float, max_calls: int = 20_000) -> tuple[float, int]:
    """Median milliseconds of `call`, repeated for about budget_s (at least 5 times)."""
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while (time.perf_counter() < deadline or len(samples) < 5) and len(samples) < max_calls:
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), len(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k")
    parser.add_argument("--query", default="cheap", help="cheap, group-by, construct, or a .rq file")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per layer")
    args = parser.parse_args(argv)
    text = QUERIES.get(args.query) or f"BASE <{endpoint.BASE_IRI}>\n" + Path(args.query).read_text()
    form = endpoint.query_form(text)
    fmt, accept = ("nt", endpoint.GRAPH_NT) if form in ("CONSTRUCT", "DESCRIBE") else \
        ("json", endpoint.SELECT_JSON)

    sys.path.insert(0, str(servers.PROJECT_ROOT))
    from nato_kg.data.store import load_dataset, native_store
    from nato_kg.settings import Settings
    from nato_kg.web.app import create_app
    from nato_kg.web.state import state

    with tempfile.TemporaryDirectory(prefix="kg-breakdown-") as tmp:
        data_dir, _ = endpoint.prepare_data(args.size, Path(tmp))
        settings = Settings.from_env(environ={}, data_dir=data_dir, base_iri=endpoint.BASE_IRI)
        store = native_store(load_dataset(settings))
        print(f"{args.size}: {len(store):,} triples; query {args.query!r} ({form}, {fmt})")
        rows: list[tuple[str, float, int]] = []

        def engine() -> bytes:
            results = store.query(text, base_iri=endpoint.BASE_IRI, use_default_graph_as_union=True)
            if isinstance(results, ox.QueryTriples):
                return ox.serialize(results, format=ox.RdfFormat.N_TRIPLES) or b""
            return results.serialize(format=ox.QueryResultsFormat.JSON) or b""

        rows.append(("engine", *timed(engine, args.budget)))
        app = create_app(settings)
        service = state(app).service
        rows.append(("policy", *timed(lambda: service.check(text), args.budget)))
        checked = service.check(text)
        rows.append(("service", *timed(lambda: service.run(checked, fmt), args.budget)))
        client = app.test_client()
        path = "/sparql?" + urlencode({"query": text})
        assert client.get(path, headers={"Accept": accept}).status_code == 200
        rows.append(("flask", *timed(lambda: client.get(path, headers={"Accept": accept}), args.budget)))
        service.close()

        # The response cache off: each request below is evaluated, as in the layers above.
        ours = servers.start_ours(data_dir, endpoint.BASE_IRI, Path(tmp), {"KG_RESPONSE_CACHE_MB": "0"})
        try:
            with requests.Session() as session:
                url = ours.sparql_url + "?" + urlencode({"query": text})
                assert session.get(url, headers={"Accept": accept}).status_code == 200
                rows.append(("http", *timed(lambda: session.get(url, headers={"Accept": accept}),
                                            args.budget)))
        finally:
            ours.stop()

    previous = 0.0
    print(f"{'layer':<10}{'median ms':>10}{'adds ms':>10}{'calls':>8}")
    for name, ms, calls in rows:
        print(f"{name:<10}{ms:>10.3f}{ms - previous if name != 'policy' else ms:>10.3f}{calls:>8}")
        if name != "policy":
            previous = ms
    print("(http includes the Python client's own cost, some 0.3-0.5 ms a request, and the server's: uvicorn,"
          " and a2wsgi's hand-off to a Flask thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

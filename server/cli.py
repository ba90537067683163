"""The `kg` command: serve the endpoint, validate the graph, run stored queries."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nato_kg import passages, query_cli
from nato_kg.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the SPARQL endpoint")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000)")
    serve.add_argument("--base-iri", help="IRI prefix of the resources the graph mints")
    serve.add_argument("--data-dir", type=Path, help="folder holding ontology/, graph/, queries/")
    serve.add_argument("--store", dest="store_dir", type=Path,
                       help="on-disk Oxigraph store in DIR (built once, rebuilt when the files change)")
    serve.add_argument("--backend", dest="backend_url",
                       help="answer from this SPARQL 1.1 endpoint instead of the embedded store (see kg load)")
    serve.add_argument("--workers", type=int, help="gunicorn worker processes, each running uvicorn (default 2)")
    serve.add_argument("--threads", type=int, help="threads per worker that run Flask (default 4)")
    serve.add_argument("--query-processes", type=int, help="query processes per worker (default 2)")
    serve.add_argument("--timeout", dest="query_timeout_s", type=float,
                       help="query time limit in s (default 10)")
    serve.add_argument("--memory-mb", dest="query_memory_mb", type=int,
                       help="memory a query may use, in MB (default 2048)")
    serve.add_argument("--max-query-bytes", type=int, help="longest query accepted (default 65536)")
    serve.add_argument("--access-log", help="'-' for stderr (default), a file to append to, or 'off'")
    serve.add_argument("--cache-mb", dest="response_cache_mb", type=int,
                       help="memory for repeated GET answers, in MB (default 64; 0: off)")
    serve.add_argument("--max-result-mb", type=int, help="largest answer sent, in MB (default 64)")
    serve.add_argument("--allow-service", dest="allowed_service_endpoints", action="append",
                       help="an endpoint SERVICE may call (repeat; replaces the default, Wikidata's)")
    serve.add_argument("--service-timeout", dest="service_timeout_s", type=float,
                       help="time limit of one SERVICE call in s (default 5; kept below --timeout)")
    serve.add_argument("--service-route", dest="service_routes", action="append", metavar="IRI=URL",
                       help="call the allowed SERVICE <IRI> at URL instead (a mirror, or a stand-in; repeat)")
    serve.add_argument("--client-queries", type=int,
                       help="queries one client may have running or waiting, per worker (default 4)")
    serve.add_argument("--client-query-seconds", type=float,
                       help="query time one client may use per minute, per worker, in s (default 30)")
    serve.add_argument("--query-wait", dest="query_wait_s", type=float,
                       help="longest wait for a query process before 503, in s (default: the query time limit)")
    serve.add_argument("--head-timeout", dest="head_timeout_s", type=float,
                       help="time a request head may take, in s (default 5)")
    serve.add_argument("--max-connections", type=int,
                       help="connections per worker past which the longest-idle one is closed (default 1000)")
    serve.add_argument("--max-connections-per-address", type=int,
                       help="connections one address may hold, per worker (default 256)")
    serve.add_argument("--trusted-proxy", dest="trusted_proxies", action="append",
                       help="a reverse proxy's address whose X-Forwarded-For names the client (repeat; default none)")
    serve.add_argument("--dev", action="store_true", default=None, help="Flask's reloading dev server")
    serve.add_argument("--allow-empty-graph", action="store_true", default=None,
                       help="serve even when graph/ is missing or holds no Turtle file (refused by default)")
    serve.add_argument("--rebuild-store", action="store_true", default=None,
                       help="rebuild the --store from the Turtle files (after it was reported damaged)")

    validate = sub.add_parser("validate", help="check the ontology and graph files")
    validate.add_argument("--data-dir", type=Path, help="folder holding ontology/, graph/, queries/")

    load = sub.add_parser("load", help="put the graph into another SPARQL server (Graph Store Protocol)")
    load.add_argument("--backend", dest="backend_url", required=True, help="that server's SPARQL query endpoint")
    load.add_argument("--graph-store", help="its Graph Store Protocol endpoint (guessed for Oxigraph and Fuseki)")
    load.add_argument("--base-iri", help="IRI prefix of the resources the graph mints")
    load.add_argument("--data-dir", type=Path, help="folder holding ontology/, graph/, queries/")

    passage = sub.add_parser("passage", help="print the Turtle for a new passage, selectors computed from the text")
    passages.add_arguments(passage)
    passage.add_argument("--data-dir", type=Path, help="folder holding ontology/, graph/, queries/")

    query = sub.add_parser("query", help="run a stored query (or --file) against the local graph or --endpoint")
    query_cli.add_arguments(query)

    args = parser.parse_args(argv)
    if args.command == "query":
        return query_cli.run(args, Settings.from_env(data_dir=args.data_dir))
    if args.command == "passage":
        return passages.run(args, Settings.from_env(data_dir=args.data_dir))
    if args.command == "load":
        return _load(args)
    overrides = {k: v for k, v in vars(args).items() if k != "command"}
    if overrides.get("allowed_service_endpoints"):
        overrides["allowed_service_endpoints"] = tuple(overrides["allowed_service_endpoints"])
    if overrides.get("service_routes"):
        overrides["service_routes"] = tuple(overrides["service_routes"])
    if overrides.get("trusted_proxies"):
        overrides["trusted_proxies"] = tuple(overrides["trusted_proxies"])
    settings = Settings.from_env(**overrides)
    if args.command == "serve":
        from nato_kg.serving.gunicorn_app import serve as run
        from nato_kg.web.ui import HOW_TO_GET_THE_EDITOR

        if settings.ui_dir is not None and not (settings.ui_dir / "editor.js").is_file():
            print(HOW_TO_GET_THE_EDITOR, file=sys.stderr)  # one line; the pages work without it
        return run(settings)
    if args.command == "validate":
        from nato_kg.validation import main as run_validation

        return run_validation(settings)
    return 2


def _load(args: argparse.Namespace) -> int:
    from urllib.error import URLError

    from nato_kg.engine.remote_backend import graph_store_url, push

    settings = Settings.from_env(backend_url=args.backend_url, base_iri=args.base_iri, data_dir=args.data_dir)
    try:
        graph_store = args.graph_store or graph_store_url(args.backend_url)
        for graph, count in push(settings, graph_store):
            print(f"{graph}: {count} triples")
    except (ValueError, URLError, OSError) as error:
        print(f"kg load: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

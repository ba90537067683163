"""`kg query`: run a stored query (or any .rq file) against the local graph or a SPARQL endpoint.

The query goes through the same QueryService as the web (policy, time limit): locally in one query process,
or with --endpoint to another SPARQL 1.1 server, as `kg serve --backend` sends it (server/engine/remote_backend.py:
a BASE line, so the catalogue's relative IRIs (kg: <id/>) resolve to this dataset's IRIs there too).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from nato_kg import formats
from nato_kg.engine.stored_queries import load_catalogue
from nato_kg.errors import Problem, SetupError
from nato_kg.namespaces import prefixes
from nato_kg.settings import Settings

TABLE = "table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="a stored query's name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the stored queries and their parameters")
    parser.add_argument("--file", type=Path, help="run the SPARQL query in this file instead")
    parser.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                        help="a parameter value (repeat for several)")
    parser.add_argument("--format", "-f", default=TABLE,
                        choices=[TABLE, *formats.RESULT_FORMATS, *formats.GRAPH_FORMATS],
                        help="table (aligned columns, default) or a SPARQL/RDF format")
    parser.add_argument("--endpoint", help="a SPARQL endpoint URL to ask instead of the local graph")
    parser.add_argument("--data-dir", type=Path, help="folder holding ontology/, graph/, queries/")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        catalogue = load_catalogue(settings.data_dir / "queries")
    except SetupError as error:
        print(f"kg query: {error}", file=sys.stderr)
        return 2
    if args.list:
        print(_listing(catalogue))
        return 0
    if args.file:
        text = args.file.read_text(encoding="utf-8")
    elif args.name in catalogue:
        values = dict(_split(p) for p in args.param)
        try:
            text = catalogue[args.name].bind(values, settings.base_iri)
        except Problem as error:
            print(f"kg query: {error.message}", file=sys.stderr)
            return 2
    else:
        known = ", ".join(catalogue)
        print(f"kg query: give a stored query's name ({known}) or --file", file=sys.stderr)
        return 2

    try:
        body, form = _ask(text, args.format, replace(settings, backend_url=args.endpoint or settings.backend_url))
    except Problem as problem:
        print(f"kg query: {problem.status}: {problem.message}", file=sys.stderr)
        return 1
    if args.format == TABLE and form in ("SELECT", "ASK"):
        print(render_table(json.loads(body), settings.base_iri))
    else:
        sys.stdout.write(body.decode("utf-8"))
    return 0


def _wire_format(fmt: str, form: str) -> str:
    if fmt != TABLE:
        return fmt
    return "json" if form in ("SELECT", "ASK") else "ttl"  # a graph prints as Turtle


def _ask(text: str, fmt: str, settings: Settings) -> tuple[bytes, str]:
    """Through the same QueryService as the web: policy and limits, then our store or (--endpoint) theirs."""
    from nato_kg.data.store import graph_names
    from nato_kg.engine.query_service import QueryService

    graphs = [settings.graph_iri(name) for name in graph_names(settings.data_dir)]
    service = QueryService(replace(settings, query_processes=1), graphs)
    try:
        query = service.check(text)
        return service.run(query, _wire_format(fmt, query.form)).body, query.form
    finally:
        service.close()


def _split(pair: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep:
        raise SystemExit(f"kg query: --param wants KEY=VALUE, not {pair!r}")
    return key.strip(), value


def _listing(catalogue: dict[str, Any]) -> str:
    rows = []
    for query in catalogue.values():
        params = " ".join(f"{p.name}={p.default}" if p.default else f"{p.name}=<{p.type}>" for p in query.parameters)
        rows.append((query.name, query.title, params))
    return _align([("NAME", "TITLE", "PARAMETERS"), *rows])


def render_table(results: dict[str, Any], base_iri: str) -> str:
    """SPARQL JSON results as aligned columns; our IRIs as kg:/kgo: names."""
    if "boolean" in results:
        return "yes" if results["boolean"] else "no"
    names = results["head"]["vars"]
    short = {namespace: f"{name}:" for name, namespace in prefixes(base_iri).items()}

    def show(cell: dict[str, str] | None) -> str:
        if cell is None:
            return ""
        value = cell["value"]
        if cell["type"] == "uri":
            for prefix, name in short.items():
                if value.startswith(prefix):
                    return name + value.removeprefix(prefix)
            return f"<{value}>"
        return value.replace("\n", " ")

    rows = [tuple(show(binding.get(n)) for n in names) for binding in results["results"]["bindings"]]
    return _align([tuple(names), *rows]) + f"\n({len(rows)} row{'s' if len(rows) != 1 else ''})"


def _align(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)

"""The HTML query page at `/`, for people writing SPARQL.

A plain GET form that works with JavaScript off: `/?query=...` runs the query through the query service and
renders the answer server-side (a table for SELECT, yes/no for ASK, Turtle for CONSTRUCT/DESCRIBE);
`/?example=NAME` loads a stored query into the editor. `static/query.js` enhances it: Ctrl+Enter runs, the
answer is fetched from `/sparql` as SPARQL JSON and rendered in place, the picker fills the editor.

Every value from a result or from the query text reaches the page through Jinja's autoescape (or, in the
script, through `textContent`); only http(s) IRIs become links. A strict Content-Security-Policy allows
scripts, styles and fetches from this origin only, so nothing inline runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, redirect, render_template, request

from nato_kg import formats
from nato_kg.engine.stored_queries import StoredQuery, current_catalogue
from nato_kg.errors import Problem
from nato_kg.settings import Settings
from nato_kg.web.html import Namer, page_prefixes, security_headers
from nato_kg.web.state import state
from nato_kg.web.ui import graph_terms

bp = Blueprint(
    "query_page", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)

MAX_ROWS_SHOWN = 1000  # the page shows at most this many rows; the download links give them all
MAX_GRAPH_CHARS_SHOWN = 500_000

# The prefixes the default query declares, in this order (kg and kgo are added in front, from the base IRI).
DEFAULT_QUERY_PREFIXES = ("rdfs", "owl", "schema", "wd")

# --- formats: the download links, from the one table (server/formats.py) -------------------------------

RESULT_FORMATS = tuple(formats.FORMATS[name] for name in formats.RESULT_FORMATS)
GRAPH_FORMATS = tuple(formats.FORMATS[name] for name in formats.GRAPH_FORMATS)


def formats_for(form: str) -> tuple[formats.Format, ...]:
    """The download formats a query form supports (SELECT/ASK: result formats; the others: graph formats)."""
    return RESULT_FORMATS if formats.kind_of(form) == "results" else GRAPH_FORMATS


def download(fmt: formats.Format) -> dict[str, str]:
    """A download link's format as the page's script reads it."""
    return {"name": fmt.name, "label": fmt.label, "media_type": fmt.media_type}


# --- the stored queries -----------------------------------------------------------------------------

def catalogue(settings: Settings) -> dict[str, StoredQuery]:
    return current_catalogue(settings.data_dir / "queries")


def example_text(query: StoredQuery, settings: Settings) -> str:
    """An example as the editor shows it: its parameters bound to their defaults (the VALUES clause shows
    where a value goes), or as written when a parameter has no default."""
    if any(p.required for p in query.parameters):
        return query.text
    return query.bind({}, settings.base_iri)


def default_query(settings: Settings) -> str:
    prefixes = page_prefixes(settings)
    names = ("kg", "kgo", *DEFAULT_QUERY_PREFIXES)
    width = max(len(n) for n in names) + 1
    lines = [f"PREFIX {(n + ':').ljust(width)} <{prefixes[n]}>" for n in names]
    return "\n".join([
        *lines,
        "",
        "# Everything in the graph that has a label",
        "SELECT ?thing ?label WHERE {",
        "  ?thing rdfs:label ?label .",
        "}",
        "ORDER BY ?thing",
        "LIMIT 100",
        "",
    ])


# --- running a query --------------------------------------------------------------------------------

@dataclass
class Outcome:
    form: str
    elapsed_ms: float
    variables: list[str] = field(default_factory=list)
    rows: list[list[dict[str, Any] | None]] = field(default_factory=list)
    row_count: int = 0
    boolean: bool | None = None
    graph_text: str | None = None
    truncated: bool = False
    service_failures: list[str] = field(default_factory=list)  # why SERVICE SILENT calls gave nothing


def run_query(query: str, namer: Namer) -> Outcome | Problem:
    """Run the query through the shared query service and turn its answer into something to render."""
    service = state().service
    started = time.perf_counter()
    try:
        checked = service.check(query)
        result = service.run(checked, "json" if formats.kind_of(checked.form) == "results" else "ttl")
    except Problem as problem:
        return problem
    elapsed_ms = (time.perf_counter() - started) * 1000

    outcome = Outcome(form=result.form, elapsed_ms=elapsed_ms,
                      service_failures=[message for _, message in result.service_failures])
    if result.form in ("CONSTRUCT", "DESCRIBE"):
        text = result.body.decode("utf-8", errors="replace")
        outcome.row_count = sum(1 for _ in ox.parse(result.body, ox.RdfFormat.TURTLE))
        outcome.truncated = len(text) > MAX_GRAPH_CHARS_SHOWN
        outcome.graph_text = text[:MAX_GRAPH_CHARS_SHOWN]
        return outcome
    answer = json.loads(result.body)
    if "boolean" in answer:
        outcome.boolean = bool(answer["boolean"])
        return outcome
    outcome.variables = list(answer.get("head", {}).get("vars", []))
    bindings = answer.get("results", {}).get("bindings", [])
    outcome.row_count = len(bindings)
    outcome.truncated = len(bindings) > MAX_ROWS_SHOWN
    outcome.rows = [[namer.cell(b.get(v)) for v in outcome.variables] for b in bindings[:MAX_ROWS_SHOWN]]
    return outcome


def check_download(query: str, fmt: str) -> Problem | None:
    """Why the endpoint would refuse this query in this format, said on the page; None when it fits."""
    if fmt not in (*formats.RESULT_FORMATS, *formats.GRAPH_FORMATS):
        return Problem(400, f"Unknown format '{fmt}'.")
    try:
        form = state().service.check(query).info.form
    except Problem as problem:
        return problem
    if form and fmt not in formats.formats_for(form):
        fitting = ", ".join(formats.FORMATS[n].label for n in formats.formats_for(form))
        return Problem(406, f"A {form} query cannot be given as {formats.FORMATS[fmt].label}: choose one of "
                       f"{fitting}, or the table on this page.")
    return None


def endpoint_url(query: str, fmt: str | None = None) -> str:
    params = {"query": query, **({"format": fmt} if fmt else {})}
    return f"{request.script_root}/sparql?{urlencode(params)}"


# --- views ------------------------------------------------------------------------------------------

@bp.get("/")
def page() -> Any:
    settings = state().settings
    examples = catalogue(settings)
    query = request.args.get("query")
    if query is not None:
        query = query.replace("\r\n", "\n")  # a textarea sends CRLF line ends
    fmt = request.args.get("format", "").strip().lower()
    if fmt == "html":  # what /sparql sends browsers here with: this page is the HTML rendering
        fmt = ""
    example_name = request.args.get("example")
    status = 200
    outcome: Outcome | Problem | None = None
    selected = None

    if query is not None and fmt:
        outcome = check_download(query, fmt)
        if outcome is None:  # a file in another format: that is the endpoint's job
            return redirect(endpoint_url(query, fmt), code=303)
        status = outcome.status
    elif query is not None:
        if query.strip():
            outcome = run_query(query, Namer(settings.base_iri, request.script_root,
                                             page_prefixes(settings, query),
                                             graph_terms(settings.base_iri)["labels"]))
            if isinstance(outcome, Problem):
                status = outcome.status
        else:
            outcome, status = Problem(400, "The query is empty: type one, or pick an example."), 400
    elif example_name is not None:
        selected = examples.get(example_name)
        if selected is None:
            outcome, status = Problem(404, f"There is no stored query named '{example_name}'."), 404
        else:
            query = example_text(selected, settings)

    html = render_template(
        "query.html",
        query=default_query(settings) if query is None else query,
        fmt=fmt,
        examples=examples,
        selected=selected,
        outcome=outcome if isinstance(outcome, Outcome) else None,
        error=outcome if isinstance(outcome, Problem) else None,
        downloads=[(f, endpoint_url(query or "", f.name)) for f in formats_for(outcome.form)]
        if isinstance(outcome, Outcome) else [],
        result_formats=RESULT_FORMATS,
        graph_formats=GRAPH_FORMATS,
        page_data=page_data(settings, examples),
        max_rows=MAX_ROWS_SHOWN,
    )
    return Response(html, status=status, mimetype="text/html")


def page_data(settings: Settings, examples: dict[str, StoredQuery]) -> dict[str, Any]:
    """What the scripts need to render results the way the server does."""
    return {
        **graph_terms(settings.base_iri),
        "defaultQuery": default_query(settings),
        "exampleTitles": {name: q.title for name, q in examples.items()},
        "endpoint": f"{request.script_root}/sparql",
        "root": request.script_root,
        "baseIri": settings.base_iri,
        "prefixes": page_prefixes(settings),
        "formats": {
            "results": [download(f) for f in RESULT_FORMATS],
            "graph": [download(f) for f in GRAPH_FORMATS],
        },
        "examples": {name: example_text(q, settings) for name, q in examples.items()},
        "maxRows": MAX_ROWS_SHOWN,
    }


@bp.app_template_global()
def asset(filename: str) -> str:
    """URL of a file in static/, with a content hash so a changed file is never served stale."""
    return f"{request.script_root}/assets/{filename}?v={_asset_hash(filename)}"


@lru_cache(maxsize=32)
def _asset_hash(filename: str) -> str:
    path = Path(bp.static_folder or "") / filename
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


bp.after_request(security_headers)

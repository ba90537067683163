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
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.http import HTTP_STATUS_CODES

from nato_kg import formats
from nato_kg.engine.stored_queries import StoredQuery, current_catalogue
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

# --- formats ----------------------------------------------------------------------------------------
# Names and media types come from server/formats.py; only the labels a person reads are the page's own.

@dataclass(frozen=True)
class Download:
    name: str  # the `format=` short name
    label: str
    media_type: str


LABELS = {"json": "JSON", "xml": "XML", "csv": "CSV", "tsv": "TSV",
          "ttl": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD", "rdfxml": "RDF/XML"}


def downloads(names: tuple[str, ...]) -> tuple[Download, ...]:
    return tuple(Download(n, LABELS.get(n, n.upper()), formats.FORMATS[n].media_type) for n in names)


RESULT_FORMATS = downloads(formats.RESULT_FORMATS)
GRAPH_FORMATS = downloads(formats.GRAPH_FORMATS)
ALL_FORMATS = RESULT_FORMATS + GRAPH_FORMATS


def formats_for(form: str) -> tuple[Download, ...]:
    """The download formats a query form supports (SELECT/ASK: result formats; the others: graph formats)."""
    return RESULT_FORMATS if formats.kind_of(form) == "results" else GRAPH_FORMATS


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


@dataclass
class PageError:
    status: int
    message: str

    @property
    def reason(self) -> str:
        return HTTP_STATUS_CODES.get(self.status, "Error")


def run_query(query: str, namer: Namer) -> Outcome | PageError:
    """Run the query through the shared query service and turn its answer into something to render."""
    service = state().service
    from nato_kg.engine.query_service import QueryError  # imported late: the app imports this module first

    started = time.perf_counter()
    try:
        form = service.inspect(query).form or "SELECT"  # the policy's cached tokenizer: microseconds
        result = service.run(query, "json" if formats.kind_of(form) == "results" else "ttl")
    except QueryError as exc:
        return PageError(int(exc.status), str(exc.message))
    elapsed_ms = (time.perf_counter() - started) * 1000

    outcome = Outcome(form=result.form, elapsed_ms=elapsed_ms)
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


def check_download(query: str, fmt: str) -> PageError | None:
    """Why the endpoint would refuse this query in this format, said on the page; None when it fits."""
    if fmt not in {f.name for f in ALL_FORMATS}:
        return PageError(400, f"Unknown format '{fmt}'.")
    service = state().service
    from nato_kg.engine.query_service import QueryError

    try:
        form = service.inspect(query).form
    except QueryError as exc:
        return PageError(int(exc.status), str(exc.message))
    if form and fmt not in formats.formats_for(form):
        fitting = ", ".join(LABELS.get(n, n) for n in formats.formats_for(form))
        return PageError(406, f"A {form} query cannot be given as {LABELS.get(fmt, fmt)}: choose one of "
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
    outcome: Outcome | PageError | None = None
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
            if isinstance(outcome, PageError):
                status = outcome.status
        else:
            outcome, status = PageError(400, "The query is empty: type one, or pick an example."), 400
    elif example_name is not None:
        selected = examples.get(example_name)
        if selected is None:
            outcome, status = PageError(404, f"There is no stored query named '{example_name}'."), 404
        else:
            query = example_text(selected, settings)

    html = render_template(
        "query.html",
        query=default_query(settings) if query is None else query,
        fmt=fmt,
        examples=examples,
        selected=selected,
        outcome=outcome if isinstance(outcome, Outcome) else None,
        error=outcome if isinstance(outcome, PageError) else None,
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
            "results": [asdict(f) for f in RESULT_FORMATS],
            "graph": [asdict(f) for f in GRAPH_FORMATS],
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

"""`/overview`: the article at a glance, three pictures each drawn live from a stored query.

The page carries the queries' text; web/src/overview.js runs each against /sparql and draws it in the view
its `#defaultView:` header names (bar chart, timeline, network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, render_template

from nato_kg.web.html import security_headers
from nato_kg.web.query_page import catalogue, example_text, page_data
from nato_kg.web.state import state
from nato_kg.web.ui import HOW_TO_GET_THE_EDITOR

bp = Blueprint("overview", __name__)


@dataclass(frozen=True)
class Figure:
    name: str  # the stored query's name (queries/<name>.rq)
    view: str  # how it is drawn (web/src/views.js: bar, timeline, graph), whatever its #defaultView says
    heading: str
    note: str


FIGURES = (
    Figure("expelled-per-country", "bar", "Russians expelled per country",
           "National totals as the article gives them (the United States' 60, not also its parts); the "
           "countries it names without a number are listed beside the bars, not drawn as 0."),
    Figure("dated-events", "timeline", "What happened when",
           "The events and statements the graph dates, from the 2010 spy swap to 27 March 2018; a year the "
           "article gives alone spans its year."),
    Figure("who-acted-against-whom", "graph", "Who acted against whom, and who said what about which event",
           "Actions linked to who took them and the state they target; statements linked to who made them and "
           "the event they are about. Nodes are coloured by class; click one to open its page."),
)


@bp.get("/overview")
def overview() -> Response:
    settings = state().settings
    examples = catalogue(settings)
    figures = [f for f in FIGURES if f.name in examples]
    if not figures:
        abort(404, "the overview's stored queries are missing from queries/")
    data: dict[str, Any] = page_data(settings, examples)
    data["figures"] = {f.name: example_text(examples[f.name], settings) for f in figures}
    data["figureViews"] = {f.name: f.view for f in figures}
    html = render_template("overview.html", figures=figures, page_data=data,
                           how_to_get_the_editor=HOW_TO_GET_THE_EDITOR)
    return security_headers(Response(html, mimetype="text/html"))


def install(app: Any) -> None:
    app.register_blueprint(bp)

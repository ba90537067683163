"""`kg passage`: the Turtle for a new passage, its selectors computed from the shipped article text.

A curator who wants a fact to point at a sentence not yet in graph/passages.ttl gives the sentence's exact
text; this finds it in graph/source/nato-cuts-russian-mission-staff.txt and writes the passage with its
TextQuoteSelector (exact, and the 32 code points either side) and TextPositionSelector (start, end in code
points), in the layout of graph/passages.ttl. `kg validate` checks the result against the text again.
"""

from __future__ import annotations

import argparse
import sys

from nato_kg.settings import Settings
from nato_kg.validation import ARTICLE_TEXT

CONTEXT = 32  # code points of prefix and suffix


def turtle_literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def passage_turtle(article: str, name: str, label: str, exact: str, occurrence: int = 1) -> str:
    """The passage `kg:passage-NAME` selecting the `occurrence`-th (1-based) place where `exact` stands."""
    start = -1
    for _ in range(occurrence):
        start = article.find(exact, start + 1)
        if start < 0:
            raise ValueError(f"the text does not contain {exact!r} {occurrence} time(s)")
    end = start + len(exact)
    return f"""kg:passage-{name} a kgo:Passage ;
    rdfs:label {turtle_literal(label)}@en ;
    oa:hasSource kg:article-text ;
    oa:hasSelector [
        a oa:TextQuoteSelector ;
        oa:exact {turtle_literal(exact)} ;
        oa:prefix {turtle_literal(article[max(0, start - CONTEXT):start])} ;
        oa:suffix {turtle_literal(article[end:end + CONTEXT])}
    ] , [
        a oa:TextPositionSelector ;
        oa:start "{start}"^^xsd:integer ;
        oa:end "{end}"^^xsd:integer
    ] .
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the passage's name: kg:passage-NAME")
    parser.add_argument("exact", help="the exact text to select, as it stands in the article")
    parser.add_argument("--label", help="its English label (default: 'Passage NAME of the article')")
    parser.add_argument("--occurrence", type=int, default=1, help="which occurrence, when the text repeats")


def run(args: argparse.Namespace, settings: Settings) -> int:
    article = (settings.data_dir / ARTICLE_TEXT).read_text(encoding="utf-8")
    if article.count(args.exact) > 1 and args.occurrence == 1:
        print(f"kg passage: note: the text stands {article.count(args.exact)} times; this selects the first "
              "(--occurrence N for another)", file=sys.stderr)
    try:
        sys.stdout.write(passage_turtle(article, args.name, args.label or f"Passage {args.name} of the article",
                                        args.exact, args.occurrence))
    except ValueError as error:
        print(f"kg passage: {error}", file=sys.stderr)
        return 1
    return 0

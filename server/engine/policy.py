"""The safety check every query passes before an engine sees it: cheap, by a small tokenizer, not a parser.

Why not rdflib's parser: it costs more than Oxigraph needs to answer a cheap query (benchmarks/RESULTS.md). A
tokenizer that knows SPARQL's lexical rules (comments, the four string forms, IRIs, prefixed names) finds
what we need in microseconds: the query form (for content negotiation), every FROM / FROM NAMED IRI,
update keywords, and the nesting depth (deep nesting overflows Oxigraph's parser stack).

SERVICE is the one truly dangerous clause (pyoxigraph fetches it with its own HTTP client, no timeout), and
a tokenizer can disagree with Oxigraph's context-sensitive parser about where a comment or string starts:
in `FILTER(?a<1#>` Oxigraph reads `<` as less-than and `#>` as a comment, we would read an IRI. So SERVICE
is checked on the raw text instead: every `SERVICE` that Oxigraph could read as the keyword, even one that
sits in a comment or a string, must name an allowed endpoint. FROM only names graphs of the store in
Oxigraph (it never fetches), and is held to the graphs we have so that a mistake reads as one.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from nato_kg.errors import Problem
from nato_kg.memo import BytesMemo, text_size
from nato_kg.namespaces import resolve

FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
)
VOLATILE_FUNCTIONS = frozenset({"NOW", "RAND", "UUID", "STRUUID"})  # answers differ per run: no ETag (nor SERVICE)
MAX_DEPTH = 100  # brackets of all kinds; Oxigraph's parser overflows its stack a few thousand deep
# The same count on the raw text, brackets in strings and comments included: the tokenizer and Oxigraph can
# disagree about where an IRI or comment ends (`FILTER(?o<(((...1#>`), so this bound holds whatever they read.
MAX_RAW_DEPTH = 1000
_BRACKET = re.compile(r"[(\[{]|[)\]}]")

_IRI_CHARS = r"[^<>\"{}|^`\\\x00-\x20]*"
_IRI = rf"<{_IRI_CHARS}(?:\\(?:u[0-9A-Fa-f]{{4}}|U[0-9A-Fa-f]{{8}}){_IRI_CHARS})*>"
_PNAME = r"(?:[^\W\d]\w*(?:[\w.-]*[\w-])?)?:(?:(?:[\w:%-]|\\.)(?:(?:[\w.:%-]|\\.)*(?:[\w:%-]|\\.))?)?"
_TOKEN = re.compile(
    rf"""
      (?P<ws>\s+)
    | (?P<comment>\#[^\r\n]*)
    | (?P<string>'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''|\"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
                |'[^'\\\r\n]*(?:\\.[^'\\\r\n]*)*'|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*")
    | (?P<iri>{_IRI})
    | (?P<var>[?$]\w+)
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<pname>{_PNAME})
    | (?P<word>[^\W\d]\w*)
    | (?P<open>[({{\[])
    | (?P<close>[)}}\]])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# `SERVICE` wherever Oxigraph could read it as the keyword (not inside a name, a variable, a language tag
# or after `#`/`/`, which no token before the keyword can end with), with its optional SILENT and target.
_GAP = r"(?:\s|\#[^\r\n]*)*"
_SERVICE = re.compile(
    rf"(?<![\w:/?$@#%\\-])service(?![\w:]){_GAP}(?:silent(?![\w:]){_GAP})?(?P<target>[^\s{{#]*)",
    re.IGNORECASE,
)
_GAP_ONLY = re.compile(_GAP)
_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_LOCAL_ESCAPE = re.compile(r"\\(.)")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class QueryInfo:
    form: str | None  # None: no query form found; the engine will report the syntax error
    update_keyword: str | None  # the first SPARQL Update keyword, if any
    services: tuple[str | None, ...]  # every SERVICE target; None for a variable, relative or unknown one
    from_graphs: tuple[str, ...]
    from_named: tuple[str, ...]
    depth: int
    volatile: bool
    raw_depth: int  # bracket depth counted on the raw text (see MAX_RAW_DEPTH)
    # (start, end) in the query text of each SERVICE target that `services` lists, in the same order: where
    # the query service puts its relay IRI (server/engine/federation.py), so the rewrite and the check agree.
    service_spans: tuple[tuple[int, int], ...] = ()
    # For each SERVICE, the index of the SERVICE whose block it sits in (by our reading of the braces), or None:
    # a SERVICE inside another's block is sent to that endpoint as written, and evaluated there.
    service_parents: tuple[int | None, ...] = ()


def _unescape_iri(text: str) -> str:
    return _UCHAR.sub(lambda m: chr(int(m[1] or m[2], 16)), text)


def tokens(query: str) -> Iterator[tuple[str, str, int]]:
    """(kind, text, offset) of each token, kinds as in _TOKEN: ws, comment, string, iri, var, word, open, ..."""
    for match in _TOKEN.finditer(query):
        yield match.lastgroup or "other", match.group(), match.start()


def _info_size(info: QueryInfo) -> int:
    return 400 + sum(text_size(text) for text in (*info.services, *info.from_graphs, *info.from_named) if text)


# Verdicts by query text, within a byte budget: query texts come from clients and may be 64 KB each.
VERDICTS_MAX_BYTES = 8 * 1024 * 1024
verdicts: BytesMemo[tuple[str, str], QueryInfo] = BytesMemo(VERDICTS_MAX_BYTES, _info_size)


def inspect(query: str, base_iri: str) -> QueryInfo:
    """Everything the policy needs to know about a query, from one pass of the tokenizer (remembered)."""
    return verdicts.get_or_compute((query, base_iri), lambda: _inspect(query, base_iri))


def _inspect(query: str, base_iri: str) -> QueryInfo:
    base = base_iri
    prefixes: dict[str, str | None] = {}  # None: declared with a relative IRI (never trusted for SERVICE)
    form = update = None
    from_graphs: list[str] = []
    from_named: list[str] = []
    depth = max_depth = 0
    volatile = False
    recent: list[str | None] = [None, None]  # the last two keywords (upper case) or resolved IRIs
    open_braces: list[int] = []
    blocks: dict[int, int] = {}  # offset of each `{` token -> offset of its matching `}`

    for match in _TOKEN.finditer(query):
        kind, text = match.lastgroup, match[0]
        if kind in ("ws", "comment", "string"):
            continue
        value: str | None = None
        if kind == "word":
            value = text.upper()
            if value in FORMS and form is None:
                form = value
            elif value in UPDATE_KEYWORDS and update is None:
                update = value
            elif value in VOLATILE_FUNCTIONS:
                volatile = True
        elif kind == "open":
            depth += 1
            max_depth = max(max_depth, depth)
            if text == "{":
                open_braces.append(match.start())
        elif kind == "close":
            depth -= 1
            if text == "}" and open_braces:
                blocks[open_braces.pop()] = match.start()
        elif kind == "pname" and recent[-1] == "PREFIX":
            value = "PREFIX " + text[:-1]  # remembered for the IRI that follows
        elif kind == "iri":
            iri = _unescape_iri(text[1:-1])
            value = iri if _ABSOLUTE.match(iri) else resolve(base, iri)
            if recent[-1] == "BASE":
                base = value
            elif recent[-1] and recent[-1].startswith("PREFIX "):
                prefixes[recent[-1][7:]] = value if _ABSOLUTE.match(iri) else None
            elif recent == ["FROM", "NAMED"]:
                from_named.append(value)
            elif recent[-1] == "FROM":
                from_graphs.append(value)
        elif kind == "pname" and recent[-1] in ("FROM", "NAMED"):
            prefix, _, local = text.partition(":")
            graph = (prefixes.get(prefix) or "") + _LOCAL_ESCAPE.sub(r"\1", local)
            (from_named if recent[-1] == "NAMED" else from_graphs).append(graph)
        recent = [recent[-1], value]

    services: list[str | None] = []
    spans: list[tuple[int, int]] = []
    keyword_starts: list[int] = []
    for match in _SERVICE.finditer(query):
        target, start = match["target"], match.start("target")
        if target.startswith(("<", "?", "$")) or ":" in target:
            keyword_starts.append(match.start())
        if target.startswith("<"):
            iri = re.match(_IRI, target)
            iri_text = _unescape_iri(iri[0][1:-1]) if iri else ""
            services.append(iri_text if _ABSOLUTE.match(iri_text) else None)
            spans.append((start, start + (len(iri[0]) if iri else len(target))))
        elif target.startswith(("?", "$")):
            services.append(None)
            spans.append((start, start + len(target)))
        elif ":" in target:  # a prefixed name: it must read exactly as ours, with a declared prefix
            pname = re.fullmatch(_PNAME, target)
            prefix, _, local = target.partition(":")
            namespace = prefixes.get(prefix) if pname else None
            services.append(namespace + _LOCAL_ESCAPE.sub(r"\1", local) if namespace else None)
            spans.append((start, start + len(target)))
        # else: a plain word follows ("the service is down"), which Oxigraph cannot read as a SERVICE clause
    # An answer that depends on another endpoint can change while our data does not: no ETag for it either.
    raw = raw_max = 0
    for bracket in _BRACKET.finditer(query):
        raw += 1 if bracket[0] in "([{" else -1
        raw_max = max(raw_max, raw)
    return QueryInfo(form, update, tuple(services), tuple(from_graphs), tuple(from_named), max_depth,
                     volatile or bool(services), raw_max, tuple(spans),
                     _service_parents(query, keyword_starts, spans, blocks))


def _service_parents(query: str, starts: Sequence[int], spans: Sequence[tuple[int, int]],
                     blocks: dict[int, int]) -> tuple[int | None, ...]:
    """For each SERVICE (its keyword's offset), the innermost earlier SERVICE whose `{ ... }` block holds it.
    A SERVICE has a block only if a `{` token follows its target with nothing but space and comments between
    (one in a comment or string has none)."""
    opens = sorted(blocks)
    extents: list[tuple[int, int] | None] = []
    for _, target_end in spans:
        following = bisect.bisect_left(opens, target_end)
        opening = opens[following] if following < len(opens) else None
        extents.append((opening, blocks[opening]) if opening is not None
                       and _GAP_ONLY.fullmatch(query, target_end, opening) else None)
    parents: list[int | None] = []
    for index, start in enumerate(starts):
        holders = [i for i in range(index) if (extent := extents[i]) and extent[0] < start < extent[1]]
        parents.append(max(holders, key=lambda i: extents[i][0]) if holders else None)  # type: ignore[index]
    return tuple(parents)


class QueryPolicy:
    """Read-only; no file or host off the allow-list; bounded nesting."""

    def __init__(self, base_iri: str, held_graphs: Collection[str], allowed_services: Collection[str]):
        self.base_iri = base_iri
        self.held_graphs = frozenset(held_graphs)
        self.allowed_services = frozenset(allowed_services)

    def check(self, query: str, default_graph_uris: Sequence[str] = (),
              named_graph_uris: Sequence[str] = ()) -> QueryInfo:
        """The query's facts, or Problem naming what is refused."""
        info = inspect(query, self.base_iri)
        if info.update_keyword:
            raise Problem(403, f"this endpoint is read-only: SPARQL Update ({info.update_keyword}) "
                          "is not accepted")
        if info.depth > MAX_DEPTH:
            raise Problem(400, f"the query nests brackets {info.depth} deep; the limit is {MAX_DEPTH}")
        if info.raw_depth > MAX_RAW_DEPTH:
            raise Problem(400, f"the query text nests brackets {info.raw_depth} deep (counting those in "
                          f"strings and comments too); the limit is {MAX_RAW_DEPTH}")
        for target in self.refused_services(info):
            allowed = ", ".join(f"<{s}>" for s in sorted(self.allowed_services)) or "none"
            shown = f"<{target}>" if target else "with a variable, relative or unknown-prefix target"
            raise Problem(403, f"SERVICE {shown} is not allowed (every SERVICE in the text is checked, even "
                          f"in a comment or string); allowed: {allowed}, and any SERVICE with an IRI "
                          "inside one of their blocks (such as wikibase:label), which they evaluate")
        for clause, graphs in (("FROM", info.from_graphs), ("FROM NAMED", info.from_named),
                               ("default-graph-uri", default_graph_uris),
                               ("named-graph-uri", named_graph_uris)):
            for graph in graphs:
                if graph not in self.held_graphs:
                    held = ", ".join(f"<{g}>" for g in sorted(self.held_graphs))
                    raise Problem(403, f"{clause} <{graph}> is refused: this endpoint reads no files "
                                  f"and fetches nothing; it holds the graphs {held}")
        return info

    def refused_services(self, info: QueryInfo) -> list[str | None]:
        """The SERVICE targets that are neither allowed nor nested (with an IRI) in an allowed SERVICE's block."""
        passed: list[bool] = []
        for target, parent in zip(info.services, info.service_parents, strict=True):
            passed.append(target in self.allowed_services
                          or (target is not None and parent is not None and passed[parent]))
        return [target for target, ok in zip(info.services, passed, strict=True) if not ok]


__all__ = ["FORMS", "MAX_DEPTH", "QueryInfo", "QueryPolicy", "inspect"]

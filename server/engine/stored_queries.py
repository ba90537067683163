"""The catalogue of stored queries: one `.rq` file each in queries/, with a `#+` header a curator edits.

Header format (grlc-style; the query below it stays plain SPARQL that runs as-is anywhere):

    #+ title: Countries that expelled Russian diplomats
    #+ description: One row per country ...        (may repeat: lines are joined)
    #+ tags: competency, expulsions
    #+ param: country iri = kg:germany -- the expelling country
    #+ param: text string -- words to look for     (no default: required)

A parameter names a variable of the query (`?country`). Its value is checked against its type (iri,
string, integer, decimal, date, boolean), made an RDF term by pyoxigraph (which rejects an IRI with `>` or a
space in it and escapes every literal), and bound by a `VALUES` clause placed first in the WHERE pattern: the
engine joins it like any data, so a value can never change the query's shape, and the pattern's FILTERs see
it. (pyoxigraph's own `substitutions` would be neater, but it refuses variables that a SELECT does not
project and every CONSTRUCT.) An IRI may be written in full, or with a prefix the query declares, or
one of server/namespaces.py (kg:, kgo:, wd:, ...).
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from nato_kg.engine.policy import tokens
from nato_kg.errors import Problem, SetupError
from nato_kg.namespaces import XSD, query_prefixes

log = logging.getLogger("kg.catalogue")
PARAM_TYPES = ("iri", "string", "integer", "decimal", "date", "boolean")
_HEADER = re.compile(r"^#\+\s*(\w+)\s*:\s*(.*)$")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s+(?P<type>\w+)(?:\s*=\s*(?P<default>\S+))?\s*(?:--\s*(?P<doc>.*))?$"
)


_PREFIXED_NAME = re.compile(r"^([A-Za-z][\w.-]*)?:([^/].*)?$")
_XSD = XSD


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str | None
    description: str

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class StoredQuery:
    name: str
    title: str
    description: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    text: str
    path: Path = field(compare=False)


    def bind(self, values: Mapping[str, str], base_iri: str) -> str:
        """The query text with the parameters' values bound (defaults where not given) by a VALUES clause."""
        unknown = sorted(set(values) - {p.name for p in self.parameters})
        if unknown:
            known = ", ".join(p.name for p in self.parameters) or "none"
            raise Problem(400, f"unknown parameter '{unknown[0]}' for stored query '{self.name}' (parameters: "
                          f"{known})")
        if not self.parameters:
            return self.text
        prefixes = query_prefixes(self.text, base_iri)
        terms = []
        for param in self.parameters:
            raw = values.get(param.name, param.default)
            if raw is None or raw == "":
                raise Problem(400, f"parameter '{param.name}' ({param.type}) is required: {param.description}")
            terms.append(str(_term(param, raw, prefixes)))
        names = " ".join(f"?{p.name}" for p in self.parameters)
        values_clause = f"VALUES ({names}) {{ ({' '.join(terms)}) }}"
        start = _where_group_start(self.text)
        if start is None:  # no WHERE pattern (DESCRIBE ?x): the trailing VALUES clause binds ?x
            return f"{self.text.rstrip()}\n{values_clause}\n"
        # First in the WHERE group, so the group's FILTERs and OPTIONALs see the values.
        return f"{self.text[:start]} {values_clause}{self.text[start:]}"


def _where_group_start(text: str) -> int | None:
    """Offset just after the `{` that opens the query's WHERE pattern (a CONSTRUCT template comes before)."""
    seen_construct = seen_where = False
    for kind, token, offset in tokens(text):
        if kind == "word":
            seen_construct |= token.upper() == "CONSTRUCT"
            seen_where |= token.upper() == "WHERE"
        elif kind == "open" and token == "{" and (seen_where or not seen_construct):
            return offset + 1
    return None


def _term(param: Parameter, raw: str, prefixes: Mapping[str, str]) -> ox.NamedNode | ox.Literal:
    def wrong(expected: str) -> Problem:
        return Problem(400, f"parameter '{param.name}' must be {expected}, not {raw[:100]!r}")

    try:
        if param.type == "iri":
            match = _PREFIXED_NAME.match(raw)
            if match and (match[1] or "") in prefixes:
                raw_iri = prefixes[match[1] or ""] + (match[2] or "")
            elif match and match[1] not in ("http", "https", "urn"):
                raise wrong(f"an IRI (unknown prefix '{match[1] or ''}:'; known: {', '.join(sorted(prefixes))})")
            else:
                raw_iri = raw
            return ox.NamedNode(raw_iri)
        if param.type == "integer":
            return ox.Literal(str(int(raw)), datatype=ox.NamedNode(_XSD + "integer"))
        if param.type == "decimal":
            return ox.Literal(str(Decimal(raw)), datatype=ox.NamedNode(_XSD + "decimal"))
        if param.type == "date":
            return ox.Literal(datetime.date.fromisoformat(raw).isoformat(), datatype=ox.NamedNode(_XSD + "date"))
        if param.type == "boolean":
            if raw.lower() not in ("true", "false"):
                raise wrong("true or false")
            return ox.Literal(raw.lower(), datatype=ox.NamedNode(_XSD + "boolean"))
        return ox.Literal(raw)
    except (ValueError, InvalidOperation):
        expected = {"iri": "an IRI", "integer": "an integer", "decimal": "a decimal number",
                    "date": "a date (YYYY-MM-DD)"}[param.type]
        raise wrong(expected) from None


def parse_stored_query(path: Path) -> StoredQuery:
    text = path.read_text(encoding="utf-8")
    header: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _HEADER.match(line)
        if match:
            header.setdefault(match[1].lower(), []).append(match[2].strip())
        elif line.startswith("#+"):
            raise SetupError(f"{path.name}:{number}: header line not of the form '#+ key: value'")
    if "title" not in header:
        raise SetupError(f"{path.name}: no '#+ title:' line")
    params = []
    for raw in header.get("param", []):
        m = _PARAM.match(raw)
        if not m or m["type"] not in PARAM_TYPES:
            raise SetupError(f"{path.name}: bad parameter '{raw}' (want: name type [= default] [-- doc];"
                             f" types: {', '.join(PARAM_TYPES)})")
        params.append(Parameter(m["name"], m["type"], m["default"], (m["doc"] or "").strip()))
    tags = tuple(t.strip() for line in header.get("tags", []) for t in line.split(",") if t.strip())
    return StoredQuery(
        name=path.stem,
        title=" ".join(header["title"]),
        description=" ".join(header.get("description", [])),
        tags=tags,
        parameters=tuple(params),
        text=text,
        path=path,
    )


def load_catalogue(queries_dir: Path) -> dict[str, StoredQuery]:
    """Every stored query, by name (the file name without `.rq`), in name order; SetupError if one is bad."""
    return {q.name: q for q in (parse_stored_query(p) for p in sorted(queries_dir.glob("*.rq")))}


def current_catalogue(queries_dir: Path) -> dict[str, StoredQuery]:
    """The catalogue as the server shows it: re-read when a file in queries/ changes (curators add queries
    while it serves); a malformed file is logged and left out rather than taking the pages down."""
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(queries_dir.glob("*.rq")))
    return _tolerant_catalogue(queries_dir, stamp)


@lru_cache(maxsize=4)
def _tolerant_catalogue(queries_dir: Path, stamp: tuple[object, ...]) -> dict[str, StoredQuery]:
    catalogue = {}
    for path in sorted(queries_dir.glob("*.rq")):
        try:
            catalogue[path.stem] = parse_stored_query(path)
        except SetupError as error:
            log.error("stored query left out: %s", error)
    return catalogue

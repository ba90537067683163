"""The catalogue of stored queries: one `.rq` file each in queries/, with a `#+` header a curator edits.

Header format (grlc-style; the query below it stays plain SPARQL that runs as-is anywhere):

    #+ title: Countries that expelled Russian diplomats
    #+ description: One row per country ...        (may repeat: lines are joined)
    #+ tags: competency, expulsions
    #+ param: country iri = kg:germany -- the expelling country
    #+ param: text string -- words to look for     (no default: required)

A parameter names a variable of the query (`?country`); its value is bound by the engine as a typed RDF
term, never pasted into the text. Types: iri, string, integer, decimal, date, boolean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PARAM_TYPES = ("iri", "string", "integer", "decimal", "date", "boolean")
_HEADER = re.compile(r"^#\+\s*(\w+)\s*:\s*(.*)$")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s+(?P<type>\w+)(?:\s*=\s*(?P<default>\S+))?\s*(?:--\s*(?P<doc>.*))?$"
)


class CatalogueError(ValueError):
    """A stored query's header is malformed; the message names the file and the line."""


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


def parse_stored_query(path: Path) -> StoredQuery:
    text = path.read_text(encoding="utf-8")
    header: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _HEADER.match(line)
        if match:
            header.setdefault(match[1].lower(), []).append(match[2].strip())
        elif line.startswith("#+"):
            raise CatalogueError(f"{path.name}:{number}: header line not of the form '#+ key: value'")
    if "title" not in header:
        raise CatalogueError(f"{path.name}: no '#+ title:' line")
    params = []
    for raw in header.get("param", []):
        m = _PARAM.match(raw)
        if not m or m["type"] not in PARAM_TYPES:
            raise CatalogueError(f"{path.name}: bad parameter '{raw}' (want: name type [= default] [-- doc];"
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
    """Every stored query, by name (the file name without `.rq`), in name order."""
    return {q.name: q for q in (parse_stored_query(p) for p in sorted(queries_dir.glob("*.rq")))}

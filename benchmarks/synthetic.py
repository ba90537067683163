"""Synthetic data shaped like ours, at any size, for the endpoint benchmark.

    python benchmarks/synthetic.py --triples 100k --out /tmp/kg-100k

writes a data folder that `kg serve --data-dir` takes:

    OUT/ontology/*.ttl            the project's ontology (shapes.ttl left out, as server/data/store.py does)
    OUT/graph/*.ttl               the project's real graph, then graph/synthetic.ttl: made-up actors,
                                  actions, statements and passages using the ontology's classes and
                                  properties; their owl:sameAs links are appended to wikidata-links.ttl
    OUT/queries/*.rq              the project's stored queries, so the catalogue works as at home

The real graph stays in, and the made-up entities point at its actors and actions (Russia as the target
state, the March 2018 mass expulsion, NATO, Boris Johnson, the poisoning, dates around 27 March 2018), so
the competency queries find more rows as the graph grows instead of scanning for nothing.

The shape follows graph/*.ttl: states and international organisations with labels, alternative labels
and membership; persons holding positions; actions (mostly kgo:Expulsion) with agent, target state,
a number of people only some of the time (as in the article), status, date, `partOf` and `inResponseTo`
links; statements of the ontology's kinds with speaker, date, place, quote and/or paraphrase and what
they are about; and every action and statement `mentionedIn` passages that carry a W3C Web Annotation
TextQuoteSelector and TextPositionSelector (blank nodes, as in passages.ttl).

The folder holds exactly the requested number of triples (ontology and real graph included), so
`/health` reports it. Output is deterministic for a given size, seed and project state. Class and
property names are in VOCAB: one place to follow the ontology.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pyoxigraph as ox

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHAPES_FILE = "shapes.ttl"  # not loaded by server/data/store.py, so not copied here either
WIKIDATA_LINKS_FILE = "wikidata-links.ttl"  # loaded into the wikidata named graph
DEFAULT_BASE = "http://127.0.0.1:8000/"

PREFIXES = {
    "kg": "id/",
    "kgo": "ontology#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "schema": "http://schema.org/",
    "oa": "http://www.w3.org/ns/oa#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "wd": "http://www.wikidata.org/entity/",
}

# The ontology's terms (ontology/ontology.ttl), as prefixed names.
VOCAB = {
    "State": "kgo:State",
    "InternationalOrganization": "kgo:InternationalOrganization",
    "Person": "kgo:Person",
    "Position": "kgo:Position",
    "Publication": "kgo:Publication",
    "NewsArticle": "schema:NewsArticle",
    "SourceText": "kgo:SourceText",
    "Passage": "kgo:Passage",
    "QuoteSelector": "oa:TextQuoteSelector",
    "PositionSelector": "oa:TextPositionSelector",
    "label": "rdfs:label",
    "altLabel": "skos:altLabel",
    "sameAs": "owl:sameAs",
    "memberOf": "kgo:memberOf",
    "holdsPosition": "kgo:holdsPosition",
    "positionIn": "kgo:positionIn",
    "agent": "kgo:agent",
    "targetState": "kgo:targetState",
    "numberOfPeople": "kgo:numberOfPeople",
    "status": "kgo:status",
    "date": "kgo:date",
    "partOf": "kgo:partOf",
    "inResponseTo": "kgo:inResponseTo",
    "speaker": "kgo:speaker",
    "place": "kgo:place",
    "quote": "kgo:quote",
    "paraphrase": "kgo:paraphrase",
    "about": "kgo:about",
    "target": "kgo:target",
    "mentionedIn": "kgo:mentionedIn",
    "headline": "schema:headline",
    "publisher": "schema:publisher",
    "datePublished": "schema:datePublished",
    "isFormatOf": "dcterms:isFormatOf",
    "hasSource": "oa:hasSource",
    "hasSelector": "oa:hasSelector",
    "exact": "oa:exact",
    "prefix": "oa:prefix",
    "suffix": "oa:suffix",
    "start": "oa:start",
    "end": "oa:end",
}
# (class, weight): mostly expulsions, as in the article.
ACTION_CLASSES = (("kgo:Expulsion", 0.75), ("kgo:AccreditationDenial", 0.05), ("kgo:MissionDownsizing", 0.05),
                  ("kgo:ClosureOfDiplomaticPost", 0.05), ("kgo:Retaliation", 0.1))
STATEMENT_CLASSES = ("kgo:Statement", "kgo:Statement", "kgo:Accusation", "kgo:Denial", "kgo:Vow",
                     "kgo:Warning", "kgo:Assessment", "kgo:Praise", "kgo:Announcement", "kgo:ReportedClaim")
STATUSES = ("kgo:Announced", "kgo:Planned", "kgo:Ordered", "kgo:CarriedOut", "kgo:Vowed")
_WORD_TEXT = (
    "diplomats expelled embassy mission staff spy poisoning nerve agent consulate attack sovereignty "
    "response solidarity allies ministry foreign minister spokesman decision measures sanctions "
    "intelligence officers undeclared retaliation unacceptable reckless pattern behaviour closed "
    "accreditation withdrawn personnel reduced coordinated unprecedented condemned denied blamed"
)
WORDS = tuple(_WORD_TEXT.split())
# Real entities the synthetic ones point at, when the project's graph has them.
ANCHORS = {
    "russia": "states", "nato": "organisations", "european-union": "organisations",
    "boris-johnson": "persons", "jens-stoltenberg": "persons", "sergei-lavrov": "persons",
    "mass-expulsion-2018": "coordinated", "poisoning-of-sergei-and-yulia-skripal": "events",
    "article-text": "texts",
}

SUFFIXES = {"k": 1_000, "m": 1_000_000}


def parse_size(text: str) -> int:
    """'100k' -> 100000, '1m' -> 1000000, '2500' -> 2500."""
    text = text.strip().lower()
    if text and text[-1] in SUFFIXES:
        return int(float(text[:-1]) * SUFFIXES[text[-1]])
    return int(text)


def literal(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n").replace("\r", "\\r"))
    if lang:
        return f'"{escaped}"@{lang}'
    if datatype:
        return f'"{escaped}"^^{datatype}'
    return f'"{escaped}"'


def count(value: int) -> str:
    return literal(str(value), datatype="xsd:nonNegativeInteger")


Triple = tuple[str, str, str]


@dataclass
class Pools:
    """Entities that blocks point at: the real graph's first, then those already written."""

    states: list[str] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    coordinated: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)
    anchors: dict[str, str] = field(default_factory=dict)  # real entity by local name


_LOCAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def real_pools(store: ox.Store, base_iri: str) -> Pools:
    """The real graph's actors and actions, as kg: names, for synthetic entities to point at."""
    pools = Pools()
    kg, kgo = base_iri + "id/", base_iri + "ontology#"

    def names(cls: str) -> list[str]:
        rows = store.query(f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s a <{cls}> }} }} ORDER BY ?s")
        found = []
        for row in rows:  # type: ignore[union-attr]
            iri = row[0].value
            local = iri.removeprefix(kg)
            if iri.startswith(kg) and _LOCAL.match(local):
                found.append(f"kg:{local}")
        return found

    pools.states = names(kgo + "State")
    pools.organisations = names(kgo + "InternationalOrganization")
    pools.persons = names(kgo + "Person")
    pools.actions = names(kgo + "Expulsion")
    pools.coordinated = names(kgo + "CoordinatedAction")
    pools.events = names(kgo + "Attack")
    pools.texts = names(kgo + "SourceText")
    for local, pool in ANCHORS.items():
        if f"kg:{local}" in getattr(pools, pool):
            pools.anchors[local] = f"kg:{local}"
    return pools


class Generator:
    """Yields blocks of triples (one entity with its links and provenance each) in a realistic mix."""

    def __init__(self, seed: int, pools: Pools) -> None:
        self.rng = random.Random(seed)
        self.pools = pools
        self.real = Pools(**{k: list(v) if isinstance(v, list) else dict(v) for k, v in vars(pools).items()})
        self.serial = 0

    def _new(self, kind: str) -> str:
        self.serial += 1
        return f"kg:synthetic-{kind}-{self.serial}"

    def _words(self, low: int, high: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(low, high)))

    def _pick(self, pool: str, anchor: str | None = None, anchor_share: float = 0.0) -> str | None:
        """Mostly any entity of the pool; with anchor_share, the named real one (e.g. kg:russia)."""
        if anchor and anchor in self.pools.anchors and self.rng.random() < anchor_share:
            return self.pools.anchors[anchor]
        entities: list[str] = getattr(self.pools, pool)
        return self.rng.choice(entities) if entities else None

    def _date(self) -> str:
        if self.rng.random() < 0.5:  # clustered around the article's days, like the real graph
            day = f"2018-03-{self.rng.randint(1, 31):02d}"
        else:
            rng = self.rng
            day = f"{rng.randint(2010, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return literal(day, datatype="xsd:date")

    def state(self) -> list[Triple]:
        s = self._new("state")
        self.pools.states.append(s)
        triples = [(s, "rdf:type", VOCAB["State"]),
                   (s, VOCAB["label"], literal(f"State {self.serial}", "en")),
                   (s, VOCAB["sameAs"], f"wd:Q{900_000_000 + self.serial}")]
        organisation = self._pick("organisations", "european-union", 0.5)
        if organisation and self.rng.random() < 0.6:
            triples.append((s, VOCAB["memberOf"], organisation))
        return triples

    def organisation(self) -> list[Triple]:
        o = self._new("organization")
        self.pools.organisations.append(o)
        return [(o, "rdf:type", VOCAB["InternationalOrganization"]),
                (o, VOCAB["label"], literal(f"Organization {self.serial}", "en")),
                (o, VOCAB["altLabel"], literal(f"ORG{self.serial}", "en")),
                (o, VOCAB["sameAs"], f"wd:Q{900_000_000 + self.serial}")]

    def person(self) -> list[Triple]:
        p, position = self._new("person"), self._new("position")
        self.pools.persons.append(p)
        employer = self._pick("states") or self._pick("organisations") or "kg:synthetic-nowhere"
        return [(p, "rdf:type", VOCAB["Person"]), (p, VOCAB["label"], literal(f"Person {self.serial}", "en")),
                (p, VOCAB["holdsPosition"], position),
                (position, "rdf:type", VOCAB["Position"]),
                (position, VOCAB["label"], literal(f"Minister {self.serial}", "en")),
                (position, VOCAB["altLabel"], literal(f"Minister number {self.serial}", "en")),
                (position, VOCAB["positionIn"], employer)]

    def article(self) -> list[Triple]:
        a, text = self._new("article"), self._new("article-text")
        self.pools.texts.append(text)
        headline = literal(self._words(5, 10).capitalize(), "en")
        triples = [(a, "rdf:type", VOCAB["NewsArticle"]), (a, "rdf:type", VOCAB["Publication"]),
                   (a, VOCAB["label"], headline), (a, VOCAB["headline"], headline),
                   (a, VOCAB["datePublished"], self._date()),
                   (text, "rdf:type", VOCAB["SourceText"]),
                   (text, VOCAB["label"], literal(f"Text of article {self.serial}", "en")),
                   (text, VOCAB["isFormatOf"], a)]
        publisher = self._pick("organisations")
        if publisher:
            triples.append((a, VOCAB["publisher"], publisher))
        return triples

    def _passage(self) -> tuple[str, list[Triple]]:
        p = self._new("passage")
        quote, position = f"_:q{self.serial}", f"_:p{self.serial}"
        self.pools.passages.append(p)
        start = self.rng.randint(0, 20_000)
        exact = self._words(6, 30).capitalize() + "."
        return p, [(p, "rdf:type", VOCAB["Passage"]),
                   (p, VOCAB["label"], literal(f"Sentence {self.serial}", "en")),
                   (p, VOCAB["hasSource"], self._pick("texts", "article-text", 0.2) or "kg:synthetic-text"),
                   (p, VOCAB["hasSelector"], quote), (p, VOCAB["hasSelector"], position),
                   (quote, "rdf:type", VOCAB["QuoteSelector"]), (quote, VOCAB["exact"], literal(exact)),
                   (quote, VOCAB["prefix"], literal(self._words(3, 5) + " ")),
                   (quote, VOCAB["suffix"], literal(" " + self._words(3, 5))),
                   (position, "rdf:type", VOCAB["PositionSelector"]),
                   (position, VOCAB["start"], count(start)),
                   (position, VOCAB["end"], count(start + len(exact)))]

    def _mentions(self, subject: str) -> list[Triple]:
        """A new passage, and sometimes one or two recent ones (a fact the article repeats)."""
        passage, triples = self._passage()
        triples.append((subject, VOCAB["mentionedIn"], passage))
        recent = self.pools.passages[-20:-1]
        for other in self.rng.sample(recent, min(len(recent), self.rng.choice((0, 0, 1, 2)))):
            triples.append((subject, VOCAB["mentionedIn"], other))
        return triples

    def action(self) -> list[Triple]:
        rng = self.rng
        cls = rng.choices([c for c, _ in ACTION_CLASSES], [w for _, w in ACTION_CLASSES])[0]
        a = self._new("action")
        agent = self._pick("states", "nato", 0.05) or self._pick("organisations") or "kg:synthetic-nobody"
        triples = [(a, "rdf:type", cls), (a, VOCAB["label"], literal(f"Action {self.serial}", "en")),
                   (a, VOCAB["agent"], agent),
                   (a, VOCAB["status"], rng.choice(STATUSES))]
        target = self._pick("states", "russia", 0.8)
        if target and target != agent:
            triples.append((a, VOCAB["targetState"], target))
        if rng.random() < 0.7:  # the article gives no number for some expulsions: then there is none
            triples.append((a, VOCAB["numberOfPeople"], count(rng.randint(1, 60))))
        if rng.random() < 0.8:
            triples.append((a, VOCAB["date"], self._date()))
        whole = self._pick("coordinated", "mass-expulsion-2018", 0.9)
        if whole and rng.random() < 0.3:
            triples.append((a, VOCAB["partOf"], whole))
        cause = self._pick("events", "poisoning-of-sergei-and-yulia-skripal", 0.5) if rng.random() < 0.3 \
            else self._pick("actions")
        if cause and rng.random() < 0.6:
            triples.append((a, VOCAB["inResponseTo"], cause))
        self.pools.actions.append(a)
        return triples + self._mentions(a)

    def statement(self) -> list[Triple]:
        rng = self.rng
        s = self._new("statement")
        speaker = self._pick("persons", "boris-johnson", 0.05) or "kg:synthetic-nobody"
        triples = [(s, "rdf:type", rng.choice(STATEMENT_CLASSES)),
                   (s, VOCAB["label"], literal(f"Statement {self.serial}", "en")),
                   (s, VOCAB["speaker"], speaker)]
        kinds = rng.choice(((VOCAB["quote"],), (VOCAB["paraphrase"],), (VOCAB["quote"], VOCAB["paraphrase"])))
        triples += [(s, kind, literal(self._words(8, 30).capitalize() + ".", "en")) for kind in kinds]
        if rng.random() < 0.7:
            triples.append((s, VOCAB["date"], self._date()))
        place = self._pick("states")
        if place and rng.random() < 0.3:
            triples.append((s, VOCAB["place"], place))
        subjects = {x for x in (self._pick("actions"),
                                self._pick("events", "poisoning-of-sergei-and-yulia-skripal", 0.8),
                                self._pick("states", "russia", 0.5)) if x and rng.random() < 0.6}
        triples += [(s, VOCAB["about"], x) for x in sorted(subjects)]
        blamed = self._pick("states", "russia", 0.7)
        if blamed and rng.random() < 0.2:
            triples.append((s, VOCAB["target"], blamed))
        return triples + self._mentions(s)

    def blocks(self) -> Iterator[list[Triple]]:
        """An endless, seeded mix: mostly actions and statements, with actors and articles among them."""
        yield self.organisation()
        yield self.state()
        yield self.article()
        while True:
            roll = self.rng.random()
            if roll < 0.02 and len(self.pools.states) < 250:
                yield self.state()
            elif roll < 0.03:
                yield self.organisation()
            elif roll < 0.05:
                yield self.article()
            elif roll < 0.12:
                yield self.person()
            elif roll < 0.55:
                yield self.action()
            else:
                yield self.statement() if self.pools.persons else self.person()

    def filler(self, index: int) -> Triple:
        """A one-triple fact to reach the exact size: an alternative label of a synthetic actor."""
        actors = [a for a in self.pools.states + self.pools.organisations + self.pools.persons
                  if a.startswith("kg:synthetic-")]
        return (actors[index % len(actors)], VOCAB["altLabel"], literal(f"alias {index}", "en"))


MAX_BLOCK = 40  # no block is larger than this many triples


def source_files(data_dir: Path) -> list[Path]:
    """The Turtle files server/data/store.py loads: ontology/*.ttl but shapes.ttl, and graph/*.ttl."""
    ontology = [p for p in sorted((data_dir / "ontology").glob("*.ttl")) if p.name != SHAPES_FILE]
    return ontology + sorted((data_dir / "graph").glob("*.ttl"))


def named_graph(path: Path) -> str:
    """The named graph server/data/store.py loads a file into: ontology, wikidata or article."""
    if path.parent.name == "ontology":
        return "ontology"
    return "wikidata" if path.name == WIKIDATA_LINKS_FILE else "article"


def load_real(paths: list[Path], base_iri: str) -> ox.Store:
    """The files in the named graphs our server puts them in, so the quads count as there."""
    store = ox.Store()
    for path in paths:
        store.load(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=base_iri,
                   to_graph=ox.NamedNode(f"{base_iri}graph/{named_graph(path)}"))
    return store


def generate(out: Path, triples: int, *, source: Path = PROJECT_ROOT, seed: int = 1,
             base_iri: str = DEFAULT_BASE) -> int:
    """Write a data folder of exactly `triples` triples; return how many of them the project's files hold."""
    for folder in ("ontology", "graph", "queries"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    real_files = source_files(source)
    for path in real_files:
        shutil.copyfile(path, out / path.parent.name / path.name)
    for path in sorted((source / "queries").glob("*.rq")):
        shutil.copyfile(path, out / "queries" / path.name)
    real = load_real(real_files, base_iri)
    real_triples = len(real)
    budget = triples - real_triples
    if budget < 100:
        raise ValueError(f"{triples} triples leave no room beside the project's own {real_triples}")

    generator = Generator(seed, real_pools(real, base_iri))
    data: list[Triple] = []
    links: list[Triple] = []
    written = 0
    for block in generator.blocks():
        if budget - written < MAX_BLOCK:
            break
        for triple in block:
            (links if triple[1] == VOCAB["sameAs"] else data).append(triple)
        written += len(block)
    data.extend(generator.filler(i) for i in range(budget - written))

    header = "# Synthetic data for the endpoint benchmark (benchmarks/synthetic.py): made up, not facts.\n"
    with (out / "graph" / "synthetic.ttl").open("w", encoding="utf-8") as f:
        _write(f, header, data)
    with (out / "graph" / WIKIDATA_LINKS_FILE).open("a", encoding="utf-8") as f:
        _write(f, "\n" + header, links)
    return real_triples


def _write(f: TextIO, header: str, triples: list[Triple]) -> None:
    f.write(header)
    f.write("".join(f"@prefix {name}: <{iri}> .\n" for name, iri in PREFIXES.items()))
    f.write("\n")
    f.writelines(f"{s} {p} {o} .\n" for s, p, o in triples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", required=True, help="dataset size, e.g. 100k, 1m, 25000")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", type=Path, default=PROJECT_ROOT,
                        help="project folder whose ontology/, graph/ and queries/ are the starting point")
    parser.add_argument("--base-iri", default=DEFAULT_BASE, help="base IRI the Turtle files are read with")
    args = parser.parse_args(argv)
    size = parse_size(args.triples)
    real = generate(args.out, size, source=args.source, seed=args.seed, base_iri=args.base_iri)
    print(f"wrote {size} triples ({real} of them the project's own) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Synthetic data shaped like ours, at any size, for the endpoint benchmark.

    python benchmarks/synthetic.py --triples 100k --out /tmp/kg-100k

writes a data folder that `kg serve --data-dir` takes:

    OUT/ontology/*.ttl          copied from the project (shapes.ttl left out, as the loader does)
    OUT/graph/synthetic.ttl     articles, actors, actions, statements, mentions with their selectors
    OUT/graph/wikidata-links.ttl  owl:sameAs links of the actors to (made-up) Wikidata items
    OUT/queries/*.rq            copied from the project, so the stored-query catalogue works

The dataset holds exactly the requested number of triples, ontology included, so `/health` reports it.
The shape follows the knowledge graph of the article: states and organisations that expel diplomats
(with a count only some of the time, like the article), statements by persons with verbatim quotes, the
actions they are about, `in response to` links between actions, and for every action and statement a
mention in an article with a W3C Web Annotation TextQuoteSelector and TextPositionSelector. Every IRI is
relative to the base IRI (`<id/>`, `<ontology#>`), as in graph/*.ttl; no blank nodes, so counting
triples is exact. Output is deterministic for a given size and seed.

The class and property names are in VOCAB below: one place to follow the ontology as it grows.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHAPES_FILE = "shapes.ttl"  # not loaded by server/store.py, so not copied here either

PREFIXES = {
    "kg": "id/",
    "kgo": "ontology#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "schema": "http://schema.org/",
    "prov": "http://www.w3.org/ns/prov#",
    "oa": "http://www.w3.org/ns/oa#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "wd": "http://www.wikidata.org/entity/",
}

# Our ontology's terms as prefixed names (kgo: is <base>ontology#).
VOCAB = {
    # classes
    "State": "kgo:State",
    "Organisation": "kgo:InternationalOrganisation",
    "Person": "kgo:Person",
    "Position": "kgo:Position",
    "Expulsion": "kgo:Expulsion",
    "Statement": "kgo:Statement",
    "Article": "schema:NewsArticle",
    "Mention": "oa:SpecificResource",
    "QuoteSelector": "oa:TextQuoteSelector",
    "PositionSelector": "oa:TextPositionSelector",
    # actors
    "label": "rdfs:label",
    "altLabel": "skos:altLabel",
    "sameAs": "owl:sameAs",
    "holdsPosition": "kgo:holdsPosition",
    "positionIn": "kgo:positionIn",
    # actions
    "agent": "kgo:agent",
    "targetState": "kgo:targetState",
    "count": "kgo:numberExpelled",
    "date": "kgo:date",
    "status": "kgo:status",
    "inResponseTo": "kgo:inResponseTo",
    # statements
    "speaker": "kgo:speaker",
    "quote": "kgo:quotation",
    "paraphrase": "kgo:paraphrase",
    "about": "kgo:about",
    "statementKind": "kgo:statementKind",
    # provenance
    "mentionedIn": "kgo:mention",
    "hasSource": "oa:hasSource",
    "hasSelector": "oa:hasSelector",
    "exact": "oa:exact",
    "prefix": "oa:prefix",
    "suffix": "oa:suffix",
    "start": "oa:start",
    "end": "oa:end",
    # articles
    "headline": "schema:headline",
    "datePublished": "schema:datePublished",
    "publisher": "schema:publisher",
}

STATUSES = ("announced", "planned", "ordered", "carriedOut", "vowed", "denied")
STATEMENT_KINDS = ("accusation", "denial", "vow", "assessment", "praise")
_WORD_TEXT = (
    "diplomats expelled embassy mission staff spy poisoning nerve agent consulate attack sovereignty "
    "response solidarity allies ministry foreign minister spokesman decision measures sanctions "
    "intelligence officers undeclared retaliation unacceptable reckless pattern behaviour closed "
    "accreditation withdrawn personnel reduced coordinated unprecedented condemned denied blamed"
)
WORDS = tuple(_WORD_TEXT.split())

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


def integer(value: int) -> str:
    return literal(str(value), datatype="xsd:integer")


def date(rng: random.Random) -> str:
    return literal(f"{rng.randint(2010, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                   datatype="xsd:date")


Triple = tuple[str, str, str]


@dataclass
class _Pools:
    """Entities already written, for later blocks to point at."""

    states: list[str]
    organisations: list[str]
    persons: list[str]
    articles: list[str]
    actions: list[str]


class Generator:
    """Yields blocks of triples (one entity with its provenance each) in a realistic mix."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pools = _Pools([], [], [], [], [])
        self.serial = 0

    def _new(self, kind: str) -> str:
        self.serial += 1
        return f"kg:{kind}-{self.serial}"

    def _words(self, low: int, high: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(low, high)))

    def state(self) -> list[Triple]:
        s = self._new("state")
        self.pools.states.append(s)
        n = len(self.pools.states)
        return [(s, "rdf:type", VOCAB["State"]), (s, VOCAB["label"], literal(f"State {n}", "en")),
                (s, VOCAB["sameAs"], f"wd:Q{100_000 + self.serial}")]

    def organisation(self) -> list[Triple]:
        o = self._new("organisation")
        self.pools.organisations.append(o)
        return [(o, "rdf:type", VOCAB["Organisation"]),
                (o, VOCAB["label"], literal(f"Organisation {len(self.pools.organisations)}", "en")),
                (o, VOCAB["altLabel"], literal(f"ORG{len(self.pools.organisations)}", "en")),
                (o, VOCAB["sameAs"], f"wd:Q{100_000 + self.serial}")]

    def person(self) -> list[Triple]:
        p, position = self._new("person"), self._new("position")
        self.pools.persons.append(p)
        employer = self.rng.choice(self.pools.states + self.pools.organisations)
        return [(p, "rdf:type", VOCAB["Person"]),
                (p, VOCAB["label"], literal(f"Person {len(self.pools.persons)}", "en")),
                (p, VOCAB["holdsPosition"], position),
                (position, "rdf:type", VOCAB["Position"]),
                (position, VOCAB["label"], literal(f"Minister {self.serial}", "en")),
                (position, VOCAB["positionIn"], employer)]

    def article(self) -> list[Triple]:
        a = self._new("article")
        self.pools.articles.append(a)
        headline = literal(self._words(5, 10).capitalize(), "en")
        return [(a, "rdf:type", VOCAB["Article"]), (a, VOCAB["label"], headline),
                (a, VOCAB["headline"], headline), (a, VOCAB["datePublished"], date(self.rng)),
                (a, VOCAB["publisher"], self.rng.choice(self.pools.organisations))]

    def _mention(self, subject: str) -> list[Triple]:
        m = self._new("mention")
        qs, ps = f"{m}-quote", f"{m}-position"
        start = self.rng.randint(0, 20_000)
        exact = self._words(4, 12)
        return [(subject, VOCAB["mentionedIn"], m), (m, "rdf:type", VOCAB["Mention"]),
                (m, VOCAB["hasSource"], self.rng.choice(self.pools.articles)),
                (m, VOCAB["hasSelector"], qs), (m, VOCAB["hasSelector"], ps),
                (qs, "rdf:type", VOCAB["QuoteSelector"]), (qs, VOCAB["exact"], literal(exact)),
                (qs, VOCAB["prefix"], literal(self._words(2, 3) + " ")),
                (qs, VOCAB["suffix"], literal(" " + self._words(2, 3))),
                (ps, "rdf:type", VOCAB["PositionSelector"]), (ps, VOCAB["start"], integer(start)),
                (ps, VOCAB["end"], integer(start + len(exact)))]

    def expulsion(self) -> list[Triple]:
        e = self._new("expulsion")
        rng = self.rng
        triples = [(e, "rdf:type", VOCAB["Expulsion"]),
                   (e, VOCAB["label"], literal(f"Expulsion {self.serial}", "en")),
                   (e, VOCAB["agent"], rng.choice(self.pools.states + self.pools.organisations)),
                   (e, VOCAB["targetState"], self.pools.states[0]),
                   (e, VOCAB["date"], date(rng)),
                   (e, VOCAB["status"], f"kgo:{rng.choice(STATUSES)}")]
        if rng.random() < 0.7:  # the article gives no number for some expulsions: then there is none
            triples.append((e, VOCAB["count"], integer(rng.randint(1, 60))))
        if self.pools.actions and rng.random() < 0.5:
            triples.append((e, VOCAB["inResponseTo"], rng.choice(self.pools.actions)))
        self.pools.actions.append(e)
        return triples + self._mention(e)

    def statement(self) -> list[Triple]:
        s = self._new("statement")
        rng = self.rng
        text = self._words(8, 30).capitalize() + "."
        triples = [(s, "rdf:type", VOCAB["Statement"]),
                   (s, VOCAB["speaker"], rng.choice(self.pools.persons)),
                   (s, VOCAB["quote"] if rng.random() < 0.6 else VOCAB["paraphrase"], literal(text, "en")),
                   (s, VOCAB["date"], date(rng)),
                   (s, VOCAB["statementKind"], f"kgo:{rng.choice(STATEMENT_KINDS)}")]
        if self.pools.actions:
            triples.append((s, VOCAB["about"], rng.choice(self.pools.actions)))
        return triples + self._mention(s)

    def blocks(self) -> Iterator[list[Triple]]:
        """An endless, seeded mix: a few actors and articles first, then mostly actions and statements."""
        yield self.state()  # state-1 is the state every expulsion targets (Russia, in the article)
        yield self.organisation()
        yield self.article()
        while True:
            roll = self.rng.random()
            if roll < 0.02 and len(self.pools.states) < 200:
                yield self.state()
            elif roll < 0.03:
                yield self.organisation()
            elif roll < 0.06:
                yield self.article()
            elif roll < 0.16:
                yield self.person()
            elif roll < 0.55:
                yield self.expulsion()
            else:
                yield self.statement() if self.pools.persons else self.person()

    def filler(self, index: int) -> Triple:
        """A one-triple fact to reach the exact size: an alternative label of an actor."""
        actors = self.pools.states + self.pools.organisations + self.pools.persons
        return (actors[index % len(actors)], VOCAB["altLabel"], literal(f"alias {index}", "en"))


MAX_BLOCK = 30  # no block is larger than this many triples


def ontology_files(data_dir: Path) -> list[Path]:
    return [p for p in sorted((data_dir / "ontology").glob("*.ttl")) if p.name != SHAPES_FILE]


def count_triples(path: Path, base_iri: str) -> int:
    return sum(1 for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=base_iri))


def _prefix_lines() -> str:
    return "".join(f"@prefix {name}: <{iri}> .\n" for name, iri in PREFIXES.items())


def generate(out: Path, triples: int, *, source: Path = PROJECT_ROOT, seed: int = 1,
             base_iri: str = "http://127.0.0.1:8000/") -> int:
    """Write a data folder of exactly `triples` triples (ontology included); return the ontology's share."""
    (out / "ontology").mkdir(parents=True, exist_ok=True)
    (out / "graph").mkdir(parents=True, exist_ok=True)
    (out / "queries").mkdir(parents=True, exist_ok=True)
    ontology_triples = 0
    for path in ontology_files(source):
        shutil.copyfile(path, out / "ontology" / path.name)
        ontology_triples += count_triples(path, base_iri)
    for path in sorted((source / "queries").glob("*.rq")):
        shutil.copyfile(path, out / "queries" / path.name)
    budget = triples - ontology_triples
    if budget < 100:
        raise ValueError(f"{triples} triples leave no room for data beside the ontology's {ontology_triples}")

    generator = Generator(seed)
    data, links = [], []
    written = 0
    for block in generator.blocks():
        if budget - written < MAX_BLOCK:
            break
        for triple in block:
            (links if triple[1] == VOCAB["sameAs"] else data).append(triple)
        written += len(block)
    data.extend(generator.filler(i) for i in range(budget - written))

    header = "# Synthetic data for the endpoint benchmark (benchmarks/synthetic.py); not facts.\n"
    _write(out / "graph" / "synthetic.ttl", header, data)
    _write(out / "graph" / "wikidata-links.ttl", header, links)
    return ontology_triples


def _write(path: Path, header: str, triples: list[Triple]) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(header)
        f.write(_prefix_lines())
        f.write("\n")
        f.writelines(f"{s} {p} {o} .\n" for s, p, o in triples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", required=True, help="dataset size, e.g. 100k, 1m, 25000")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", type=Path, default=PROJECT_ROOT,
                        help="project folder whose ontology/ and queries/ are copied")
    args = parser.parse_args(argv)
    size = parse_size(args.triples)
    ontology = generate(args.out, size, source=args.source, seed=args.seed)
    print(f"wrote {size} triples ({ontology} from the ontology) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

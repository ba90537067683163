"""The one loader: Turtle files on disk become named graphs in rdflib on the Oxigraph store.

Which file goes to which named graph is decided here, by folder:
  ontology/*.ttl (except shapes.ttl)  -> <base>graph/ontology
  graph/wikidata-links.ttl            -> <base>graph/wikidata
  graph/*.ttl (the rest)              -> <base>graph/article
The files write IRIs relative to the base (e.g. `@prefix : <id/> .`), so the configured base IRI
decides the IRIs the graph mints. Queries see the union of the named graphs as their default graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, URIRef

from nato_kg.settings import Settings

SHAPES_FILE = "shapes.ttl"
WIKIDATA_LINKS_FILE = "wikidata-links.ttl"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    graph: str  # short name of the named graph: article, ontology or wikidata


def source_files(data_dir: Path) -> list[SourceFile]:
    """The Turtle files that make up the dataset, in a stable order."""
    files = [SourceFile(p, "ontology") for p in sorted((data_dir / "ontology").glob("*.ttl"))
             if p.name != SHAPES_FILE]
    for p in sorted((data_dir / "graph").glob("*.ttl")):
        files.append(SourceFile(p, "wikidata" if p.name == WIKIDATA_LINKS_FILE else "article"))
    return files


def graph_names(data_dir: Path) -> list[str]:
    """The short names of the named graphs the files make (article, ontology, wikidata)."""
    return sorted({source.graph for source in source_files(data_dir)})


def load_dataset(settings: Settings) -> Dataset:
    """Parse every source file natively (oxrdflib's ox-turtle) into an in-memory Oxigraph store."""
    dataset = Dataset(store="Oxigraph", default_union=True)
    for source in source_files(settings.data_dir):
        graph = dataset.graph(URIRef(settings.graph_iri(source.graph)))
        graph.parse(source.path, format="ox-turtle", publicID=settings.base_iri)
    return dataset


def native_store(dataset: Dataset) -> ox.Store:
    """The pyoxigraph store under the rdflib Dataset, for native query evaluation and serialisation."""
    return dataset.store._inner  # oxrdflib exposes no public accessor

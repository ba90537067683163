"""The one loader: Turtle files on disk become named graphs in rdflib on the Oxigraph store.

Which file goes to which named graph is decided here, by folder:
  ontology/*.ttl (except shapes.ttl)  -> <base>graph/ontology
  graph/wikidata-links.ttl            -> <base>graph/wikidata
  graph/*.ttl (the rest)              -> <base>graph/article
The files write IRIs relative to the base (e.g. `@prefix : <id/> .`), so the configured base IRI
decides the IRIs the graph mints. Queries see the union of the named graphs as their default graph.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, URIRef

from nato_kg.errors import SetupError
from nato_kg.settings import Settings

SHAPES_FILE = "shapes.ttl"
WIKIDATA_LINKS_FILE = "wikidata-links.ttl"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    graph: str  # short name of the named graph: article, ontology or wikidata


def source_files(data_dir: Path) -> list[SourceFile]:
    """The Turtle files that make up the dataset, in a stable order. Each is a regular file (after links): a
    FIFO, device or folder named *.ttl is refused without being opened (reading a FIFO waits for ever)."""
    files = [SourceFile(p, "ontology") for p in sorted((data_dir / "ontology").glob("*.ttl"))
             if p.name != SHAPES_FILE]
    for p in sorted((data_dir / "graph").glob("*.ttl")):
        files.append(SourceFile(p, "wikidata" if p.name == WIKIDATA_LINKS_FILE else "article"))
    for source in files:
        try:
            mode = source.path.stat().st_mode  # follows links: a broken one raises
        except FileNotFoundError:
            if not source.path.is_symlink():  # removed since it was listed (an editor saving it)
                raise SetupError(f"{source.path} disappeared while the data was being read") from None
            raise SetupError(f"{source.path} is a broken symbolic link (to {os.readlink(source.path)}); "
                             "point it at a Turtle file or remove it") from None
        except OSError as error:
            raise SetupError(f"{source.path} cannot be read: {error.strerror}") from None
        if not stat.S_ISREG(mode):
            raise SetupError(f"{source.path} is not a regular file ({_file_kind(mode)}); it was not opened: "
                             "replace it with a Turtle file or remove it")
    return files


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a file"


def check_sources(settings: Settings) -> list[SourceFile]:
    """Everything start-up needs from the files, checked before any process loads them: graph/ holds Turtle
    (unless allow_empty_graph), every file is a regular, readable file that parses. Raises SetupError."""
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        raise SetupError(f"the data folder {data_dir} does not exist; give --data-dir the folder that holds "
                         "graph/ and ontology/")
    files = source_files(data_dir)
    if not settings.allow_empty_graph:
        graph_dir = data_dir / "graph"
        if not graph_dir.is_dir():
            raise SetupError(f"{graph_dir} does not exist, so there is no data to serve; give --data-dir the "
                             "folder that holds graph/ (or --allow-empty-graph to serve none)")
        if not any(source.graph != "ontology" for source in files):
            raise SetupError(f"{graph_dir} holds no .ttl file, so there is no data to serve; add the Turtle "
                             "files (or --allow-empty-graph to serve none)")
    for source in files:
        try:
            for _ in ox.parse(path=str(source.path), format=ox.RdfFormat.TURTLE, base_iri=settings.base_iri):
                pass
        except SyntaxError as error:
            raise SetupError(f"{source.path}:{error.lineno}:{error.offset}: not valid Turtle: {error.msg}; "
                             "fix the file (`kg validate` checks them all)") from None
        except OSError as error:
            raise SetupError(f"{source.path} cannot be read ({error.strerror or error}); check the file and "
                             "its permissions") from None
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

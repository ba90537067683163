"""The benchmark's synthetic-data generator writes valid Turtle holding exactly the requested triples."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from rdflib import Dataset, URIRef

from nato_kg.settings import PROJECT_ROOT

BASE = "http://127.0.0.1:8000/"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synthetic", PROJECT_ROOT / "benchmarks" / "synthetic.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", [5_000, 5_321])
def test_generator_writes_exactly_the_requested_triples(tmp_path: Path, size: int) -> None:
    synthetic = _generator()
    out = tmp_path / "data"
    synthetic.generate(out, size, base_iri=BASE)
    dataset = Dataset()
    for path in synthetic.source_files(out):
        # rdflib's own Turtle parser, independent of the Oxigraph one the generator counts with;
        # the files go into the named graphs server/data/store.py puts them in
        graph = dataset.graph(URIRef(f"{BASE}graph/{synthetic.named_graph(path)}"))
        graph.parse(path, format="turtle", publicID=BASE)
    assert sum(len(g) for g in dataset.graphs() if g.identifier != dataset.default_graph.identifier) == size
    assert (out / "graph" / "synthetic.ttl").read_text(encoding="utf-8").startswith("# Synthetic")


def test_sizes_parse() -> None:
    synthetic = _generator()
    assert synthetic.parse_size("100k") == 100_000
    assert synthetic.parse_size("1m") == 1_000_000
    assert synthetic.parse_size("2500") == 2_500

"""`--backend URL`: answer queries from another SPARQL 1.1 server (Fuseki, Virtuoso, QLever, Oxigraph, ...).

The query is checked by the same policy as always, then sent with the SPARQL 1.1 Protocol. The dataset's three
named graphs are named in `default-graph-uri` (their merge is the union default graph our own store gives)
and in `named-graph-uri`, so no server-side union setting is needed. A `BASE` line makes the relative IRIs the
catalogue writes (`kg: <id/>`) resolve to this dataset's IRIs there too. `kg load` puts the graphs there with
the Graph Store Protocol.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

from nato_kg import formats
from nato_kg.data.store import graph_names, load_dataset, native_store
from nato_kg.engine.federation import user_agent
from nato_kg.engine.messages import Answer, QueryRequest
from nato_kg.engine.order_by import total_order
from nato_kg.errors import Problem
from nato_kg.settings import Settings


class RemoteEndpoint:
    """A QueryBackend (server/engine/messages.py) that stands where the query-process pool stands in QueryService."""

    def __init__(self, settings: Settings) -> None:
        assert settings.backend_url
        self.url = settings.backend_url
        self.settings = settings
        self.graphs = [settings.graph_iri(name) for name in graph_names(settings.data_dir)]
        self._lock = threading.Lock()
        self.requests = self.failures = 0

    def run(self, request: QueryRequest, timeout_s: float) -> Answer:
        query = request.text
        if self.settings.order_by_rewrite:  # the backend may be an Oxigraph with the same comparator
            query = total_order(query)
        default, named = request.default_graphs, request.named_graphs
        if default is None and request.union:
            default, named = tuple(self.graphs), tuple(self.graphs)
        fields: list[tuple[str, str]] = [("query", f"BASE <{request.base_iri}>\n{query}")]
        fields += [("default-graph-uri", g) for g in default or ()]
        fields += [("named-graph-uri", g) for g in named or ()]
        wanted = formats.FORMATS[request.fmt].media_type
        http = urllib.request.Request(
            self.url, data=urllib.parse.urlencode(fields).encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": wanted,
                     "User-Agent": user_agent(self.settings)})
        with self._lock:
            self.requests += 1
        try:
            with urllib.request.urlopen(http, timeout=timeout_s) as response:
                body = response.read(self.settings.max_result_mb * 1024 * 1024 + 1)
                got = response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            detail = error.read(2000).decode("utf-8", "replace").strip()
            status = error.code if 400 <= error.code < 500 else 502
            raise self._failed(status, f"the backend {self.url} answered {error.code}: {detail}") from None
        except TimeoutError:
            raise self._failed(504, f"the backend {self.url} did not answer within the {timeout_s:g} s limit") from None
        except (urllib.error.URLError, OSError) as error:
            raise self._failed(502, f"the backend {self.url} cannot be reached: {error}") from None
        if len(body) > self.settings.max_result_mb * 1024 * 1024:
            raise self._failed(503, f"the answer is larger than the {self.settings.max_result_mb} MB limit")
        if got != wanted:
            raise self._failed(502, f"the backend {self.url} answered {got} instead of {wanted}")
        return Answer(body)

    def _failed(self, status: int, message: str) -> Problem:
        with self._lock:
            self.failures += 1
        return Problem(status, message)

    def state(self) -> dict[str, Any]:
        return {"backend": self.url, "requests": self.requests, "failures": self.failures}

    def close(self) -> None:
        pass


def graph_store_url(backend_url: str) -> str:
    """The Graph Store Protocol address that goes with a query endpoint, for the servers whose layout we know."""
    for query_path, store_path in (("/query", "/store"), ("/sparql", "/data")):  # Oxigraph, Fuseki
        if backend_url.rstrip("/").endswith(query_path):
            return backend_url.rstrip("/").removesuffix(query_path) + store_path
    raise ValueError(f"cannot tell the Graph Store address of {backend_url}; give it with --graph-store")


def push(settings: Settings, graph_store: str) -> Iterable[tuple[str, int]]:
    """PUT each named graph of the dataset to the Graph Store (replacing what was there): (graph, triples)."""
    import pyoxigraph as ox

    store = native_store(load_dataset(settings))
    for name in graph_names(settings.data_dir):
        iri = settings.graph_iri(name)
        triples = [q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(iri))]
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        http = urllib.request.Request(
            f"{graph_store}?{urllib.parse.urlencode({'graph': iri})}", data=body, method="PUT",
            headers={"Content-Type": "application/n-triples", "User-Agent": user_agent(settings)})
        with urllib.request.urlopen(http, timeout=60):
            pass
        yield iri, len(triples)

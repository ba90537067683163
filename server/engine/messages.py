"""What the query service and a query backend say to each other: a QueryRequest in; an Answer back, or a Problem.

There are two backends behind one interface (QueryBackend): our pool of query processes
(server/engine/query_service.py) and `--backend`'s remote SPARQL server (server/engine/remote_backend.py).

The pool's messages cross a pipe to a query process, and this module is the only one that knows how they are
written there:
- A request goes as a plain tuple of its fields. Pickling a dataclass costs a few times more than pickling the
  tuple, and this happens for every query.
- An answer goes as its bare bytes, with no pickling, so nothing copies the body but the kernel.
- A Problem goes pickled. A pickle begins with byte 0x80, which no UTF-8 text can begin with, and every format
  we answer in is UTF-8 text. So one message says which of the two it is.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection
from typing import Any, Protocol

from nato_kg.errors import Problem


@dataclass(frozen=True)
class ScratchDataset:
    """Files a query is answered over instead of the served graph: a W3C test's dataset (conformance/)."""

    base_iri: str  # the query's base: its own file: IRI
    default: tuple[str, ...] = ()  # files whose triples make the default graph
    named: tuple[tuple[str, str], ...] = ()  # (graph IRI, file): the named graphs, the only graphs held


@dataclass(frozen=True)
class QueryRequest:
    """One query for a backend, checked by the policy: its text, the format to answer in and its dataset."""

    text: str
    fmt: str  # a short name of server/formats.py that fits the query's form
    base_iri: str
    # The protocol's default-graph-uri / named-graph-uri, which replace the query's FROM / FROM NAMED; None
    # when not given.
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    union: bool = False  # the default graph is the union of the named graphs (the query names no dataset)
    scratch: ScratchDataset | None = None  # answer over these files instead of the store (conformance/)


@dataclass(frozen=True)
class Answer:
    body: bytes  # the whole answer, serialised in the request's format


class QueryBackend(Protocol):
    """Where checked queries are answered: the process pool, or a remote SPARQL server."""

    def run(self, request: QueryRequest, timeout_s: float) -> Answer:
        """The answer, or raises Problem with the status and message for the client."""
        ...

    def state(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


# --- the pipe to a query process ---------------------------------------------------------------------------

_PICKLE_START = 0x80


_REQUEST_FIELDS = tuple(field.name for field in fields(QueryRequest))


def send_request(conn: Connection, request: QueryRequest) -> None:
    conn.send(tuple(getattr(request, name) for name in _REQUEST_FIELDS))


def receive_request(conn: Connection) -> QueryRequest:
    return QueryRequest(*conn.recv())


def send_answer(conn: Connection, body: bytes | memoryview) -> None:
    conn.send_bytes(body)  # UTF-8 text: it cannot begin with a pickle's first byte


def send_problem(conn: Connection, problem: Problem) -> None:
    conn.send_bytes(pickle.dumps(problem, protocol=pickle.HIGHEST_PROTOCOL))


def receive_reply(conn: Connection) -> Answer | Problem:
    data = conn.recv_bytes()
    if data[:1] == bytes([_PICKLE_START]):
        problem = pickle.loads(data)
        assert isinstance(problem, Problem)
        return problem
    return Answer(data)


__all__ = ["Answer", "QueryBackend", "QueryRequest", "ScratchDataset", "receive_reply", "receive_request",
           "send_answer", "send_problem", "send_request"]

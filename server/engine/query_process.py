"""A query process: its own copy of the store, one query at a time, the whole answer serialised to bytes.

Runs in a child process that the parent can kill: neither pyoxigraph nor rdflib can cancel a query, so the
time limit is the parent's SIGKILL, and the memory limit is RLIMIT_AS set here after the store is loaded
(an allocation past it aborts this process, never the server). The answer is serialised completely before
it is sent, so the parent never starts a 200 that could break off half-way.

The messages on the pipe are server/engine/messages.py's: a QueryRequest in, the answer's bytes or a Problem
out. A request's `scratch` (QueryService.over, for the W3C test suites) names files to answer this one query
over instead of the store.
"""

from __future__ import annotations

import io
import os
import re
import resource
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from nato_kg.engine.messages import QueryRequest, ScratchDataset, receive_request, send_answer, send_problem
from nato_kg.engine.order_by import total_order
from nato_kg.errors import Problem
from nato_kg.formats import FORMATS
from nato_kg.namespaces import prefixes as namespaces
from nato_kg.settings import Settings

MB = 1024 * 1024
STORAGE_FAULTS = ("Corruption:", "IO error:")  # how RocksDB's errors begin


class ResultTooLarge(Exception):
    pass


class _CappedBuffer(io.BytesIO):
    """A binary writer that refuses to grow past `limit` bytes (so a huge answer stops early)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.overflowed = False

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.limit:
            self.overflowed = True
            raise ResultTooLarge
        return super().write(data)


def open_store(settings: Settings) -> ox.Store:
    """This process's own store: the on-disk one opened read-only, or a fresh in-memory copy."""
    if settings.store_dir is not None:
        from nato_kg.data.disk_store import open_read_only

        return open_read_only(settings)
    from nato_kg.data.store import load_dataset, native_store

    return native_store(load_dataset(settings))


def scratch_store(dataset: ScratchDataset) -> ox.Store:
    """A store holding only the files `dataset` names, for one query, each file parsed with its own file: IRI as
    base. The W3C test suites' data (conformance/) is answered this way through the same process and serialisers
    as the served graph."""
    store = ox.Store()
    for graph, path in [(None, p) for p in dataset.default] + list(dataset.named):
        store.load(path=path, base_iri=Path(path).as_uri(), to_graph=ox.NamedNode(graph) if graph else None)
    return store


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space at what it uses now (the loaded store) plus `megabytes`."""
    with open("/proc/self/statm") as statm:
        in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = in_use + megabytes * MB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


_POSITION = re.compile(r"error at (\d+):(\d+)")
SHOWN = 60  # characters of the line shown on each side of the position


def syntax_error(query: str, error: SyntaxError) -> str:
    """The engine's message with the line it points at and a caret under the column, as Fuseki shows them."""
    message = f"SPARQL syntax error: {error}"
    position = _POSITION.search(str(error))
    lines = query.split("\n")
    if not position or not 0 < int(position[1]) <= len(lines):
        return message
    line, column = lines[int(position[1]) - 1].rstrip("\r"), max(1, int(position[2]))
    start = max(0, column - 1 - SHOWN)
    shown = ("…" if start else "") + line[start:column - 1 + SHOWN] + ("…" if len(line) > column - 1 + SHOWN else "")
    before = ("…" if start else "") + line[start:column - 1]
    caret = "".join("\t" if char == "\t" else " " for char in before) + "^"
    return f"{message}\nline {position[1]}, column {column}:\n  {shown}\n  {caret}"


def run_query(store: ox.Store, query: str, kwargs: dict[str, Any], rewrite: bool) -> Any:
    """The engine's answer to `query`, its ORDER BY clauses in a total order (server/engine/order_by.py)."""
    ordered = total_order(query) if rewrite else query
    try:
        return store.query(ordered, **kwargs)
    except SyntaxError:
        if ordered == query:
            raise
    results = store.query(query, **kwargs)  # the client's own text: its syntax error, with its own positions
    print(f"the ORDER BY rewrite made a valid query unreadable; the engine sorts it itself: {query!r}",
          file=sys.stderr)  # reaches the server log: a bug of ours to fix
    return results


def evaluate(store: ox.Store, request: QueryRequest, max_bytes: int, prefixes: dict[str, str],
             rewrite: bool = True) -> memoryview:
    """One query's whole answer, serialised in the request's format; raises Problem."""
    kwargs: dict[str, Any] = {"base_iri": request.base_iri,
                              "use_default_graph_as_union": request.union}
    if request.default_graphs is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
    if request.named_graphs is not None:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
    fmt = FORMATS[request.fmt]
    out = _CappedBuffer(max_bytes)
    try:
        results = run_query(store, request.text, kwargs, rewrite)
        if isinstance(results, ox.QueryTriples):
            if fmt.kind != "graph":  # the service checked the form; this is the engine's word on it
                raise Problem(406, f"a CONSTRUCT or DESCRIBE query answers a graph; format '{fmt.name}' is for "
                              "SELECT and ASK; use ttl, nt, jsonld or rdfxml")
            # Each triple once: a graph is a set, and Oxigraph's CONSTRUCT repeats a triple for each solution
            # making it. N-Triples is one triple a line (blank-node labels are kept within one answer), so its
            # lines are deduplicated after the engine writes them all; other formats are written from a dict of
            # the triples (it keeps their order).
            if fmt.name == "nt":
                results.serialize(out, fmt.writer)
                return memoryview(b"".join(dict.fromkeys(out.getvalue().splitlines(keepends=True))))
            ox.serialize(dict.fromkeys(results), out, fmt.writer, prefixes=prefixes if fmt.name == "ttl" else None)
        else:
            if fmt.kind != "results":
                raise Problem(406, f"a SELECT or ASK query answers a result table; format '{fmt.name}' is for "
                              "graphs; use json, xml, csv or tsv")
            results.serialize(out, fmt.writer)
    except Problem:
        raise
    except SyntaxError as error:
        raise Problem(400, syntax_error(request.text, error)) from None
    except MemoryError:
        raise Problem(503, "the query needed more memory than its limit allows") from None
    except Exception as error:  # pyoxigraph wraps errors from our writer, a SERVICE call or evaluation
        if out.overflowed:
            raise Problem(503, f"the answer is larger than the {max_bytes // MB} MB limit; "
                          "add a LIMIT or ask for fewer variables") from None
        if isinstance(error, RuntimeError) and str(error).startswith(STORAGE_FAULTS):
            # RocksDB found a damaged block or could not read its files: the server's fault, not the query's.
            raise Problem(500, "the store is damaged, so this query cannot be answered "
                          f"({str(error).split(' in /')[0]}); the operator must rebuild it "
                          "(kg serve --store DIR --rebuild-store)") from None
        raise Problem(502 if isinstance(error, OSError) else 400,
                      f"the query failed: {type(error).__name__}: {error}") from None
    return out.getbuffer()


def serve_queries(conn: Connection, settings: Settings) -> None:
    """The child's main loop: load, cap memory, say ready, then answer until the pipe closes."""
    store = open_store(settings)
    limit_memory(settings.query_memory_mb)
    prefixes = namespaces(settings.base_iri)  # for Turtle answers
    max_bytes = settings.max_result_mb * MB
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = receive_request(conn)
        except (EOFError, OSError):
            return  # the parent is gone
        try:
            target = store if request.scratch is None else scratch_store(request.scratch)
            answer = evaluate(target, request, max_bytes, prefixes, settings.order_by_rewrite)
        except (OSError, SyntaxError, ValueError) as error:  # a test's data file missing or unreadable
            send_problem(conn, Problem(400, f"the scratch dataset did not load: {error}"))
        except Problem as problem:
            send_problem(conn, problem)
        else:
            send_answer(conn, answer)
            answer.release()


def _exit_with_parent() -> None:
    """Stop when the server process goes away, even in the middle of a query (a watchdog thread)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    _exit_with_parent()
    connection = Connection(int(sys.argv[1]))
    serve_queries(connection, connection.recv())

"""A query process: its own copy of the store, one query at a time, the whole answer serialised to bytes.

Runs in a child process that the parent can kill: neither pyoxigraph nor rdflib can cancel a query, so the
time limit is the parent's SIGKILL, and the memory limit is RLIMIT_AS set here after the store is loaded
(an allocation past it aborts this process, never the server). The answer is serialised completely before
it is sent, so the parent never starts a 200 that could break off half-way.

Protocol on the pipe: the parent sends `(query, fmt, options)`; the child answers `("ok", body)` or
`("error", status, message)`. Only small tuples and one bytes object cross the pipe.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from .namespaces import prefixes as namespaces
from .settings import Settings

RESULT_FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                  "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}
GRAPH_FORMATS = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD,
                 "rdfxml": ox.RdfFormat.RDF_XML}
MB = 1024 * 1024
STORAGE_FAULTS = ("Corruption:", "IO error:")  # how RocksDB's errors begin


class ResultTooLarge(Exception):
    pass


class _CappedBuffer:
    """A binary writer that refuses to grow past `limit` bytes (so a huge answer stops early)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        self.overflowed = False

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            self.overflowed = True
            raise ResultTooLarge
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def open_store(settings: Settings) -> ox.Store:
    """This process's own store: the on-disk one opened read-only, or a fresh in-memory copy."""
    if settings.store_dir is not None:
        from .disk_store import open_read_only

        return open_read_only(settings)
    from .store import load_dataset, native_store

    return native_store(load_dataset(settings))


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space at what it uses now (the loaded store) plus `megabytes`."""
    with open("/proc/self/statm") as statm:
        in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = in_use + megabytes * MB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def evaluate(store: ox.Store, query: str, fmt: str, options: dict[str, Any], max_bytes: int,
             prefixes: dict[str, str]) -> tuple[Any, ...]:
    """One query, answered as ("ok", body) or ("error", status, message)."""
    kwargs: dict[str, Any] = {"base_iri": options.get("base_iri")}
    if options.get("default_graph") is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in options["default_graph"]]
    if options.get("named_graphs") is not None:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in options["named_graphs"]]
    kwargs["use_default_graph_as_union"] = bool(options.get("union"))
    out = _CappedBuffer(max_bytes)
    try:
        results = store.query(query, **kwargs)
        if isinstance(results, ox.QueryTriples):
            if fmt not in GRAPH_FORMATS:
                return ("error", 406, f"a CONSTRUCT or DESCRIBE query answers a graph; format '{fmt}' is for "
                                      "SELECT and ASK; use ttl, nt, jsonld or rdfxml")
            ox.serialize(results, out, GRAPH_FORMATS[fmt], prefixes=prefixes if fmt == "ttl" else None)
        else:
            if fmt not in RESULT_FORMATS:
                return ("error", 406, f"a SELECT or ASK query answers a result table; format '{fmt}' is for "
                                      "graphs; use json, xml, csv or tsv")
            results.serialize(out, RESULT_FORMATS[fmt])
    except SyntaxError as error:
        return ("error", 400, f"SPARQL syntax error: {error}")
    except MemoryError:
        return ("error", 503, "the query needed more memory than its limit allows")
    except Exception as error:  # pyoxigraph wraps errors from our writer, a SERVICE call or evaluation
        if out.overflowed:
            return ("error", 503, f"the answer is larger than the {max_bytes // MB} MB limit; "
                                  "add a LIMIT or ask for fewer variables")
        if isinstance(error, RuntimeError) and str(error).startswith(STORAGE_FAULTS):
            # RocksDB found a damaged block or could not read its files: the server's fault, not the query's.
            return ("error", 500, "the store is damaged, so this query cannot be answered "
                                  f"({str(error).split(' in /')[0]}); the operator must rebuild it "
                                  "(kg serve --store DIR --rebuild-store)")
        return ("error", 502 if isinstance(error, OSError) else 400,
                f"the query failed: {type(error).__name__}: {error}")
    return ("ok", out.getvalue())


def serve_queries(conn: Connection, settings: Settings) -> None:
    """The child's main loop: load, cap memory, say ready, then answer until the pipe closes."""
    store = open_store(settings)
    limit_memory(settings.query_memory_mb)
    prefixes = namespaces(settings.base_iri)  # for Turtle answers
    max_bytes = settings.max_result_mb * MB
    conn.send(("ready", os.getpid()))
    while True:
        try:
            query, fmt, options = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        conn.send(evaluate(store, query, fmt, options, max_bytes, prefixes))


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

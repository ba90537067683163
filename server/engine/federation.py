"""SERVICE calls made our way: a loopback relay that forwards each one with the project's User-Agent, a per-call
time limit and a size cap, and logs it.

Why a relay. pyoxigraph evaluates SERVICE with its own Rust HTTP client. Measured with pyoxigraph 0.5.13 and
a loopback server that records what it gets: it POSTs `SELECT * WHERE { <the SERVICE block> }` as
application/sparql-query (the block alone: the rest of the query's bindings are not sent), with
`User-Agent: Oxigraph/0.5.13`, and waits as long as the remote takes. Oxigraph's Rust API has an HTTP
timeout and a pluggable service handler in its QueryOptions; pyoxigraph's `Store.query` exposes neither.

So the query service rewrites every SERVICE target the policy approved, at the offsets the policy itself
found (`QueryInfo.service_spans`: the check and the rewrite read the text the same way, so they cannot
disagree), to `<http://127.0.0.1:PORT/TOKEN/N>`: this server's relay, a token fresh for each query, and the
index of the allowed endpoint. The query process calls the relay; the relay calls the endpoint.

The relay is not an open proxy: it listens on 127.0.0.1 and answers loopback callers only; it knows only
the allowed endpoints (or the route an operator set for one, `--service-route IRI=URL`); it accepts only
the tokens of queries in flight (128 random bits, dropped when the query ends); it passes only SPARQL
queries (the policy's tokenizer: a query form and no update keyword); it follows no redirect; and it reads
the answer against the per-call deadline and a size cap.

A failed call answers the engine with 502 or 504, which fails the query, or, under SERVICE SILENT, stands
for the one empty solution SPARQL 1.1 Federated Query prescribes. The relay keeps the reason, and the query
service reports it, naming the endpoint, instead of the engine's message about a loopback address.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import logging
import re
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from urllib.parse import parse_qs, urlencode, urlsplit

from nato_kg.engine.policy import QueryInfo, inspect
from nato_kg.errors import Problem
from nato_kg.settings import Settings

log = logging.getLogger("kg.federation")
MB = 1024 * 1024
MAX_FORWARDED_QUERY = 1 * MB  # a SERVICE block is a piece of a query already held to max_query_bytes
RESULT_TYPES = "application/sparql-results+json, application/sparql-results+xml;q=0.9"
_PATH = re.compile(r"/([A-Za-z0-9_-]{16,})/(n?)(\d+)")  # n: a SERVICE nested in another's block
_ROUTE = re.compile(r"=(?=https?://)")


def user_agent(settings: Settings) -> str:
    """What every SERVICE call says it is: Wikidata asks for a client name, a version and a way to reach us."""
    if settings.service_user_agent:
        return settings.service_user_agent
    try:
        version = metadata.version("nato-expulsions-kg")
    except metadata.PackageNotFoundError:
        version = "0"
    return (f"nato-expulsions-kg/{version} (+{settings.base_iri}) "
            f"pyoxigraph/{metadata.version('pyoxigraph')}")


def routes(settings: Settings) -> dict[str, str]:
    """`IRI=URL` routes: SERVICE <IRI> is called at URL. A route for an IRI off the allow-list is never used
    (the allow-list decides what a query may name; a route only says where an allowed IRI is reached)."""
    table = {}
    for entry in settings.service_routes:
        parts = _ROUTE.split(entry, maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"service route {entry!r} is not of the form IRI=URL (URL starting http:// or https://)")
        if parts[0] in settings.allowed_service_endpoints:
            table[parts[0]] = parts[1]
        else:
            log.warning("service route for <%s> unused: that IRI is not on the SERVICE allow-list", parts[0])
    return table


def call_time_limit(settings: Settings) -> float:
    """One SERVICE call's limit: the configured one, but always well inside the query's own."""
    return max(0.1, min(settings.service_timeout_s, 0.8 * settings.query_timeout_s))


@dataclass
class Call:
    """One query's use of the relay: its token, its relay IRIs' common prefix, and what failed."""

    token: str
    prefix: str
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # (relay IRI, status, message)
    nested: list[str] = field(default_factory=list)  # the IRI of each nested SERVICE, by its `n` index


class ServiceRelay:
    """The loopback relay of one server process, and the rewriting of queries to use it."""

    def __init__(self, settings: Settings) -> None:
        self.endpoints = tuple(sorted(settings.allowed_service_endpoints))
        self.routes = routes(settings)
        self.timeout_s = call_time_limit(settings)
        self.max_bytes = settings.service_max_mb * MB
        self.user_agent = user_agent(settings)
        self._ssl = ssl.create_default_context()
        self._calls: dict[str, Call] = {}
        self._lock = threading.Lock()
        self._server = _RelayServer(("127.0.0.1", 0), _Handler)
        self._server.relay = self
        self.port: int = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="kg-service-relay", daemon=True).start()

    # --- the query service's side ----------------------------------------------------------------------

    @contextmanager
    def call(self) -> Iterator[Call]:
        """A token for one query, valid until the block ends."""
        token = secrets.token_urlsafe(16)
        call = Call(token, f"http://127.0.0.1:{self.port}/{token}/")
        with self._lock:
            self._calls[token] = call
        try:
            yield call
        finally:
            with self._lock:
                del self._calls[token]

    def rewrite(self, query: str, info: QueryInfo, call: Call) -> str:
        """`query` with every SERVICE target the policy found (and allowed) replaced by its relay IRI.

        A SERVICE off the allow-list nested in an allowed one's block (wikibase:label in Wikidata's) gets a relay
        IRI marked `n`: when the outer block is forwarded, the relay puts the nested IRI back, so the remote
        endpoint sees the block as written; and should Oxigraph read the braces otherwise and call the nested IRI
        itself, the relay refuses. So nesting is judged by our tokenizer, but no reading of the text makes
        Oxigraph call an endpoint itself. A nested SERVICE to an allowed endpoint keeps that endpoint's relay IRI,
        as at top level (the W3C federation tests nest their stand-ins so)."""
        parts, last = [], 0
        for target, parent, (start, end) in zip(info.services, info.service_parents, info.service_spans,
                                                strict=True):
            if target in self.endpoints:  # nested or not: called through this relay, by its route
                relay_iri = f"{call.prefix}{self.endpoints.index(target)}"
            elif parent is not None and target is not None:
                relay_iri = f"{call.prefix}n{len(call.nested)}"
                call.nested.append(target)
            else:  # the policy refuses such a query before it gets here
                raise ValueError(f"SERVICE <{target}> is not allowed")
            parts += [query[last:start], f"<{relay_iri}>"]
            last = end
        parts.append(query[last:])
        return "".join(parts)

    def failures(self, call: Call) -> tuple[tuple[str, str], ...]:
        """(endpoint, why) for each SERVICE call of `call` that failed, once each: under SILENT the query still
        answers, and the caller says what is missing."""
        seen: dict[tuple[str, str], None] = {}
        for iri, _, message in call.failures:
            index = iri.rsplit("/", 1)[1]
            endpoint = call.nested[int(index[1:])] if index.startswith("n") else self.endpoints[int(index)]
            seen[(endpoint, message)] = None
        return tuple(seen)

    def explain(self, problem: Problem, call: Call) -> Problem:
        """Why a query of `call` failed: the relay's own reason if a SERVICE call failed it, else the engine's
        message with the relay IRIs put back as the endpoints they stand for."""
        message = problem.message
        for iri, failed_status, reason in reversed(call.failures):
            if iri in message:
                return Problem(failed_status, reason)
        for index, endpoint in enumerate(call.nested):
            message = message.replace(f"{call.prefix}n{index}", endpoint)
        for index, endpoint in enumerate(self.endpoints):
            message = message.replace(f"{call.prefix}{index}", endpoint)
        return Problem(problem.status, message, problem.cause)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the relay's side --------------------------------------------------------------------------------

    def lookup(self, token: str) -> Call | None:
        with self._lock:
            return self._calls.get(token)

    def refuse_nested(self, call: Call, index: int) -> tuple[int, str, bytes]:
        """Oxigraph called a nested SERVICE itself (it read the braces otherwise than the policy): never."""
        message = (f"SERVICE <{call.nested[index]}> is allowed only inside the block of an allowed SERVICE, which "
                   "evaluates it; here the engine would have called it itself")
        call.failures.append((f"{call.prefix}n{index}", 403, message))
        log.warning("nested service=%s refused: called outside its enclosing SERVICE", call.nested[index])
        return 403, "text/plain; charset=utf-8", message.encode("utf-8")

    def forward(self, call: Call, index: int, query: str, accept: str) -> tuple[int, str, bytes]:
        """Call endpoint `index` with `query`: (status, Content-Type, body) for the engine."""
        for nested_index, nested in enumerate(call.nested):  # the block as the query wrote it (see rewrite)
            query = query.replace(f"<{call.prefix}n{nested_index}>", f"<{nested}>")
        endpoint = self.endpoints[index]
        url = self.routes.get(endpoint, endpoint)
        digest = hashlib.sha256(query.encode("utf-8")).hexdigest()[:12]
        shown = endpoint if url == endpoint else f"{endpoint} via={url}"
        started = time.monotonic()
        try:
            content_type, body = self._fetch(url, query, accept)
        except Problem as error:  # its message says what the endpoint did: "SERVICE <endpoint> " goes in front
            message = f"SERVICE <{endpoint}> {error.message}"
            call.failures.append((f"{call.prefix}{index}", error.status, message))
            log.warning("endpoint=%s status=%d ms=%.0f query=%s error=%s", shown, error.status,
                        (time.monotonic() - started) * 1000, digest, error.message)
            return error.status, "text/plain; charset=utf-8", message.encode("utf-8")
        log.info("endpoint=%s status=200 ms=%.0f bytes=%d query=%s", shown,
                 (time.monotonic() - started) * 1000, len(body), digest)
        return 200, content_type, body

    def _fetch(self, url: str, query: str, accept: str) -> tuple[str, bytes]:
        parts = urlsplit(url)
        deadline = time.monotonic() + self.timeout_s

        def remaining() -> float:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            return left

        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=self.timeout_s, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.timeout_s)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("POST", path, body=urlencode({"query": query}).encode("ascii"), headers={
                "User-Agent": self.user_agent, "Accept": accept,
                "Content-Type": "application/x-www-form-urlencoded"})
            sock = conn.sock
            if sock is not None:
                sock.settimeout(remaining())
            response = conn.getresponse()
            if response.status != 200:  # redirects included: a SERVICE call goes where it was allowed, or nowhere
                detail = response.read(500).decode("utf-8", "replace").strip().splitlines()
                shown = f": {detail[0][:300]}" if detail else ""
                raise Problem(502, f"answered {response.status} {response.reason}{shown}")
            chunks, size = [], 0
            while True:
                if sock is not None:
                    sock.settimeout(remaining())
                chunk = response.read1(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise Problem(502, f"sent more than {self.max_bytes // MB} MB, the limit for one SERVICE "
                                  "answer; ask it for less (a LIMIT, fewer variables)")
                chunks.append(chunk)
            return response.getheader("Content-Type") or "application/sparql-results+json", b"".join(chunks)
        except TimeoutError:
            raise Problem(504, f"did not answer within {self.timeout_s:g} s, the time limit for one SERVICE "
                          "call; try again later, or ask it for less") from None
        except (OSError, http.client.HTTPException) as error:
            raise Problem(502, f"could not be reached: {type(error).__name__}: {error}") from None
        finally:
            conn.close()


class _RelayServer(ThreadingHTTPServer):
    daemon_threads = True
    relay: ServiceRelay


class _Handler(BaseHTTPRequestHandler):
    server: _RelayServer
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"

    def do_GET(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def log_message(self, format: str, *args: object) -> None:  # one line per call comes from forward()
        pass

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, status: int, message: str) -> None:
        self._answer(status, "text/plain; charset=utf-8", (message + "\n").encode("utf-8"))

    def _relay(self) -> None:
        relay = self.server.relay
        if not ipaddress.ip_address(self.client_address[0]).is_loopback:
            return self._refuse(403, "the SERVICE relay answers loopback callers only")
        split = urlsplit(self.path)
        match = _PATH.fullmatch(split.path)
        call = relay.lookup(match[1]) if match else None
        if call is None or not match or int(match[3]) >= len(call.nested if match[2] else relay.endpoints):
            return self._refuse(404, "no such SERVICE relay (it exists only while its query runs)")
        if match[2]:
            return self._answer(*relay.refuse_nested(call, int(match[3])))
        query = self._read_query(split.query)
        if query is None:
            return self._refuse(415, "the SERVICE relay takes a SPARQL query (GET ?query=, or POST as "
                                     "application/sparql-query or a form)")
        info = inspect(query, "http://127.0.0.1/")
        if info.update_keyword or info.form is None:
            return self._refuse(403, "the SERVICE relay passes SPARQL queries only")
        self._answer(*relay.forward(call, int(match[3]), query, self.headers.get("Accept") or RESULT_TYPES))
        return None

    def _read_query(self, query_string: str) -> str | None:
        try:
            if self.command == "GET":
                values = parse_qs(query_string, strict_parsing=False).get("query", [])
                return values[0] if len(values) == 1 else None
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_FORWARDED_QUERY:
                return None
            body = self.rfile.read(length).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        media_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type == "application/sparql-query":
            return body
        if media_type == "application/x-www-form-urlencoded":
            values = parse_qs(body).get("query", [])
            return values[0] if len(values) == 1 else None
        return None


__all__ = ["Call", "ServiceRelay", "call_time_limit", "routes", "user_agent"]

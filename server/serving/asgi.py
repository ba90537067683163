"""The ASGI application gunicorn's uvicorn workers run: repeats from the response cache, the rest to Flask.

A repeated GET of /sparql or /doc/ is answered here, on the event loop, without a thread hop, Flask or a
query process (server/serving/response_cache.py). Everything else goes to the Flask app through a2wsgi, which runs it
in a pool of `threads` threads; what Flask answers is offered to the cache on the way back. A request body is
read here first, within a time limit, so that a client sending one slowly holds no Flask thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from a2wsgi import WSGIMiddleware
from flask import Flask

from nato_kg.engine.query_service import ProcessPool
from nato_kg.errors import Problem
from nato_kg.serving.admission import QueryGate
from nato_kg.serving.request_head import PEER, REFUSED, BoundedHttpToolsProtocol
from nato_kg.serving.response_cache import CACHED_PATHS, ResponseCache
from nato_kg.settings import Settings
from nato_kg.web.access_log import QUERY_SECONDS_HEADER, AccessLog, query_digest
from nato_kg.web.app import create_app
from nato_kg.web.state import state

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Front:
    """In front of Flask: path prefix, refusals (414/431/408), request bodies, the response cache."""

    def __init__(self, flask_app: Flask, cache: ResponseCache | None, access_log: AccessLog, threads: int,
                 path_prefix: str = "", body_timeout_s: float = 10.0, gate: QueryGate | None = None,
                 trusted_proxies: tuple[str, ...] = ()) -> None:
        self.wsgi = WSGIMiddleware(_input_terminated(flask_app), workers=threads)
        self.gate = gate
        self.trusted_proxies = frozenset(trusted_proxies)
        self.cache = cache
        self.access_log = access_log
        self.path_prefix = path_prefix  # "/kg" when the base IRI is https://example.org/kg/
        self.max_body_bytes: int = flask_app.config["MAX_CONTENT_LENGTH"]
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.flask(scope, receive, send)
        path = scope["path"]
        if self.path_prefix and (path == self.path_prefix or path.startswith(self.path_prefix + "/")):
            # Served under the base IRI's path: Flask sees the rest (a2wsgi makes root_path its SCRIPT_NAME).
            scope["root_path"], path = self.path_prefix, path[len(self.path_prefix):]
        if "extensions" in scope and REFUSED in scope["extensions"]:
            return await self._refuse(scope, send, path, *scope["extensions"][REFUSED])
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            if self._declared_too_long(scope):  # Flask answers 413 by the header alone: no query slot for it
                return await self.wsgi(scope, receive, _closing_after_413(send))
            replay = await self._read_body(scope, receive, send, path)
            return await self.flask(scope, replay, _closing_after_413(send)) if replay else None
        if self.cache is None or scope["method"] not in ("GET", "HEAD") or not path.startswith(CACHED_PATHS):
            return await self.flask(scope, receive, send)
        return await self._cached(scope, receive, send, path)

    async def flask(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        """Flask's answer; a request that needs a query process first waits for one here, on the event loop,
        under the fair-scheduling rules (server/admission.py), holding no thread meanwhile."""
        kind = _query_kind(scope) if self.gate is not None and scope["type"] == "http" else None
        if kind is None:
            return await self.wsgi(scope, receive, send)
        assert self.gate is not None
        try:
            ticket = await self.gate.enter(self.client_address(scope), capped=kind == "query")
        except Problem as refused:
            return await self._refuse(scope, send, scope["path"], refused.status, refused.message + "\n",
                                      retry_after=refused.retry_after)
        left = False

        async def charging(message: Message) -> None:
            nonlocal left
            if message["type"] == "http.response.start":
                headers, spent = [], None
                for name, value in message.get("headers", []):
                    if name.lower() == _QUERY_SECONDS:
                        spent = float(value)
                    else:
                        headers.append((name, value))
                message = {**message, "headers": headers}
                # Flask answers once its query processes are back in the pool: the next waiter goes now, while
                # this answer is being sent, so that no process idles through the hand-offs in between.
                if not left:
                    left = True
                    self.gate.leave(ticket, spent)
            await send(message)

        try:
            await self.wsgi(scope, receive, charging)
        finally:
            if not left:
                self.gate.leave(ticket, None)

    def client_address(self, scope: MutableMapping[str, Any]) -> str:
        """Who is asking, for fair scheduling: the connection's address; behind a trusted proxy, the last
        address of X-Forwarded-For that is not a trusted proxy."""
        peer = scope.get("extensions", {}).get(PEER) or scope.get("client")
        address = peer[0] if peer else "-"
        if address in self.trusted_proxies:
            forwarded = b",".join(v for n, v in scope["headers"] if n == b"x-forwarded-for").decode("latin-1")
            for hop in reversed([hop.strip() for hop in forwarded.split(",") if hop.strip()]):
                address = hop
                if hop not in self.trusted_proxies:
                    break
        return address

    async def _cached(self, scope: MutableMapping[str, Any], receive: Receive, send: Send, path: str) -> None:
        """The answer from the cache if it holds one for this request; else Flask's, offered to the cache."""
        assert self.cache is not None
        query_string: bytes = scope["query_string"]
        # The raw request target, not the decoded path: /doc/a%2Fb and /doc/a/b are different resources.
        target = scope["raw_path"] + b"?" + query_string if query_string else scope["raw_path"]
        # Repeated lines are joined, as Flask will see them. Host and scheme are in the key: the service
        # description and the HTML pages name the host they were asked on.
        accept: list[bytes] = []
        if_none_match: list[bytes] = []
        host = b""
        for name, value in scope["headers"]:
            if name == b"accept":
                accept.append(value)
            elif name == b"if-none-match":
                if_none_match.append(value)
            elif name == b"host":
                host = value
        key = (target, b",".join(accept), host, scope["scheme"].encode())  # none varies by Accept-Encoding
        started = time.perf_counter()
        answer = self.cache.lookup(key, b",".join(if_none_match))
        if answer is None:
            return await self._fill(key, scope, receive, send)
        status, headers, body, digest = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
        client = scope.get("client")
        self.access_log.write(scope["method"], path, status, (time.perf_counter() - started) * 1000,
                              len(body), digest, client[0] if client else "-", cache="hit")

    def _declared_too_long(self, scope: MutableMapping[str, Any]) -> bool:
        declared = next((v for n, v in scope["headers"] if n == b"content-length"), b"")
        return declared.isdigit() and int(declared) > self.max_body_bytes

    async def _read_body(self, scope: MutableMapping[str, Any], receive: Receive, send: Send,
                         path: str) -> Receive | None:
        """The body, read within the time limit, to hand to Flask whole; None if it was answered here (408) or
        the client left. A body over Flask's limit is cut just past it, for werkzeug to answer 413."""
        chunks: list[bytes] = []

        async def read() -> bool:
            size = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return False  # the client disconnected
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if not message.get("more_body", False) or size > self.max_body_bytes:
                    return True

        try:
            if not await asyncio.wait_for(read(), self.body_timeout_s):
                return None
        except TimeoutError:
            await self._refuse(scope, send, path, 408,
                               f"The request body did not arrive within {self.body_timeout_s:g} s.\n")
            return None
        body = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return body.pop() if body else await receive()

        return replay

    async def _refuse(self, scope: MutableMapping[str, Any], send: Send, path: str, status: int,
                      message: str, retry_after: int | None = None) -> None:
        """A request refused here (its head over a limit, see server/serving/request_head.py; its body too slow:
        the connection is closed; over a fair-scheduling limit: Retry-After, the connection stays): say so, log
        it."""
        body = message.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                   (b"access-control-allow-origin", b"*")]
        headers.append((b"connection", b"close") if retry_after is None
                       else (b"retry-after", str(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        client = scope.get("client")
        self.access_log.write(scope["method"], path, status, 0.0, len(body), "-", client[0] if client else "-")

    async def _fill(self, key: tuple[bytes, ...], scope: MutableMapping[str, Any], receive: Receive,
                    send: Send) -> None:
        """Let Flask answer; a whole answer to a GET is offered to the cache before its last bytes go out, so
        the client's next request can already be a hit."""
        cache = self.cache
        assert cache is not None
        answer: dict[str, Any] = {"keep": scope["method"] == "GET", "chunks": [], "size": 0}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(n.lower(), v) for n, v in message["headers"]]
                length = dict(headers).get(b"content-length", b"")
                answer.update(status=message["status"], headers=headers,
                              length=int(length) if length.isdigit() else None)
                answer["keep"] &= message["status"] == 200
            elif message["type"] == "http.response.body" and answer["keep"]:
                answer["chunks"].append(message.get("body", b""))
                answer["size"] += len(answer["chunks"][-1])
                answer["keep"] = answer["size"] <= cache.max_entry_bytes
                # Complete once Content-Length bytes are in: the client may send its next request right away.
                if answer["keep"] and (answer["size"] == answer["length"] or not message.get("more_body", False)):
                    answer["keep"] = False  # offered once
                    query = dict(parse_qsl(scope["query_string"].decode("latin-1"))).get("query")
                    cache.offer(key, answer["status"], answer["headers"], b"".join(answer["chunks"]),
                                query_digest(query))
            await send(message)

        await self.flask(scope, receive, capture)


def _closing_after_413(send: Send) -> Send:
    """A 413 closes the connection: the rest of a body too large to take is not read (uvicorn closes a
    connection whose response says `connection: close`)."""

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 413:
            message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await send(message)

    return closing


def _query_kind(scope: MutableMapping[str, Any]) -> str | None:
    """"query" for a request that runs a client's query (held to the client's limits), "page" for one whose
    page needs a query process (only queued fairly), None for the rest."""
    path: str = scope["path"][len(scope.get("root_path", "")):] if scope.get("root_path") else scope["path"]
    method = scope["method"]
    if path == "/sparql":
        if method == "POST" or (method in ("GET", "HEAD") and _names_a_query(scope["query_string"])):
            return "query"
        return None
    if path == "/" and method in ("GET", "HEAD") and _names_a_query(scope["query_string"]):
        return "query"  # the query page without JavaScript runs the query it is given
    if path.startswith("/queries/") and method in ("GET", "HEAD") and "." not in path[len("/queries/"):]:
        return "query"
    if path.startswith(PAGE_PATHS) and method in ("GET", "HEAD"):
        return "page"
    return None


PAGE_PATHS = ("/doc/", "/search", "/browse")


def _names_a_query(query_string: bytes) -> bool:
    """Whether the URL has a `query` parameter as Flask will read it (names percent-decoded: `q%75ery=`)."""
    if query_string.startswith(b"query=") or b"&query=" in query_string:  # as clients send it: no decoding
        return True
    return any(name == "query" for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
_QUERY_SECONDS = QUERY_SECONDS_HEADER.lower().encode()


def _input_terminated(flask_app: Flask) -> Callable[..., Any]:
    """a2wsgi's request body ends where the client's does, chunked or not; saying so lets werkzeug read a chunked
    POST (which has no Content-Length) instead of seeing an empty body. gunicorn said the same."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["wsgi.input_terminated"] = True
        # The path as the client sent it (still percent-encoded), where WSGI servers put it: a2wsgi does not.
        raw_path = environ["asgi.scope"].get("raw_path")
        if raw_path:
            environ["REQUEST_URI"] = raw_path.decode("latin-1")
        return flask_app(environ, start_response)

    return app


def create_asgi_app(settings: Settings | None = None) -> Front:
    settings = settings or Settings.from_env()
    flask_app = create_app(settings)
    cache = ResponseCache(settings.response_cache_mb * 1024 * 1024) if settings.response_cache_mb > 0 else None
    app_state = state(flask_app)
    app_state.response_cache = cache  # /health reports its state
    gate = QueryGate(slots=max(1, settings.query_processes),
                     per_client=max(1, settings.client_queries),
                     seconds_per_minute=settings.client_query_seconds,
                     max_wait_s=settings.query_wait_s or settings.query_timeout_s,
                     time_limit_s=settings.query_timeout_s, max_waiting=settings.query_queue)
    pool = app_state.service.pool
    if isinstance(pool, ProcessPool):  # slots of processes being replaced wait for them
        gate.unavailable = pool.unavailable
        pool.on_ready = gate.wake
    app_state.query_gate = gate  # likewise
    app_state.connections = BoundedHttpToolsProtocol  # likewise
    return Front(flask_app, cache, app_state.access_log, settings.threads,
                 path_prefix=urlsplit(settings.base_iri).path.rstrip("/"),
                 body_timeout_s=settings.query_timeout_s, gate=gate, trusted_proxies=settings.trusted_proxies)

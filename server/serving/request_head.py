"""uvicorn's httptools protocol, with the request head held to limits and an offered upgrade ignored.

- httptools cannot split a URL over 65,535 bytes, and uvicorn then answers a bare 400 "Invalid HTTP request
  received."; it also keeps headers of any size. Such a request is marked as refused (the ASGI front,
  server/serving/asgi.py, answers it with 414 or 431 and a message, and logs it); a head that grows past both limits
  unfinished closes the connection.
- A client may offer to switch protocols (`Connection: Upgrade, HTTP2-Settings` / `Upgrade: h2c`, as
  `curl --http2` and some Java clients send). httptools then stops before the body, so a POSTed query was lost
  (httptools#124, uvicorn#2722). This server speaks only HTTP/1.1, and RFC 9110 lets a server ignore an
  offer: the offer is taken out of the head before the parser sees it.
- Connections are a bounded resource (per worker process): a request head must be complete within
  HEAD_TIMEOUT_S of the connection opening or of its first byte (else 408 if some of it came, or the
  connection is closed if nothing did); one address may hold at most MAX_PER_ADDRESS connections (more are
  closed at once); past MAX_CONNECTIONS, the connection idle the longest (no request in progress) is closed so
  the new one is served. Idle keep-alive connections close after gunicorn's keepalive (uvicorn's timer).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL_BYTES = 65_535  # httptools.parse_url's own limit
MAX_HEADER_BYTES = 65_536  # gunicorn allowed 100 headers of 8 KB; real clients send a few hundred bytes
MAX_HEAD_BYTES = MAX_URL_BYTES + MAX_HEADER_BYTES + 1024
PEER = "kg.peer"  # the scope extension holding the connection's (host, port)
REFUSED = "kg.refused"  # the scope extension that carries (status, message) to the ASGI front
_OFFER = (b"upgrade", b"http2-settings")  # header fields, and Connection options, of a protocol switch offer


def without_upgrade_offer(head: bytes) -> bytes:
    """The request head without Upgrade / HTTP2-Settings fields and those options of Connection."""
    request_line, *fields = head.split(b"\r\n")
    kept = []
    for field in fields:
        name, _, value = field.partition(b":")
        name = name.strip().lower()
        if name in _OFFER:
            continue
        if name == b"connection":
            options = [o for o in value.split(b",") if o.strip().lower() not in _OFFER]
            if not any(o.strip() for o in options):
                continue
            field = b"Connection:" + b",".join(options)
        kept.append(field)
    return b"\r\n".join([request_line, *kept])


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    # Set from the settings before the workers start (server/serving/gunicorn_app.py).
    HEAD_TIMEOUT_S: ClassVar[float] = 5.0
    MAX_PER_ADDRESS: ClassVar[int] = 256
    MAX_CONNECTIONS: ClassVar[int] = 1000
    _per_address: ClassVar[Counter[str]] = Counter()  # open connections by address, in this worker
    refused: ClassVar[Counter[str]] = Counter()  # connections closed by these limits, by reason

    @classmethod
    def state(cls) -> dict[str, Any]:
        """For /health: this worker's open connections, the addresses they come from, and closures by reason."""
        return {"open": sum(cls._per_address.values()), "addresses": len(cls._per_address),
                "closed": dict(cls.refused)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._address: str | None = None
        self.last_active = time.monotonic()  # when a request last began or ended: who is evicted first
        self._between_requests = True  # the next bytes begin a request head
        self._head = bytearray()  # that head's start, not yet given to the parser
        self._in_head = False  # the parser has begun a request whose head is not yet complete ...
        self._head_count = 0  # ... and has been given this many bytes since (a pipelined request's head)
        self._malformed: str | None = None  # a malformed request's 400, held until the earlier answers are out

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else None
        if self._address is not None:
            self._per_address[self._address] += 1
            if self._per_address[self._address] > self.MAX_PER_ADDRESS:
                self.refused["address_cap"] += 1
                self.transport.close()
                return
        if len(self.connections) > self.MAX_CONNECTIONS:
            self._evict_oldest_idle()
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        if self._address is not None:
            self._per_address[self._address] -= 1
            if self._per_address[self._address] <= 0:
                del self._per_address[self._address]
            self._address = None
        super().connection_lost(exc)

    def _idle(self) -> bool:
        return (self.cycle is None or self.cycle.response_complete) and not self.pipeline

    def _evict_oldest_idle(self) -> None:
        """Close the connection that has had no request in progress for the longest (never this one)."""
        candidates = [c for c in self.connections
                      if c is not self and isinstance(c, BoundedHttpToolsProtocol) and c._idle()
                      and not c.transport.is_closing()]
        if candidates:
            self.refused["oldest_idle"] += 1
            min(candidates, key=lambda c: c.last_active).transport.close()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and not self.transport.is_closing():
            self._head_timer = self.loop.call_later(self.HEAD_TIMEOUT_S, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        """No whole request head within HEAD_TIMEOUT_S: 408 if part of one came, else just close."""
        self._head_timer = None
        if self.transport.is_closing() or not self._idle():
            return
        self.refused["head_timeout"] += 1
        if self._head or self._in_head:
            message = f"The request head did not arrive within {self.HEAD_TIMEOUT_S:g} s.\n".encode()
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                 b"content-length: " + str(len(message)).encode() + b"\r\nconnection: close\r\n\r\n"
                                 + message)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._between_requests and not self._head and self.cycle is not None:
            # The first byte of the next request on a kept-alive connection: its head's time starts now.
            self._arm_head_timer()
        if self._between_requests:
            held = len(self._head)
            self._head += data  # in place; and only the new bytes are searched (a head sent a byte at a time)
            end = self._head.find(b"\r\n\r\n", max(0, held - 3))
            if end < 0:  # the parser can do nothing before the head is whole; hold it, up to the limits
                if len(self._head) > MAX_HEAD_BYTES:
                    self.transport.close()
                return
            head, rest = bytes(self._head[:end + 4]), bytes(self._head[end + 4:])
            self._head = bytearray()
            if b"pgrade" in head.lower():
                head = without_upgrade_offer(head)
            data = head + rest
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_count += len(data)
            if self._head_count > MAX_HEAD_BYTES:
                self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """A malformed request: answered 400 and the connection closed, but only after the answers to the
        requests pipelined before it (uvicorn sent the 400 at once, and the earlier answers were lost)."""
        if (self.cycle is not None and not self.cycle.response_complete) or self.pipeline:
            if self._malformed is None:
                self._malformed = msg
                self.flow.pause_reading()  # nothing after a malformed request is read
            return
        super().send_400_response(msg)

    def on_response_complete(self) -> None:
        self.last_active = time.monotonic()
        super().on_response_complete()
        if (self._malformed is not None and not self.pipeline and self.cycle.response_complete
                and not self.transport.is_closing()):
            self.flow.pause_reading()
            self._unset_keepalive_if_required()
            super().send_400_response(self._malformed)

    def on_message_begin(self) -> None:
        self._between_requests, self._in_head, self._head_count = False, True, 0
        self.last_active = time.monotonic()
        super().on_message_begin()

    def on_message_complete(self) -> None:
        self._between_requests = True
        super().on_message_complete()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        refusal = None
        if len(self.url) > MAX_URL_BYTES:
            refusal = (414, f"The URL is over {MAX_URL_BYTES:,} bytes: send a long query by POST.\n")
            path = self.url.split(b"?", 1)[0]  # a URL httptools can split, for the log
            self.url = path if len(path) <= MAX_URL_BYTES else b"/"
        elif sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_HEADER_BYTES:
            refusal = (431, f"The request headers are over {MAX_HEADER_BYTES:,} bytes.\n")
        elif self.parser.get_http_version() == "1.1":
            hosts = sum(name == b"host" for name, _ in self.headers)
            if hosts != 1:  # RFC 9112 section 3.2: a server MUST answer 400
                refusal = (400, f"An HTTP/1.1 request needs exactly one Host header; this one has {hosts}.\n")
        extensions = self.scope.setdefault("extensions", {})
        if refusal is not None:
            extensions[REFUSED] = refusal
        # The address the connection comes from, kept apart from scope["client"] (which uvicorn rewrites from
        # X-Forwarded-For): fair scheduling trusts a forwarded address only from a configured proxy.
        extensions[PEER] = self.client
        super().on_headers_complete()

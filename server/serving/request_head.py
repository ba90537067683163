"""uvicorn's httptools protocol, with the request head held to limits and an offered upgrade ignored.

- httptools cannot split a URL over 65,535 bytes, and uvicorn then answers a bare 400 "Invalid HTTP request
  received."; it also keeps headers of any size. Such a request is marked as refused (the ASGI front,
  server/serving/asgi.py, answers it with 414 or 431 and a message, and logs it); a head that grows past both limits
  unfinished closes the connection.
- A client may offer to switch protocols (`Connection: Upgrade, HTTP2-Settings` / `Upgrade: h2c`, as
  `curl --http2` and some Java clients send). httptools then stops before the body, so a POSTed query was lost
  (httptools#124, uvicorn#2722). This server speaks only HTTP/1.1, and RFC 9110 lets a server ignore an
  offer: the offer is taken out of the head before the parser sees it.
"""

from __future__ import annotations

from typing import Any

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
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._between_requests = True  # the next bytes begin a request head
        self._head = b""  # that head's start, not yet given to the parser
        self._in_head = False  # the parser has begun a request whose head is not yet complete ...
        self._head_count = 0  # ... and has been given this many bytes since (a pipelined request's head)
        self._malformed: str | None = None  # a malformed request's 400, held until the earlier answers are out

    def data_received(self, data: bytes) -> None:
        if self._between_requests:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:  # the parser can do nothing before the head is whole; hold it, up to the limits
                if len(self._head) > MAX_HEAD_BYTES:
                    self.transport.close()
                return
            head, rest, self._head = self._head[:end + 4], self._head[end + 4:], b""
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
        super().on_response_complete()
        if (self._malformed is not None and not self.pipeline and self.cycle.response_complete
                and not self.transport.is_closing()):
            self.flow.pause_reading()
            self._unset_keepalive_if_required()
            super().send_400_response(self._malformed)

    def on_message_begin(self) -> None:
        self._between_requests, self._in_head, self._head_count = False, True, 0
        super().on_message_begin()

    def on_message_complete(self) -> None:
        self._between_requests = True
        super().on_message_complete()

    def on_headers_complete(self) -> None:
        self._in_head = False
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

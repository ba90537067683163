"""uvicorn's httptools protocol with clear answers for an over-long request line or header block.

httptools cannot split a URL over 65,535 bytes, and uvicorn then answers a bare 400 "Invalid HTTP request
received."; it also keeps headers of any size. This protocol answers 414 (URL) or 431 (headers) with a
message saying what to do, and drops a connection whose request head grows past both limits unfinished.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL_BYTES = 65_535  # httptools.parse_url's own limit
MAX_HEADER_BYTES = 65_536  # gunicorn allowed 100 headers of 8 KB; real clients send a few hundred bytes
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def _refusal(status: int, message: str) -> ASGIApp:
    body = message.encode()

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"access-control-allow-origin", b"*"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    return app


URL_TOO_LONG = _refusal(414, f"The URL is over {MAX_URL_BYTES:,} bytes: send a long query by POST.\n")
HEADERS_TOO_LARGE = _refusal(431, f"The request headers are over {MAX_HEADER_BYTES:,} bytes.\n")


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0  # bytes received since the current request began, while its head is unfinished

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_bytes = -1
        refusal = None
        if len(self.url) > MAX_URL_BYTES:
            refusal, self.url = URL_TOO_LONG, b"/"  # a URL httptools can split; the app answers 414
        elif sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_HEADER_BYTES:
            refusal = HEADERS_TOO_LARGE
        if refusal is None:
            return super().on_headers_complete()
        # uvicorn answers its concurrency limit the same way: the request's cycle runs another app.
        app, self.app = self.app, refusal
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_bytes >= 0 and not self.transport.is_closing():  # the head is still coming
            self._head_bytes += len(data)
            if self._head_bytes > MAX_URL_BYTES + MAX_HEADER_BYTES + 65_536:
                self.transport.close()  # nothing a client would send; httptools holds at most one more chunk

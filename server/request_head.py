"""uvicorn's httptools protocol with clear answers for an over-long request line or header block.

httptools cannot split a URL over 65,535 bytes, and uvicorn then answers a bare 400 "Invalid HTTP request
received."; it also keeps headers of any size. This protocol marks such a request as refused (the ASGI front,
server/asgi.py, answers it with 414 or 431 and a message, and logs it) and drops a connection whose request
head grows past both limits unfinished.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL_BYTES = 65_535  # httptools.parse_url's own limit
MAX_HEADER_BYTES = 65_536  # gunicorn allowed 100 headers of 8 KB; real clients send a few hundred bytes
REFUSED = "kg.refused"  # the scope extension that carries (status, message) to the ASGI front


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
            refusal = (414, f"The URL is over {MAX_URL_BYTES:,} bytes: send a long query by POST.\n")
            path = self.url.split(b"?", 1)[0]  # a URL httptools can split, for the log
            self.url = path if len(path) <= MAX_URL_BYTES else b"/"
        elif sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_HEADER_BYTES:
            refusal = (431, f"The request headers are over {MAX_HEADER_BYTES:,} bytes.\n")
        if refusal is not None:
            self.scope.setdefault("extensions", {})[REFUSED] = refusal
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_bytes >= 0 and not self.transport.is_closing():  # the head is still coming
            self._head_bytes += len(data)
            if self._head_bytes > MAX_URL_BYTES + MAX_HEADER_BYTES + 65_536:
                self.transport.close()  # nothing a client would send; httptools holds at most one more chunk

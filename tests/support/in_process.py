"""The Flask app in this process, spoken to through Flask's test client: for tests of a view's answer that do
not need the serving stack (gunicorn, the ASGI front and its cache, request-head limits).

`InProcessSite` takes the same calls as `servers.RunningServer` (`get`, `post`, with requests' keywords) and
answers with `Answer`, which reads like a `requests.Response`, so a view test reads the same either way. Like
requests, it sends `Accept: */*` and `Accept-Encoding: gzip, deflate` unless told otherwise, follows redirects
(but not for HEAD), and decodes a gzip-encoded body (the raw bytes stay in `Answer.raw`)."""

from __future__ import annotations

import gzip
import json
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from werkzeug.test import TestResponse

# Where the test client pretends the site is served; unlike the base IRI (port 8000), as with the live server.
SITE_URL = "http://127.0.0.1:5000"


class Answer:
    """A response from the test client, read through requests' names."""

    def __init__(self, response: TestResponse) -> None:
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.raw = response.get_data()
        gzipped = response.headers.get("Content-Encoding") == "gzip" and self.raw
        self.content = gzip.decompress(self.raw) if gzipped else self.raw
        self.url = response.request.url
        self.history = [Answer(earlier) for earlier in response.history]

    @property
    def text(self) -> str:
        return self.content.decode(self.response.mimetype_params.get("charset", "utf-8"))

    def json(self) -> Any:
        return json.loads(self.content)


class InProcessSite:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.url = SITE_URL

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                data: dict[str, Any] | str | bytes | None = None, headers: dict[str, str] | None = None,
                allow_redirects: bool = True) -> Answer:
        headers = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate", **(headers or {})}
        path = path.removeprefix(SITE_URL)  # a URL an earlier answer gave (Answer.url)
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
        body: bytes | None = None
        if isinstance(data, dict):  # a form, as requests sends it (an empty one sends nothing)
            if data:
                body = urlencode(data, doseq=True).encode()
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(data, str):
            body = data.encode()
        elif data is not None:
            body = data
        with self.app.test_client() as client:
            response = client.open(path, method=method, data=body, headers=headers, base_url=SITE_URL,
                                   follow_redirects=allow_redirects)
        return Answer(response)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Answer:
        kwargs.setdefault("allow_redirects", False)  # as requests.head
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Answer:
        return self.request("OPTIONS", path, **kwargs)

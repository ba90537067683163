"""The two error types: a Problem answers one request; a SetupError stops the server before it serves.

Problem is the one error that travels from the engine to the response (the name is RFC 9457's, "problem
details for HTTP APIs"): the policy, the query service, a query process (across the pipe), the SERVICE relay,
negotiation, the fair scheduler and the views raise it, and the web layer's one handler writes it as plain text or
JSON. Nothing translates it into another type on the way.
"""

from __future__ import annotations

import math
from http import HTTPStatus


class Problem(Exception):
    """Why a request is not answered as asked: an HTTP status and a message a person can act on.

    `cause` names a failure of ours rather than the client's (a dead query process: time-limit, memory-limit,
    stack-overflow, engine-panic, killed, exited), for the access log and the server log. `retry_after_s` is
    sent as Retry-After (the fair scheduler's 429 and 503)."""

    def __init__(self, status: int, message: str, cause: str | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.cause = cause
        self.retry_after_s = retry_after_s

    def __reduce__(self) -> tuple[type[Problem], tuple[int, str, str | None, float | None]]:
        # A query process sends its Problem to the server pickled; an Exception's default pickling keeps only
        # the message.
        return type(self), (self.status, self.message, self.cause, self.retry_after_s)

    @property
    def reason(self) -> str:
        """The status's reason phrase ("Not Acceptable"), for a page's title."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    @property
    def retry_after(self) -> int | None:
        """Whole seconds for the Retry-After header, one at least."""
        return None if self.retry_after_s is None else max(1, math.ceil(self.retry_after_s))


class SetupError(Exception):
    """The server cannot start, or a command cannot run, as set up: a data file that does not parse or cannot be
    read, a damaged on-disk store, a malformed stored query, a port in use. Said in one line; `kg` exits 1."""


__all__ = ["Problem", "SetupError"]

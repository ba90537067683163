"""The real server as a process (gunicorn, the ASGI front, query processes) on a loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from nato_kg.settings import PROJECT_ROOT, WIKIDATA_SPARQL

T = TypeVar("T")
BASE_IRI = "http://127.0.0.1:8000/"  # the default; tests pin it so expected IRIs do not depend on the port
# Tests never reach the real Wikidata: its allowed IRI is routed to a closed loopback port (a test that needs it
# routes it to a stand-in, tests/test_federation.py).
NO_WIKIDATA = {"KG_SERVICE_ROUTES": f"{WIKIDATA_SPARQL}=http://127.0.0.1:9/no-wikidata-in-tests"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except (requests.ConnectionError, requests.Timeout):  # not accepting yet, or still loading
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout_s} s")


@dataclass
class RunningServer:
    url: str  # e.g. http://127.0.0.1:41234
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]


class _FromAddress(requests.adapters.HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[no-untyped-call]


def client_at(address: str) -> requests.Session:
    """A requests session whose connections come from `address` (another loopback address: another client)."""
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def raw_exchange(server: RunningServer, *pieces: bytes) -> bytes:
    """Send bytes exactly as given, piece by piece (requests would merge or reorder headers); read until the
    server closes the connection."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        for piece in pieces:
            connection.sendall(piece)
            time.sleep(0.05)  # separate reads on the server's side
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def start_server(tmp: Path, *extra_args: str, env: dict[str, str] | None = None,
                 ready_path: str = "/health", port: int | None = None,
                 wrapper: Sequence[str] = ()) -> RunningServer:
    """`wrapper` is a command line the server's is appended to (it must exec it, keeping the pid)."""
    port = port or free_port()
    log = tmp / f"server-{port}.log"
    process = subprocess.Popen(
        [*wrapper, sys.executable, "-m", "nato_kg.cli", "serve", "--port", str(port), "--base-iri", BASE_IRI,
         *extra_args],
        cwd=PROJECT_ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **NO_WIKIDATA, **(env or {})},
        start_new_session=True,  # its own process group: stop_server ends the workers and query processes too
    )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log)
    wait_until_up(server.url + ready_path, process)
    return server


def stop_server(server: RunningServer) -> None:
    group = server.process.pid  # it leads its own session, so its pid names its process group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # whatever is left of the group: workers, query processes
        os.killpg(group, signal.SIGKILL)
    server.process.wait(timeout=10)


def wait_for_log_lines(server: RunningServer, *lines: str, timeout_s: float = 30) -> str:
    """The server's log once it holds every one of `lines`: an access-log line may be written after its answer
    has reached the client, so a test polls for it, with a deadline, rather than reading the log at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        logged = server.log.read_text()
        if all(line in logged for line in lines) or time.monotonic() > deadline:
            return logged
        time.sleep(0.05)


def wait_for(check: Callable[[], T | None], what: str, timeout_s: float = 60) -> T:
    """Poll `check` until it returns something truthy, and return that; fail naming `what` at the deadline.
    For events another process makes happen on its own time (a log line, a query process getting busy)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout_s:g} s for {what}")
        time.sleep(0.05)


def log_lines(server: RunningServer, *parts: str, timeout_s: float = 30) -> list[str]:
    """The server's log lines that contain every one of `parts`, once at least one is there (polled)."""
    def matching() -> list[str]:
        return [line for line in server.log.read_text(errors="replace").splitlines()
                if all(part in line for part in parts)]
    return wait_for(matching, f"a log line with {' and '.join(map(repr, parts))}", timeout_s)

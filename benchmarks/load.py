"""Closed-loop load: C clients on keep-alive connections send the same GET, bounded by count and by time
(or, on request, a GET whose query text is new each time, or that names rotating client addresses).

Two drivers with the same contract:
- wrk (Debian's `wrk`, C, one thread): the default when installed; costs the machine little, so the
  servers, not the client, are measured.
- python: threads with a requests.Session each; needs nothing, but on 2 cores the client itself takes
  CPU from the server and caps throughput at a few thousand requests a second.
Only loopback URLs are accepted.
"""

from __future__ import annotations

import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Request:
    url: str  # full URL, query string included
    headers: dict[str, str] = field(default_factory=dict)
    expected_status: int = 200
    # Each request asks a query text never sent before: the URL's last parameter must be `query`; a comment line
    # unique to the run, the client thread and the request is appended to it (the answer stays the same).
    fresh_query: bool = False
    # N > 0: each request names one of N loopback addresses in X-Forwarded-For, in turn, so a server that trusts
    # the proxy at 127.0.0.1 counts them as N clients (its per-client caps are not what gets measured).
    client_addresses: int = 0

    def dynamic(self) -> bool:
        return self.fresh_query or self.client_addresses > 0


FORWARDED_FOR = "X-Forwarded-For"


def fresh_suffix(run: str, client: int, number: int) -> str:
    """Percent-encoded newline and comment, `#<run>-<client>-<number>`, appended to the `query` parameter."""
    return f"%0A%23{run}-{client}-{number}"


def client_address(client: int, number: int, addresses: int) -> str:
    return f"127.77.{client % 256}.{number % addresses + 1}"


@dataclass
class Measurement:
    requests: int
    duration_s: float
    throughput: float  # requests per second
    p50_ms: float
    p99_ms: float
    mean_ms: float
    errors: int  # unexpected status, socket errors, timeouts
    driver: str
    error_detail: dict[str, int] = field(default_factory=dict)  # wrk: bad status, connect, read, ...

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS and not (host or "").startswith("127."):
        raise ValueError(f"load is only ever sent to loopback, not {host}")


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


WRK_SCRIPT = """
local expected = {expected}
local max_requests = {max_requests}
{headers}
count = 0
bad = 0
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("client", #threads)
end
{request}
function response(status, headers, body)
  count = count + 1
  if status ~= expected then bad = bad + 1 end
  if count >= max_requests then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local n, b = 0, 0
  for _, t in ipairs(threads) do n = n + t:get("count"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %f,' ..
    ' "bad": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    b, e.connect, e.read, e.write, e.timeout))
end
"""


# Only when needed: a request() function makes wrk build each request in Lua, which costs the client CPU.
WRK_REQUEST = """
local target = {target}
local fresh = {fresh}
local addresses = {addresses}
local run = {run}
local number = 0
function request()
  number = number + 1
  local path = target
  if fresh then path = path .. "%0A%23" .. run .. "-" .. client .. "-" .. number end
  if addresses > 0 then
    wrk.headers["{forwarded_for}"] = "127.77." .. (client % 256) .. "." .. (number % addresses + 1)
  end
  return wrk.format(nil, path)
end
"""

ERROR_KINDS = ("bad", "connect", "read", "write", "timeout")


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(request: Request, clients: int, duration_s: int, max_requests: int,
            timeout_s: int = 30) -> Measurement:
    _check_loopback(request.url)
    headers = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}"
                        for k, v in request.headers.items())
    dynamic = ""
    if request.dynamic():
        parts = urlsplit(request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        dynamic = WRK_REQUEST.format(target=_lua_string(target), fresh=str(request.fresh_query).lower(),
                                     addresses=request.client_addresses, run=_lua_string(_run_tag()),
                                     forwarded_for=FORWARDED_FOR)
    script = WRK_SCRIPT.format(expected=request.expected_status, max_requests=max_requests, headers=headers,
                               request=dynamic)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        completed = subprocess.run(
            ["wrk", "-t1", f"-c{clients}", f"-d{duration_s}s", f"--timeout={timeout_s}s", "-s", f.name,
             request.url],
            capture_output=True, text=True, timeout=duration_s + timeout_s + 30,
        )
    finally:
        Path(f.name).unlink()
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    duration = raw["duration_us"] / 1e6
    return Measurement(
        requests=raw["requests"], duration_s=duration, throughput=raw["requests"] / duration,
        p50_ms=raw["p50_us"] / 1000, p99_ms=raw["p99_us"] / 1000, mean_ms=raw["mean_us"] / 1000,
        errors=sum(raw[k] for k in ERROR_KINDS), driver="wrk",
        error_detail={k: raw[k] for k in ERROR_KINDS if raw[k]},
    )


def run_python(request: Request, clients: int, duration_s: int, max_requests: int,
               timeout_s: int = 30) -> Measurement:
    _check_loopback(request.url)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + duration_s

    run_tag = _run_tag()

    def client(number_of_client: int) -> None:
        nonlocal errors
        url, headers, number = request.url, dict(request.headers), 0
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with lock:
                    if len(latencies) + errors >= max_requests:
                        return
                number += 1
                if request.fresh_query:
                    url = request.url + fresh_suffix(run_tag, number_of_client, number)
                if request.client_addresses:
                    headers[FORWARDED_FOR] = client_address(number_of_client, number, request.client_addresses)
                start = time.perf_counter()
                try:
                    ok = session.get(url, headers=headers,
                                     timeout=timeout_s).status_code == request.expected_status
                except requests.RequestException:
                    ok = False
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    errors += not ok

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n + 1,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration_s + timeout_s + 5)
    duration = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]
    return Measurement(
        requests=len(latencies), duration_s=duration, throughput=len(latencies) / duration,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        mean_ms=statistics.fmean(ordered) * 1000, errors=errors, driver="python",
    )


def _run_tag() -> str:
    """Letters and digits unique to one run of a driver, so fresh query texts never repeat across runs."""
    return secrets.token_hex(6)


def run(driver: str, request: Request, clients: int, duration_s: int, max_requests: int) -> Measurement:
    runner = run_wrk if driver == "wrk" else run_python
    return runner(request, clients, duration_s, max_requests)


def warm_and_run(driver: str, request: Request, clients: int, duration_s: int,
                 max_requests: int) -> Measurement | None:
    """Warm up (at most 20 requests), then one bounded run of C clients; None if the server is gone."""
    run_python(request, clients, 2, 20)
    try:
        return run(driver, request, clients, duration_s, max_requests)
    except RuntimeError as error:
        print(f"  load failed: {error}", file=sys.stderr)
        return None

"""Closed-loop load: C clients on keep-alive connections send the same GET, bounded by count and by time.

Two drivers with the same contract:
- wrk (Debian's `wrk`, C, one thread): the default when installed; costs the machine little, so the
  servers, not the client, are measured.
- python: threads with a requests.Session each; needs nothing, but on 2 cores the client itself takes
  CPU from the server and caps throughput at a few thousand requests a second.
Only loopback URLs are accepted.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
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
function setup(thread) table.insert(threads, thread) end
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


ERROR_KINDS = ("bad", "connect", "read", "write", "timeout")


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(request: Request, clients: int, duration_s: int, max_requests: int,
            timeout_s: int = 30) -> Measurement:
    _check_loopback(request.url)
    headers = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}"
                        for k, v in request.headers.items())
    script = WRK_SCRIPT.format(expected=request.expected_status, max_requests=max_requests, headers=headers)
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

    def client() -> None:
        nonlocal errors
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with lock:
                    if len(latencies) + errors >= max_requests:
                        return
                start = time.perf_counter()
                try:
                    ok = session.get(request.url, headers=request.headers,
                                     timeout=timeout_s).status_code == request.expected_status
                except requests.RequestException:
                    ok = False
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    errors += not ok

    began = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
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


def run(driver: str, request: Request, clients: int, duration_s: int, max_requests: int) -> Measurement:
    runner = run_wrk if driver == "wrk" else run_python
    return runner(request, clients, duration_s, max_requests)

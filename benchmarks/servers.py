"""The servers under test, each started as a process of ours on a loopback port, and stopped by its id.

- ours: `kg serve` (gunicorn with uvicorn workers) on a data folder with ontology/ and graph/.
- oxigraph: `oxigraph serve-read-only` on an on-disk store filled by `oxigraph load` (how it is deployed),
  or `oxigraph serve` in memory with the data POSTed to /store; both with --union-default-graph, as ours.
- rdflib-endpoint: `rdflib-endpoint serve` (rdflib's Memory store, FastAPI/uvicorn) from the bench venv.
The two others get our dataset dumped as N-Quads by our own loader, so the three hold the same quads.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = PROJECT_ROOT / "var" / "bench-venv"
LOOPBACK = "127.0.0.1"  # the only address any of this talks to


@dataclass
class Server:
    name: str
    sparql_url: str  # the SPARQL 1.1 Protocol query endpoint
    process: subprocess.Popen[bytes]
    log: Path
    version: str

    def stop(self) -> None:
        """Stop the process group this harness started (gunicorn's master and its workers)."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _spawn(command: list[str], log: Path, env: dict[str, str] | None = None,
           cwd: Path = PROJECT_ROOT) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, start_new_session=True)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{tail}")
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout_s:.0f} s (log: {log})")


def _version(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def dump_nquads(data_dir: Path, base_iri: str, out: Path) -> int:
    """Load the data folder with our own loader (server/data/store.py) and write it as N-Quads; return quads."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from nato_kg.data.store import load_dataset, native_store
    from nato_kg.settings import Settings

    dataset = load_dataset(Settings.from_env(environ={}, data_dir=data_dir, base_iri=base_iri))
    store = native_store(dataset)
    store.dump(str(out), format=ox.RdfFormat.N_QUADS)
    return len(store)


def start_ours(data_dir: Path, base_iri: str, workdir: Path, extra_env: dict[str, str] | None = None,
               timeout_s: float = 600, *, name: str = "ours", package: str = "nato_kg",
               source: Path = PROJECT_ROOT) -> Server:
    """`kg serve` as `python -m <package>.cli serve`, run from `source` (a checkout: its git commit is the
    version). A caller running another checkout's code puts it on PYTHONPATH in extra_env."""
    port = free_port()
    log = workdir / f"{name}.log"
    command = [sys.executable, "-m", f"{package}.cli", "serve", "--host", LOOPBACK, "--port", str(port),
               "--data-dir", str(data_dir), "--base-iri", base_iri]
    # No SERVICE endpoint allowed: whatever a query says, load from here never leaves this machine.
    process = _spawn(command, log, {"KG_ALLOWED_SERVICE_ENDPOINTS": "", **(extra_env or {})}, cwd=source)
    _wait_until_up(f"http://{LOOPBACK}:{port}/health", process, log, timeout_s)
    commit = _version(["git", "-C", str(source), "rev-parse", "--short", "HEAD"])
    return Server(name, f"http://{LOOPBACK}:{port}/sparql", process, log, f"kg serve @ {commit}")


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
    if not found:
        raise SystemExit("`oxigraph` is not installed: pip install -e '.[test]' (PyPI package `oxigraph`)")
    return found


def start_oxigraph(nquads: Path, workdir: Path, storage: str, timeout_s: float = 600) -> Server:
    binary = oxigraph_binary()
    port = free_port()
    bind = f"{LOOPBACK}:{port}"
    log = workdir / "oxigraph.log"
    # No --timeout-s: with it, oxigraph 0.5.13 starts a thread per query and, at thousands of queries a
    # second, runs out of threads and aborts ("failed to allocate an alternative stack").
    common = ["--bind", bind, "--union-default-graph"]
    if storage == "disk":
        location = workdir / "oxigraph-store"
        shutil.rmtree(location, ignore_errors=True)
        subprocess.run([binary, "load", "--location", str(location), "--file", str(nquads)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout_s)
        process = _spawn([binary, "serve-read-only", "--location", str(location), *common], log)
    else:
        process = _spawn([binary, "serve", *common], log)
    base = f"http://{bind}"
    _wait_until_up(f"{base}/query?query=ASK%7B%7D", process, log, timeout_s)
    if storage == "memory":
        with nquads.open("rb") as body:
            response = requests.post(f"{base}/store", data=body, timeout=timeout_s,
                                     headers={"Content-Type": "application/n-quads"})
        response.raise_for_status()
    version = _version([binary, "--version"])
    return Server("oxigraph", f"{base}/query", process, log, f"{version} ({storage})")


def rdflib_endpoint_binary() -> str | None:
    candidate = BENCH_VENV / "bin" / "rdflib-endpoint"
    return str(candidate) if candidate.exists() else shutil.which("rdflib-endpoint")


def setup_bench_venv() -> None:
    """A separate venv for the optional third server and the profilers; never the project's venv."""
    if not (BENCH_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run([str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "rdflib-endpoint[cli]>=0.5,<1", "py-spy", "pyinstrument"], check=True)


def start_rdflib_endpoint(nquads: Path, workdir: Path, timeout_s: float = 900) -> Server:
    binary = rdflib_endpoint_binary()
    if not binary:
        raise RuntimeError("rdflib-endpoint is not installed (python benchmarks/endpoint.py --setup)")
    port = free_port()
    log = workdir / "rdflib-endpoint.log"
    process = _spawn([binary, "serve", str(nquads), "--host", LOOPBACK, "--port", str(port)], log)
    base = f"http://{LOOPBACK}:{port}"
    _wait_until_up(f"{base}/?query=ASK%7B%7D", process, log, timeout_s)
    python = Path(binary).parent / "python"
    version = _version([str(python), "-c", "import importlib.metadata as m; print('rdflib-endpoint',"
                        " m.version('rdflib-endpoint'), 'rdflib', m.version('rdflib'))"])
    return Server("rdflib-endpoint", f"{base}/", process, log, version)

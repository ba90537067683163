"""Start-up that fails loudly and briefly: each fault in the data or the store is one or two lines naming the
file and what to do, and a non-zero exit, found before any worker starts. Real FIFOs, links, sockets, a
read-only mount, and a store with damaged bytes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.servers import BASE_IRI, free_port, start_server, stop_server

from nato_kg.settings import PROJECT_ROOT
from nato_kg.web.ui import HOW_TO_GET_THE_EDITOR


def serve(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """`kg serve` that is expected to stop on its own (a hang is a failure: the timeout raises)."""
    return subprocess.run([sys.executable, "-m", "nato_kg.cli", "serve", "--port", str(free_port()),
                           "--base-iri", BASE_IRI, *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=timeout_s)


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The one- or two-line message of a refused start (without the notice that the built editor is missing,
    which `kg serve` prints first when Node.js was not there to build it)."""
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line != HOW_TO_GET_THE_EDITOR]
    assert 1 <= len(lines) <= 2, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("kg serve: ")
    return "\n".join(lines)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the project's data folders, to damage."""
    copy = tmp_path / "data"
    for folder in ("ontology", "graph", "queries"):
        shutil.copytree(PROJECT_ROOT / folder, copy / folder)
    return copy


def test_bad_turtle_names_the_file_line_and_column(data_dir):
    (data_dir / "graph" / "broken.ttl").write_text('@prefix : <id/> .\n:a :b :c .\n:x :y "no end .\n')
    message = refusal(serve("--data-dir", str(data_dir)))
    assert f"{data_dir / 'graph' / 'broken.ttl'}:3:7: not valid Turtle" in message
    assert "Unexpected end of file" in message


def test_a_fifo_named_ttl_is_refused_without_being_opened(data_dir):
    fifo = data_dir / "graph" / "x.ttl"
    os.mkfifo(fifo)
    # Opening a FIFO for reading waits for a writer: a server that opened it would never return here.
    message = refusal(serve("--data-dir", str(data_dir), timeout_s=60))
    assert message == f"kg serve: {fifo} is not a regular file (a FIFO); it was not opened: replace it with a " \
                      "Turtle file or remove it"


def test_a_socket_named_ttl_is_refused(data_dir):
    path = data_dir / "graph" / "s.ttl"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        assert "is not a regular file (a socket)" in refusal(serve("--data-dir", str(data_dir)))


def test_a_broken_symbolic_link_is_named_with_its_target(data_dir):
    link = data_dir / "graph" / "gone.ttl"
    link.symlink_to(data_dir / "nowhere.ttl")
    assert refusal(serve("--data-dir", str(data_dir))) == (
        f"kg serve: {link} is a broken symbolic link (to {data_dir / 'nowhere.ttl'}); point it at a Turtle file "
        "or remove it")


def test_an_unreadable_file_is_named(data_dir):
    # Permissions do not stop root (CI runs as root); /proc/self/mem is a regular file that no one can read
    # from its start: every read gives an I/O error.
    unreadable = data_dir / "graph" / "unreadable.ttl"
    unreadable.symlink_to("/proc/self/mem")
    assert refusal(serve("--data-dir", str(data_dir))) == (
        f"kg serve: {unreadable} cannot be read (Input/output error (os error 5)); check the file and its "
        "permissions")


def test_a_missing_graph_folder_is_refused(tmp_path):
    message = refusal(serve("--data-dir", str(tmp_path)))
    assert f"{tmp_path / 'graph'} does not exist, so there is no data to serve" in message
    assert "--allow-empty-graph" in message


def test_an_empty_graph_folder_is_refused(data_dir):
    for turtle in (data_dir / "graph").glob("*.ttl"):
        turtle.unlink()
    message = refusal(serve("--data-dir", str(data_dir)))
    assert f"{data_dir / 'graph'} holds no .ttl file" in message


def test_an_empty_graph_folder_is_served_when_allowed(data_dir, tmp_path):
    for turtle in (data_dir / "graph").glob("*.ttl"):
        turtle.unlink()
    server = start_server(tmp_path, "--data-dir", str(data_dir), "--allow-empty-graph", "--workers", "1",
                          "--query-processes", "1")
    try:
        health = server.get("/health").json()
        assert health["status"] == "ok"
        assert health["graphs"] == [BASE_IRI + "graph/ontology"]
    finally:
        stop_server(server)


def test_a_port_in_use_is_one_line():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "nato_kg.cli", "serve", "--port", str(port)],
                                cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert refusal(result) == (f"kg serve: port {port} on 127.0.0.1 is already in use (another kg serve?); stop "
                               "that server or choose another --port")


def build_store(store: Path) -> None:
    """Build the on-disk store in a child process (RocksDB's threads stay out of the test process)."""
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from nato_kg.settings import Settings; from nato_kg.data.disk_store import ensure_store; "
                    "ensure_store(Settings.from_env(base_iri=sys.argv[2], store_dir=Path(sys.argv[1])))",
                    str(store), BASE_IRI], cwd=PROJECT_ROOT, check=True, timeout=120)


def damage(store: Path) -> list[Path]:
    """Zero 2,000 bytes in the middle of each larger table file, as a failing disk might."""
    damaged = []
    for table in sorted((store / "oxigraph").glob("*.sst")):
        if table.stat().st_size > 5000:
            with table.open("r+b") as data:
                data.seek(1000)
                data.write(bytes(2000))
            damaged.append(table)
    assert damaged
    return damaged


def test_a_damaged_store_is_reported_at_start_with_the_command_that_rebuilds_it(tmp_path):
    store = tmp_path / "store"
    build_store(store)
    first = damage(store)[0]
    message = refusal(serve("--store", str(store)))
    assert message == (f"kg serve: the store in {store} is damaged: oxigraph/{first.name} differs from when it "
                       f"was built; rebuild it from the Turtle files: kg serve --store {store} --rebuild-store")
    server = start_server(tmp_path, "--store", str(store), "--rebuild-store", "--workers", "1",
                          "--query-processes", "1")
    try:
        assert server.get("/health").json()["triples"] == 2113
    finally:
        stop_server(server)


def test_a_storage_fault_at_query_time_is_a_500_that_says_the_store_is_damaged(tmp_path):
    store = tmp_path / "store"
    build_store(store)
    damage(store)
    # Damage the check cannot see: it happened before the checksums were taken.
    checksums = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                 for path in sorted((store / "oxigraph").iterdir()) if not path.name.startswith(("LOG", "LOCK"))}
    (store / "checksums.json").write_text(json.dumps(checksums))
    server = start_server(tmp_path, "--store", str(store), "--workers", "1", "--query-processes", "1",
                          ready_path="/sparql")
    try:
        page = server.get("/doc/nato", headers={"Accept": "text/turtle"})
        assert page.status_code == 500
        assert page.text.startswith("the store is damaged, so this query cannot be answered (Corruption: block "
                                    "checksum mismatch")
        assert "kg serve --store DIR --rebuild-store" in page.text
        # Counting every triple reads damaged lengths too: the query process dies (a huge allocation fails);
        # /health says unavailable, not ok.
        assert server.get("/health").status_code == 503
    finally:
        stop_server(server)


def read_only_mount(folder: Path) -> list[str]:
    """A command prefix that runs the server in its own mount namespace with `folder` mounted read-only: a
    read-only file system stops root too (CI runs as root, for whom permissions are no obstacle)."""
    if os.geteuid() != 0:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        return []
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "true"], capture_output=True)
    # Root without mount namespaces could write anywhere: the test cannot make a read-only folder, and says so.
    assert probe.returncode == 0, f"cannot make a mount namespace here: {probe.stderr.decode().strip()}"
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"', str(folder)]


def test_a_built_store_on_a_read_only_folder_is_served(tmp_path):
    store = tmp_path / "store"
    build_store(store)
    (store / ".lock").unlink()  # nothing may be created there either
    server = start_server(tmp_path, "--store", str(store), "--workers", "1", "--query-processes", "1",
                          wrapper=read_only_mount(store))
    try:
        assert server.get("/health").json()["triples"] == 2113
        assert server.get("/doc/nato", headers={"Accept": "text/turtle"}).status_code == 200
        assert not (store / ".lock").exists()
    finally:
        stop_server(server)

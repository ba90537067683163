"""Starting the server: how to pick the port, and what a busy one says."""

from __future__ import annotations

import socket
import subprocess
import sys

from conftest import free_port

from nato_kg.settings import PROJECT_ROOT


def test_a_busy_port_is_one_clear_line_and_exit_status_1():
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        run = subprocess.run([sys.executable, "-m", "nato_kg.cli", "serve", "--port", str(port)], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        f"kg serve: 127.0.0.1:{port} is already in use (another server is listening there); choose another port: "
        f"kg serve --port {port + 1}, or make serve PORT={port + 1}"]


def test_the_readme_says_how_to_change_the_port_and_the_makefile_does_it():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "`make serve PORT=8080`" in quick_start
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "PORT   ?= 8000" in makefile and "--port $(PORT)" in makefile

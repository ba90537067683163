"""Starting the server: how to pick the port (a busy one: tests/test_startup_faults.py)."""

from __future__ import annotations

from nato_kg.settings import PROJECT_ROOT


def test_the_readme_says_how_to_change_the_port_and_the_makefile_does_it():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "`make serve PORT=8080`" in quick_start
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "PORT   ?= 8000" in makefile and "--port $(PORT)" in makefile

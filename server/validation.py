"""`kg validate`: every check the graph files must pass, as one readable report (exit 1 on any problem)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from .settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[Settings], Iterator[str]]  # yields one message per problem found


def turtle_files(data_dir: Path) -> list[Path]:
    return sorted([*(data_dir / "ontology").glob("*.ttl"), *(data_dir / "graph").glob("*.ttl")])


def _turtle_parses(settings: Settings) -> Iterator[str]:
    for path in turtle_files(settings.data_dir):
        try:
            Graph().parse(path, format="turtle", publicID=settings.base_iri)
        except Exception as exc:  # a parser error is a finding to report, not a crash
            yield f"{path.relative_to(settings.data_dir)}: {exc}"


CHECKS: list[Check] = [
    Check("parse", "every Turtle file parses", _turtle_parses),
]


def run_checks(settings: Settings) -> dict[str, list[str]]:
    return {check.name: list(check.run(settings)) for check in CHECKS}


def main(settings: Settings) -> int:
    results = run_checks(settings)
    for check in CHECKS:
        problems = results[check.name]
        print(f"{'FAIL' if problems else 'ok  '}  {check.description}")
        for message in problems:
            print(f"      - {message}")
    total = sum(len(p) for p in results.values())
    print(f"{total} problem(s) in {len(turtle_files(settings.data_dir))} Turtle file(s)")
    return 1 if total else 0

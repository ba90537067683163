"""`make conformance`: every W3C SPARQL query test on plain pyoxigraph and through our /sparql path.

Prints a table per suite (one row per folder of the suite: a feature), the refusals with their reasons, and
the tests plain pyoxigraph passes but our path does not; `--write FILE` also writes them as Markdown.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from nato_kg.engine.query_service import QueryService
from nato_kg.settings import Settings

from . import fetch
from .federation import ORACLE, run_federation, service_tests
from .harness import GRAPH_PARSERS, RESULT_PARSERS, Outcome, PlainEngine, W3CTest, load_tests, run_tests

Results = list[tuple[W3CTest, Outcome, Outcome]]
COLUMNS = ("tests", "plain pass", "plain fail", "plain not run", "ours pass", "ours fail", "ours refused",
           "ours not run")


def service() -> QueryService:
    """Our query path as /sparql has it: the default settings, one query process."""
    return QueryService(Settings.from_env(query_processes=1), held_graphs=())


def _counts(rows: Results) -> list[int]:
    plain = Counter(p.status for _, p, _ in rows)
    ours = Counter(o.status for _, _, o in rows)
    return [len(rows), plain["pass"], plain["fail"], plain["not run"], ours["pass"], ours["fail"],
            ours["refused"], ours["not run"]]


def refusal_reason(message: str) -> str:
    """A refusal's kind, as conformance/README.md documents them; anything else verbatim."""
    if message.startswith("403 SERVICE"):
        return "SERVICE to an endpoint off the allow-list (documented)"
    if re.match(r"403 (FROM|FROM NAMED) <", message):
        return "FROM / FROM NAMED naming a graph the test's dataset does not hold (documented)"
    return message


def regressions(results: Results) -> Results:
    """The tests plain pyoxigraph passes and our path does not (refusals included: each must be documented)."""
    return [r for r in results if r[1].status == "pass" and r[2].status != "pass"]


def documented(outcome: Outcome) -> bool:
    return outcome.status == "refused" and refusal_reason(outcome.detail).endswith("(documented)")


def undocumented(results: Results) -> Results:
    """The regressions that are not documented refusals: the goal is none."""
    return [r for r in regressions(results) if not documented(r[2])]


def report(results: Results, seconds: float, formats: str,
           federation: list[tuple[W3CTest, Outcome]] | None = None) -> str:
    """The whole report in Markdown (also readable as plain text)."""
    out = ["# W3C SPARQL query tests: plain pyoxigraph and our /sparql path", "",
           "Written by `make conformance` (conformance/run.py); conformance/README.md says what is run and "
           "how answers are compared.", ""]
    by_suite: dict[str, dict[str, Results]] = defaultdict(lambda: defaultdict(list))
    for row in results:
        by_suite[row[0].suite][row[0].part].append(row)
    out += ["| suite | tests | plain pyoxigraph passes | our path passes | our path refuses (documented) | "
            "plain passes, ours does not, undocumented |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for suite, parts in by_suite.items():
        rows = [r for part in parts.values() for r in part]
        out.append(f"| {suite} | {len(rows)} | {sum(p.status == 'pass' for _, p, _ in rows)} | "
                   f"{sum(o.status == 'pass' for _, _, o in rows)} | {sum(documented(o) for _, _, o in rows)} | "
                   f"{len(undocumented(rows))} |")
    out.append("")
    for suite, parts in by_suite.items():
        out += [f"## {suite}", "", "| folder | " + " | ".join(COLUMNS) + " |",
                "| --- |" + " ---: |" * len(COLUMNS)]
        for part, rows in parts.items():
            out.append(f"| {part} | " + " | ".join(str(n) for n in _counts(rows)) + " |")
        total = _counts([r for rows in parts.values() for r in rows])
        out += ["| **total** | " + " | ".join(f"**{n}**" for n in total) + " |", ""]
    refused = [r for r in results if r[2].status == "refused"]
    out += ["## Refused by our policy", ""]
    reasons: dict[str, list[str]] = defaultdict(list)
    for test, _, ours in refused:
        reasons[refusal_reason(ours.detail)].append(test.ident)
    out += [f"- {len(tests)} × {reason}: {', '.join(tests)}" for reason, tests in reasons.items()] or ["none"]
    out += ["", "## Passed by plain pyoxigraph, not by our path (documented refusals aside)", ""]
    out += [f"- {t.suite} {t.ident}: {o.status}: {o.detail}" for t, _, o in undocumented(results)] or ["none"]
    out += ["", "## Passed by our path, not by plain pyoxigraph", ""]
    out += [f"- {t.suite} {t.ident}: plain {p.status}: {p.detail}" for t, p, o in results
            if o.status == "pass" and p.status != "pass"] or ["none"]
    out += ["", "## Failed on both", ""]
    out += [f"- {t.suite} {t.ident} ({t.kind}): {p.detail}" for t, p, o in results
            if p.status == "fail" and o.status == "fail"] or ["none"]
    if federation is not None:
        out += ["", "## SPARQL 1.1 federation, the suite's endpoints allowed", "",
                "Our path with `allowed_service_endpoints` naming the endpoints the `service/` tests call and "
                "`service_routes` sending them to `oxigraph serve` stand-ins on loopback that hold each test's "
                "`qt:serviceData` (conformance/federation.py): the queries go through our SERVICE relay. Plain "
                "pyoxigraph cannot take part (it would call the real addresses).", "",
                "| test | our path | detail |", "| --- | --- | --- |"]
        out += [f"| {t.ident} | {o.status} | {o.detail.replace('|', '/')} |" for t, o in federation]
        passed = sum(o.status == "pass" for _, o in federation)
        out += ["", f"{passed} of {len(federation)} pass."]
    counted = f"{len(results)} tests" + (f" and {len(federation)} federation runs" if federation else "")
    out += ["", f"{counted} in {seconds:.0f} s; our path answered in {formats} (results / graphs).", ""]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="also write the report (Markdown) to this file")
    parser.add_argument("--part", action="append", help="only this folder (repeatable), e.g. sort")
    parser.add_argument("--result-format", choices=sorted(RESULT_PARSERS), default="json",
                        help="the format our path answers SELECT and ASK in (parsed back to compare)")
    parser.add_argument("--graph-format", choices=sorted(GRAPH_PARSERS), default="ttl",
                        help="the format our path answers CONSTRUCT and DESCRIBE in")
    args = parser.parse_args(argv)
    tests = load_tests(fetch.ensure())
    if args.part:
        tests = [t for t in tests if t.part in args.part]
    started = time.monotonic()
    ours, plain = service(), PlainEngine()
    try:
        results = run_tests(tests, ours, plain, args.result_format, args.graph_format)
    finally:
        plain.close()
        ours.close()
    federation = None
    if ORACLE.is_file() and not args.part:
        federation = run_federation(service_tests(tests))
    text = report(results, time.monotonic() - started, f"{args.result_format} / {args.graph_format}", federation)
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    return 1 if undocumented(results) else 0  # a test plain pyoxigraph passes and we fail, unexplained


if __name__ == "__main__":
    sys.exit(main())

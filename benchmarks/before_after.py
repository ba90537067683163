"""Before and after a change: two checkouts of our server and `oxigraph serve`, measured in one run.

    python benchmarks/before_after.py [--before 036dbb8] [--after REV] [--sizes real,100k] [--duration 2]

`--before` and `--after` name git revisions; each is checked out with `git worktree add --detach` into a
temporary folder (removed at the end, on Ctrl-C and SIGTERM too) and served from there by this venv's python
(`python -m <package>.cli serve`, the package being `server` up to the rename, `nato_kg` after it). Without
`--after`, the working tree is the after side. Both serve the same data folder (the after tree's, or the
synthetic data made from it) with the same settings and environment; `oxigraph serve-read-only` serves the
same quads.

Per size, in two phases (so only three servers run at once): the cache-on pair (the servers' default), then
the pair with KG_RESPONSE_CACHE_MB=0. In each phase before and after run in alternating order, round by round,
so a burst of other work on the machine hits both. Rows: the figures of benchmarks/RESULTS.md (the cheap SELECT
repeated, the same with the cache off, a cheap SELECT whose text is new each request, GROUP BY and CONSTRUCT
with the cache on and off), and the new-query path (cache on, a text never seen before each request: neither
the response cache nor any per-text memo can answer) at 1, 4 and 16 connections. Each row prints before and
after req/s and p50, after/before with PASS when after's throughput is at least 0.90x before's, and
oxigraph's figures with after/oxigraph. JSON goes to benchmarks/results/before_after.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: siblings are modules

import endpoint
import load
import servers
import synthetic

PROJECT_ROOT = servers.PROJECT_ROOT
DEFAULT_BEFORE = "036dbb8"  # main when issue 11 (the layout in sub-packages) was filed
BEFORE, AFTER, OXIGRAPH = "before", "after", "oxigraph"
KEPT = 0.90  # after's throughput must be at least this share of before's
NO_CACHE = {"KG_RESPONSE_CACHE_MB": "0"}


@dataclass(frozen=True)
class Tree:
    """One side of the comparison: a checkout of the project, and the name its package is imported by."""

    label: str
    path: Path
    commit: str  # full hash of the checked-out commit
    described: str  # what the reader is told: the revision asked for, the commit, uncommitted changes
    package: str  # `server` before the rename, `nato_kg` after
    shim: Path  # a folder put first on PYTHONPATH so that `package` is this tree's code

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.shim)}


def git(*args: str, cwd: Path = PROJECT_ROOT) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


def package_of(tree: Path) -> str:
    """The import name of the tree's package, from the `kg` entry point of its pyproject.toml."""
    with (tree / "pyproject.toml").open("rb") as f:
        scripts = tomllib.load(f).get("project", {}).get("scripts", {})
    entry = scripts.get("kg")
    if entry:
        return str(entry).split(":")[0].split(".")[0]
    return "nato_kg" if "nato_kg" in (tree / "server" / "cli.py").read_text(encoding="utf-8") else "server"


def make_shim(tree: Path, package: str, shim: Path) -> None:
    """`server` is importable from the tree itself; `nato_kg` is the tree's server/ folder under another name
    (pyproject's package-dir), so it gets a symbolic link. PYTHONPATH comes before the venv's editable install."""
    if package == "server":
        shim.symlink_to(tree, target_is_directory=True)
        return
    shim.mkdir()
    (shim / package).symlink_to(tree / "server", target_is_directory=True)


def verify_import(tree: Tree) -> str:
    """Import the package's cli as the server will (same python, PYTHONPATH, working folder) and check that it is
    this tree's file: not the venv's editable install of another checkout, nor a stale `server` elsewhere."""
    code = f"import importlib; print(importlib.import_module('{tree.package}.cli').__file__)"
    found = subprocess.run([sys.executable, "-c", code], cwd=tree.path, capture_output=True, text=True,
                           env={**os.environ, **tree.env()}, timeout=120)
    if found.returncode != 0:
        raise RuntimeError(f"{tree.label}: `import {tree.package}.cli` failed:\n{found.stderr[-2000:]}")
    module = Path(found.stdout.strip()).resolve()
    if not module.is_relative_to((tree.path / "server").resolve()):
        raise RuntimeError(f"{tree.label}: {tree.package}.cli is imported from {module}, not from {tree.path}")
    return str(module)


@contextlib.contextmanager
def checked_out(label: str, rev: str | None, workdir: Path) -> Iterator[Tree]:
    """The tree of `rev` in a temporary git worktree (removed on the way out), or the working tree for None."""
    path = PROJECT_ROOT
    if rev is not None:
        path = workdir / f"tree-{label}"
        git("worktree", "add", "--detach", "--quiet", str(path), rev)
    try:
        commit = git("rev-parse", "HEAD", cwd=path)
        if rev is None:
            dirty = git("status", "--porcelain", "--untracked-files=no", cwd=path)
            described = f"working tree at {commit[:7]}" + (" with uncommitted changes" if dirty else "")
        else:
            described = f"{rev} = {commit[:7]}"
        package = package_of(path)
        shim = workdir / f"shim-{label}"
        make_shim(path, package, shim)
        yield Tree(label, path, commit, described, package, shim)
    finally:
        if rev is not None:
            subprocess.run(["git", "-C", str(PROJECT_ROOT), "worktree", "remove", "--force", str(path)],
                           capture_output=True)
            subprocess.run(["git", "-C", str(PROJECT_ROOT), "worktree", "prune"], capture_output=True)


@dataclass(frozen=True)
class Spec:
    """One row: a query, with or without our response cache, a text new each request or not, C connections."""

    name: str
    query: endpoint.Query
    cache: bool
    fresh: bool
    connections: int
    section: str  # "figures" (benchmarks/RESULTS.md) or "new-query path"


def specs(connections: list[int], clients: int) -> list[Spec]:
    cheap = endpoint.Query("cheap SELECT", endpoint.CHEAP, endpoint.SELECT_JSON)
    group_by = endpoint.Query("GROUP BY", endpoint.GROUP_BY, endpoint.SELECT_JSON)
    construct = endpoint.Query("CONSTRUCT", endpoint.CONSTRUCT, endpoint.GRAPH_NT)
    figures = "figures"
    rows = [
        Spec("cheap SELECT repeated (cache on)", cheap, True, False, clients, figures),
        Spec("cheap SELECT (cache off)", cheap, False, False, clients, figures),
        Spec("cheap SELECT, new text (cache off)", cheap, False, True, clients, figures),
        Spec("GROUP BY (cache on)", group_by, True, False, clients, figures),
        Spec("GROUP BY (cache off)", group_by, False, False, clients, figures),
        Spec("CONSTRUCT (cache on)", construct, True, False, clients, figures),
        Spec("CONSTRUCT (cache off)", construct, False, False, clients, figures),
    ]
    rows += [Spec(f"new query, {c} conn (cache on)", cheap, True, True, c, "new-query path") for c in connections]
    return rows


@dataclass
class Result:
    spec: Spec
    checks: dict[str, endpoint.Check] = field(default_factory=dict)
    measured: dict[str, load.Measurement] = field(default_factory=dict)  # the best round
    rounds: dict[str, list[load.Measurement]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def ratio(self, a: str, b: str, metric: str = "throughput") -> float | None:
        x, y = self.measured.get(a), self.measured.get(b)
        if not x or not y:
            return None
        top, bottom = getattr(x, metric), getattr(y, metric)
        return top / bottom if bottom else None

    def verdict(self) -> str:
        """PASS or MISS; ERRORS when a side answered with something else than 200 (a quick 429 or 503 would
        count as throughput)."""
        if any(m.errors for name, m in self.measured.items() if name in (BEFORE, AFTER)):
            return "ERRORS"
        kept = self.ratio(AFTER, BEFORE)
        return "n/a" if kept is None else "PASS" if kept >= KEPT else "MISS"

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.spec.name, "section": self.spec.section, "query": self.spec.query.text,
            "cache": self.spec.cache, "fresh_text": self.spec.fresh, "connections": self.spec.connections,
            "checks": {n: {"status": c.status, "results": c.results, "seconds": round(c.seconds, 4),
                           "error": c.error} for n, c in self.checks.items()},
            "measured": {n: m.as_dict() for n, m in self.measured.items()},
            "rounds": {n: [m.as_dict() for m in ms] for n, ms in self.rounds.items()},
            "throughput_after_over_before": self.ratio(AFTER, BEFORE),
            "p50_after_over_before": self.ratio(AFTER, BEFORE, "p50_ms"),
            "throughput_after_over_oxigraph": self.ratio(AFTER, OXIGRAPH),
            "throughput_before_over_oxigraph": self.ratio(BEFORE, OXIGRAPH),
            "verdict": self.verdict(), "notes": self.notes,
        }


@dataclass(frozen=True)
class Options:
    sizes: list[str]
    duration_s: int
    rounds: int
    clients: int
    connections: list[int]
    max_requests: int
    driver: str
    client_addresses: int
    oxigraph_storage: str
    wait_quiet_s: int
    only: re.Pattern[str] | None
    server_env: dict[str, str]  # --env: given to both of our servers (a setting the other tree lacks is ignored)


def request_for(server: servers.Server, spec: Spec, options: Options) -> load.Request:
    # Rows whose requests reach the query processes name rotating client addresses (when asked), so the after
    # tree's per-client fair-scheduling caps, which the before tree lacks, are not what is measured.
    evaluated = spec.fresh or not spec.cache
    return load.Request(endpoint.get_url(server, spec.query), {"Accept": spec.query.accept},
                        fresh_query=spec.fresh, client_addresses=options.client_addresses if evaluated else 0)


def measure_row(spec: Spec, running: dict[str, servers.Server], options: Options) -> Result:
    result = Result(spec)
    loadable: dict[str, load.Request] = {}
    for name, server in running.items():
        # A fresh-text row is checked with a text of its own, so its load never repeats the checked one.
        query = spec.query if not spec.fresh else endpoint.Query(spec.query.name, spec.query.text + "\n#check",
                                                                spec.query.accept)
        result.checks[name] = first = endpoint.check(server, query)
        if first.status != 200:
            result.notes.append(f"{name}: HTTP {first.status} {first.error}")
        else:
            loadable[name] = request_for(server, spec, options)
    def measure_one(name: str, number: int) -> load.Measurement | None:
        return load.warm_and_run(options.driver, loadable[name], spec.connections, options.duration_s,
                                 options.max_requests)

    endpoint.record(result, spec.name, running,
                    endpoint.alternating_rounds(running, list(loadable), options.rounds, measure_one))
    return result


def prepare_data(size: str, after: Tree, workdir: Path) -> Path:
    """The after tree's data folder, or synthetic data of that size made from it: the same files for both."""
    if size == "real":
        return after.path
    out = workdir / f"data-{size}"
    synthetic.generate(out, synthetic.parse_size(size), source=after.path, base_iri=endpoint.BASE_IRI)
    return out


def start_tree(tree: Tree, data_dir: Path, workdir: Path, env: dict[str, str]) -> servers.Server:
    return servers.start_ours(data_dir, endpoint.BASE_IRI, workdir, {**env, **tree.env()}, name=tree.label,
                              package=tree.package, source=tree.path)


def bench_size(size: str, trees: dict[str, Tree], options: Options, workdir: Path) -> dict[str, Any]:
    data_dir = prepare_data(size, trees[AFTER], workdir)
    nquads = workdir / f"{size}.nq"
    triples = servers.dump_nquads(data_dir, endpoint.BASE_IRI, nquads)
    print(f"\n== {size}: {triples:,} triples ({data_dir}) ==", flush=True)
    endpoint.wait_for_quiet(options.wait_quiet_s)
    wanted = [s for s in specs(options.connections, options.clients)
              if not options.only or options.only.search(s.name)]
    # Only the per-client caps of the after tree read this (the before tree has none): the requests' rotating
    # X-Forwarded-For addresses count as clients when they come through the trusted proxy at 127.0.0.1.
    env = {"KG_TRUSTED_PROXIES": servers.LOOPBACK} if options.client_addresses else {}
    env.update(options.server_env)
    load_before = os.getloadavg()
    results: dict[str, Result] = {}
    versions: dict[str, str] = {}
    notes: list[str] = []
    oxigraph = servers.start_oxigraph(nquads, workdir, options.oxigraph_storage)
    versions[OXIGRAPH] = oxigraph.version
    try:
        for cache in (True, False):
            phase = [s for s in wanted if s.cache == cache]
            if not phase:
                continue
            phase_env = env if cache else {**env, **NO_CACHE}
            running: dict[str, servers.Server] = {}
            try:
                for label in (BEFORE, AFTER):
                    started = time.perf_counter()
                    running[label] = start_tree(trees[label], data_dir, workdir, phase_env)
                    versions[label] = f"{running[label].version} ({trees[label].package})"
                    notes.append(f"start-up of {label} (cache {'on' if cache else 'off'}): "
                                 f"{time.perf_counter() - started:.1f} s")
                running[OXIGRAPH] = oxigraph
                print(f" phase: cache {'on' if cache else 'off'}", flush=True)
                for spec in phase:
                    results[spec.name] = measure_row(spec, running, options)
            finally:
                for label in (BEFORE, AFTER):
                    if label in running:
                        running[label].stop()
    finally:
        oxigraph.stop()
    load_after = os.getloadavg()
    ordered = [results[s.name] for s in wanted if s.name in results]
    report = {"size": size, "triples": triples, "data_dir": str(data_dir), "servers": versions,
              "load_average_before": load_before, "load_average_after": load_after, "notes": notes,
              "rows": [r.as_dict() for r in ordered]}
    return report


def table_lines(report: dict[str, Any]) -> list[str]:
    head = ["row", "conn", "before req/s", "before p50 ms", "after req/s", "after p50 ms", "after/before",
            "kept ≥ 0.90×", "oxigraph req/s", "oxigraph p50 ms", "after/oxigraph", "before/oxigraph"]
    out = [f"### {report['size']} ({report['triples']:,} triples)", ""]
    for section in ("figures", "new-query path"):
        rows = [r for r in report["rows"] if r["section"] == section]
        if not rows:
            continue
        out += [f"**{section}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            cells = [r["row"], str(r["connections"])]
            for name in (BEFORE, AFTER):
                m = r["measured"].get(name)
                cells += [endpoint.rate(m and m["throughput"]), endpoint.fmt(m and m["p50_ms"])]
            cells += [endpoint.fmt(r["throughput_after_over_before"], 2, "×"), r["verdict"]]
            m = r["measured"].get(OXIGRAPH)
            cells += [endpoint.rate(m and m["throughput"]), endpoint.fmt(m and m["p50_ms"]),
                      endpoint.fmt(r["throughput_after_over_oxigraph"], 2, "×"),
                      endpoint.fmt(r["throughput_before_over_oxigraph"], 2, "×")]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += [f"- {r['row']}: {note}" for r in report["rows"] for note in r["notes"]]
    out += [f"- {r['row']}: {n} had {m['errors']} errors in {m['requests']} requests {m['error_detail']}"
            for r in report["rows"] for n, m in r["measured"].items() if m["errors"]]
    out += [f"- servers: {', '.join(f'{n} = {v}' for n, v in report['servers'].items())}"]
    out += [f"- {note}" for note in report["notes"]]
    out.append("- load average (1, 5, 15 min): " + " before, ".join(
        ", ".join(f"{x:.2f}" for x in report[key]) for key in ("load_average_before", "load_average_after"))
        + " after")
    return out


def markdown(report: dict[str, Any]) -> str:
    out = [f"Command: `{report['command']}`  ", f"Date: {report['date']}; before = {report['before']['described']} "
           f"(`{report['before']['package']}`), after = {report['after']['described']} "
           f"(`{report['after']['package']}`); load driver {report['driver']}, {report['duration_s']} s a round, "
           f"{report['rounds']} rounds in alternating order, the best kept; client addresses: "
           f"{report['client_addresses'] or 'one'}"
           + (f"; both servers with {report['server_env']}" if report["server_env"] else "") + ".", ""]
    for size in report["sizes"]:
        out += [*table_lines(size), ""]
    return "\n".join(out)


def _exit_on_signal(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)  # so every `finally` runs: servers stopped, worktrees removed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git revision of the before side")
    parser.add_argument("--after", help="git revision of the after side (default: the working tree)")
    parser.add_argument("--sizes", default="real,100k", help="comma-separated: real, 100k, 250k, ...")
    parser.add_argument("--duration", type=int, default=2, help="seconds of load per round, row and server")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per row, in alternating server order")
    parser.add_argument("--clients", type=int, default=4, help="connections of the RESULTS.md rows")
    parser.add_argument("--connections", default="1,4,16", help="connections of the new-query path rows")
    parser.add_argument("--client-addresses", type=int, default=64,
                        help="rotating X-Forwarded-For addresses on rows that reach the query processes (the "
                             "after tree trusts 127.0.0.1 as a proxy); 0: one client, whose fair-scheduling caps "
                             "in the after tree then apply")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per run")
    parser.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (auto: wrk when installed, else python)")
    parser.add_argument("--oxigraph-storage", choices=("disk", "memory"), default="disk")
    parser.add_argument("--wait-quiet", type=int, default=0, metavar="SECONDS",
                        help="before each size, wait up to this long for a load average below 1")
    parser.add_argument("--only", help="regular expression: only the rows whose name matches")
    parser.add_argument("--env", action="append", default=[], metavar="KG_NAME=VALUE",
                        help="a setting for both of our servers (repeat), e.g. KG_ORDER_BY_REWRITE=0 to see what "
                             "one feature costs")
    parser.add_argument("--out", type=Path, default=endpoint.RESULTS_DIR / "before_after.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    driver = args.driver
    if driver != "python" and not load.wrk_available():
        if driver == "wrk":
            print("wrk is not installed: `apt-get install wrk`, or use --driver python", file=sys.stderr)
            return 2
        print("note: wrk is not installed; the Python load generator caps what fast servers can show",
              file=sys.stderr)
        driver = "python"
    elif driver == "auto":
        driver = "wrk"
    options = Options(
        sizes=[s.strip().lower() for s in args.sizes.split(",") if s.strip()], duration_s=args.duration,
        rounds=args.rounds, clients=args.clients,
        connections=[int(c) for c in args.connections.split(",") if c.strip()], max_requests=args.max_requests,
        driver=driver, client_addresses=args.client_addresses, oxigraph_storage=args.oxigraph_storage,
        wait_quiet_s=args.wait_quiet, only=re.compile(args.only) if args.only else None,
        server_env=dict(pair.split("=", 1) for pair in args.env))
    command = " ".join(["python benchmarks/before_after.py",
                        shlex.join(sys.argv[1:] if argv is None else argv)]).strip()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kg-before-after-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        trees = {BEFORE: stack.enter_context(checked_out(BEFORE, args.before, workdir)),
                 AFTER: stack.enter_context(checked_out(AFTER, args.after, workdir))}
        for tree in trees.values():
            print(f"{tree.label}: {tree.described}, `{tree.package}` from {verify_import(tree)}", flush=True)
        sizes = [bench_size(size, trees, options, workdir) for size in options.sizes]
    elapsed = time.perf_counter() - started
    report = {
        "command": command, "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **{label: {"rev": rev or "working tree", "commit": trees[label].commit,
                   "described": trees[label].described, "package": trees[label].package}
           for label, rev in ((BEFORE, args.before), (AFTER, args.after))},
        "driver": driver, "duration_s": options.duration_s, "rounds": options.rounds, "clients": options.clients,
        "connections": options.connections, "client_addresses": options.client_addresses,
        "oxigraph_storage": options.oxigraph_storage, "server_env": options.server_env, "kept_at_least": KEPT,
        "load_average_at_start": load_at_start, "load_average_at_end": os.getloadavg(),
        "elapsed_s": round(elapsed, 1), "sizes": sizes,
    }
    print("\n" + markdown(report))
    misses = [f"{s['size']}: {r['row']}" for s in sizes for r in s["rows"] if r["verdict"] in ("MISS", "ERRORS")]
    print(f"{len(misses)} rows where after kept less than {KEPT:.0%} of before's throughput, or had errors"
          + (": " + "; ".join(misses) if misses else ""))
    print(f"{elapsed:.0f} s in all")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

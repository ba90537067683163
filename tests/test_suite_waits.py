"""The test suite waits for events, not for time: checked on the tests' own source.

A fixed sleep before an assertion, or a read of a running server's log right after an answer, passes on an
idle machine and fails on a loaded 2-core one (the access-log line for a 414 is written after the answer is
sent). Waiting is done by polling for the event with a deadline: conftest.wait_for / conftest.log_lines, or
a `while` loop on a deadline. The few other sleeps and reads are listed here with the reason they are sound.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
# (file, function): why its sleep or log read is not a wait on time.
ALLOWED = {
    ("test_federation.py", "handle_any"): "the stand-in endpoint is slow on purpose (/slow); no test waits for it",
    ("test_disk_store.py", "test_store_is_built_reused_and_rebuilt_on_change"):
        "reads each server's log after stop_server: the process has ended, the log is complete",
}


def _functions(tree: ast.AST) -> list[ast.FunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]


def _own_calls(function: ast.FunctionDef) -> list[ast.Call]:
    """The calls in `function` itself, not in the functions and classes defined inside it."""
    calls, stack = [], list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return calls


def _in_deadline_loop(function: ast.FunctionDef, call: ast.Call) -> bool:
    """Is `call` inside a `while` loop whose condition or body looks at a deadline (a poll)?"""
    for loop in (n for n in ast.walk(function) if isinstance(n, ast.While)):
        if any(node is call for node in ast.walk(loop)):
            text = ast.unparse(loop)
            if "deadline" in text or "monotonic" in text:
                return True
    return False


def _findings() -> list[str]:
    found = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in _functions(tree):
            if (path.name, function.name) in ALLOWED:
                continue
            for call in _own_calls(function):
                name = ast.unparse(call.func)
                if name == "time.sleep" and not _in_deadline_loop(function, call):
                    found.append(f"{path.name}:{call.lineno} {function.name}: a fixed sleep")
                if name.endswith(".log.read_text"):
                    found.append(f"{path.name}:{call.lineno} {function.name}: reads a running server's log "
                                 "without waiting (use conftest.log_lines)")
    return found


def test_no_test_waits_on_time_or_reads_a_log_before_the_line_is_there():
    assert _findings() == []


def test_the_allowed_exceptions_still_exist():
    """An exception that no longer matches a function is stale: drop it."""
    names = {(path.name, f.name) for path in TESTS.glob("test_*.py")
             for f in _functions(ast.parse(path.read_text(encoding="utf-8")))}
    assert set(ALLOWED) <= names

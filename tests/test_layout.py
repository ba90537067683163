"""The package's shape, read from its source with `ast` (nothing is imported): imports run one way through the
layers, the engine knows nothing of the web, no module imports another's private names, no two modules import
each other (directly or round a circle), and the code map in docs/development.md names every module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "nato_kg"
ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "server"  # the folder that installs as nato_kg

# Lower layers never import higher ones: data ← engine ← web ← serving ← commands. The shared tables and the
# settings sit below them all; the commands (`kg ...`) sit above them all.
LAYERS = {"base": 0, "data": 1, "engine": 2, "web": 3, "serving": 4, "commands": 5}
BASE = {"settings", "namespaces", "formats", "errors", "memo"}
COMMANDS = {"cli", "query_cli", "validation", "passages"}
WEB_FRAMEWORKS = ("flask", "werkzeug", "a2wsgi", "gunicorn", "uvicorn", "uvicorn_worker")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


MODULES = {module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "base"
    if parts[0] in ("data", "engine", "web", "serving"):
        return parts[0]
    if parts[0] in BASE:
        return "base"
    if parts[0] in COMMANDS:
        return "commands"
    raise AssertionError(f"{module} is in no layer: add it to a sub-package or to BASE/COMMANDS in {__file__}")


def resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import anywhere in the module."""
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, node)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:  # `from nato_kg.web import protocol`: a module
                    found.append((f"{target}.{alias.name}", None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return found


def own_imports(module: str) -> set[str]:
    return {target for target, _, _ in imports(module) if target in MODULES and target != module}


def test_every_module_is_in_a_layer_and_imports_only_its_own_or_lower_layers() -> None:
    wrong = []
    for module in MODULES:
        for target, _, line in imports(module):
            if target in MODULES and LAYERS[layer(target)] > LAYERS[layer(module)]:
                wrong.append(f"{module}:{line} ({layer(module)}) imports {target} ({layer(target)})")
    assert wrong == []


def test_the_engine_and_the_data_layer_never_import_the_web_stack() -> None:
    wrong = [f"{module}:{line} imports {target}" for module in MODULES if layer(module) in ("base", "data", "engine")
             for target, _, line in imports(module) if target.split(".")[0] in WEB_FRAMEWORKS]
    assert wrong == []


def test_no_module_imports_another_modules_private_names() -> None:
    wrong = []
    for module in MODULES:
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        modules_bound = {}  # local name -> one of our modules, for `module._name` attribute access
        for target, name, line in imports(module):
            if target in MODULES and name is not None and name.startswith("_") and target != module:
                wrong.append(f"{module}:{line} imports {target}.{name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    full = f"{resolve(module, node)}.{alias.name}"
                    if full in MODULES:
                        modules_bound[alias.asname or alias.name] = full
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules_bound and node.attr.startswith("_")):
                wrong.append(f"{module}:{node.lineno} uses {modules_bound[node.value.id]}.{node.attr}")
    assert wrong == []


def test_no_import_cycles() -> None:
    graph = {module: own_imports(module) for module in MODULES}
    for module in graph:  # a package's modules may use its __init__, which imports nothing of ours
        graph[module] -= {m for m in graph[module] if MODULES[m].name == "__init__.py" and not graph[m]}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_the_code_map_names_every_module() -> None:
    code_map = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    missing = [str(path.relative_to(SOURCE)) for path in MODULES.values()
               if path.name != "__init__.py" and f"`{path.relative_to(SOURCE)}`" not in code_map]
    assert missing == []

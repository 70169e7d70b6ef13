"""The package's import structure: parameters -> chapters -> config -> the rest, never back;
and its sizes: no module over 500 lines, no function over 60 (DESIGN.md section 2).

Imports are read with ``ast`` (nothing is imported), both the module-level ones and those
inside functions: an import moved into a function still closes a circle, it only hides it
until the function runs.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = "lmcourse"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE
# The modules that must not lie on any import cycle.
CORE = {f"{PACKAGE}.{name}" for name in ("params", "paths", "chapters", "config", "cli")}


def module_files() -> dict[str, Path]:
    """Module name (``lmcourse.models.rnn``; a package is its ``__init__``) -> its file."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module ``name`` imports anywhere in its file.

    ``from lmcourse import data`` imports the module ``lmcourse.data``; ``from lmcourse import
    ConfigError`` imports the package itself. Relative imports are resolved against ``name``.
    """
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imported_modules(name, path, set(files)) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    raise AssertionError(f"no cycle in the group {group}")  # Tarjan groups always have one


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function_import(tmp_path):
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph) == [["p.a", "p.b", "p.c", "p.a"]]
    (tmp_path / "a.py").write_text("import p.b\n\ndef f():\n    from p import a\n")
    assert imported_modules("p.b", tmp_path / "a.py", {"p.a", "p.b"}) == {"p.a"}


def test_no_import_cycle_goes_through_params_chapters_config_or_cli():
    graph = import_graph()
    assert CORE <= set(graph), f"missing modules: {sorted(CORE - set(graph))}"
    bad = [cycle for cycle in cycles(graph) if CORE & set(cycle)]
    assert not bad, "import cycles: " + "; ".join(" -> ".join(c) for c in bad)


@pytest.mark.parametrize("leaf", ["params", "paths"])
def test_params_and_paths_import_nothing_from_the_package(leaf):
    path = PACKAGE_DIR / f"{leaf}.py"
    imports = imported_modules(f"{PACKAGE}.{leaf}", path, set(module_files()) | {PACKAGE})
    assert not imports, f"{path.name} imports {sorted(imports)}; it must import only the stdlib"


# ----------------------------------------------------------------------------- sizes

MAX_MODULE_LINES = 500  # a whole file, docstrings included
MAX_FUNCTION_LINES = 60  # a function or method, its docstring not counted
# No exceptions: a function that grows past MAX_FUNCTION_LINES is split into named steps.
LONG_FUNCTIONS_ALLOWED: set[str] = set()


def function_lengths(path: Path) -> dict[str, int]:
    """``{"Class.method": lines}`` for every function in a file (nested ones too), each counted
    from its ``def`` line to its last line, without its docstring."""
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    lines = child.end_lineno - child.lineno + 1
                    doc = child.body[0]
                    if (
                        isinstance(doc, ast.Expr)
                        and isinstance(doc.value, ast.Constant)
                        and isinstance(doc.value.value, str)
                    ):
                        lines -= doc.end_lineno - doc.lineno + 1
                    lengths[name] = lines
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(), filename=str(path)), "")
    return lengths


def test_the_function_length_counts_code_and_not_the_docstring(tmp_path):
    (tmp_path / "m.py").write_text(
        'def f():\n    """One\n    two."""\n    x = 1\n    return x\n\n\n'
        "class C:\n    def g(self):\n        def h():\n            pass\n        return h\n"
    )
    assert function_lengths(tmp_path / "m.py") == {"f": 3, "C.g": 4, "C.g.h": 2}


def test_no_module_is_longer_than_500_lines():
    root = PACKAGE_DIR.parent
    long = {
        str(p.relative_to(root)): len(p.read_text().splitlines()) for p in module_files().values()
    }
    offenders = [f"{name} ({n})" for name, n in sorted(long.items()) if n > MAX_MODULE_LINES]
    assert not offenders, (
        f"modules over {MAX_MODULE_LINES} lines: {', '.join(offenders)}; "
        "split each along its ideas into modules named after them"
    )


def course_scripts() -> list[Path]:
    """The course's Python outside the package: figure drawing, Colab set-up, exercises."""
    root = PACKAGE_DIR.parent
    globs = ("chapters/figures/*.py", "chapters/*.py", "exercises/*.py", "solutions/*.py")
    return sorted(p for g in globs for p in root.glob(g))


def test_no_function_is_longer_than_60_lines_without_its_docstring():
    root = PACKAGE_DIR.parent
    found = {
        f"{p.relative_to(root)}::{name}": n
        for p in [*module_files().values(), *course_scripts()]
        for name, n in function_lengths(p).items()
    }
    offenders = [
        f"{key} ({n})"
        for key, n in sorted(found.items())
        if n > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS_ALLOWED
    ]
    assert not offenders, (
        f"functions over {MAX_FUNCTION_LINES} lines (docstring not counted): "
        f"{', '.join(offenders)}; split each into named steps"
    )


def test_the_code_is_formatted_and_lints_clean():
    """`ruff format` (line length 100) and `ruff check` (at most 110 for what cannot wrap)."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (requirements.txt pins it)")
    root = Path(__file__).resolve().parent.parent
    python = ["lmcourse", "tests", "benchmarks", "exercises", "solutions", "chapters/figures"]
    python.append("chapters/colab_setup.py")
    # Notebooks are linted, not formatted (their cells keep the chapters' layout).
    for args in (["format", "--check", *python], ["check", *python, "chapters"]):
        proc = subprocess.run(
            [ruff, *args],
            cwd=root,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, f"ruff {' '.join(args)}:\n{proc.stdout[-2000:]}"

"""The package's layering: the pytest glue stays in rollout_gate/pytest/, and the modules form no cycles."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import rollout_gate

PACKAGE = Path(rollout_gate.__file__).parent
GLUE = "rollout_gate.pytest"
# The reference app is a separate program shipped as a resource; the glue may import anything.
OUTSIDE_DOMAIN = (GLUE, "rollout_gate.reference_app")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except those under `if TYPE_CHECKING:` (annotations only; no import happens)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in ast.walk(child))
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(path: Path) -> Iterator[str]:
    """Every rollout_gate module a file imports at run time, at top level or inside functions."""
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        yield from (name for name in names if name in MODULES)


def _graph(level: int | None = None) -> dict[str, set[str]]:
    def key(name: str) -> str:
        return ".".join(name.split(".")[:level]) if level else name

    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph.setdefault(key(name), set()).update(key(dep) for dep in _imports(path) if key(dep) != key(name))
    return graph


def test_domain_packages_never_import_the_pytest_glue() -> None:
    offenders = sorted(
        f"{name} imports {dep}"
        for name, path in MODULES.items()
        if not name.startswith(OUTSIDE_DOMAIN)
        for dep in _imports(path)
        if dep == GLUE or dep.startswith(GLUE + ".")
    )
    assert not offenders, "\n".join(offenders)


def test_no_import_cycle_between_modules() -> None:
    graph = _graph()
    cycles = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*stack[stack.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_no_package_depends_back_on_its_dependents() -> None:
    """The pairs that used to import each other: gate and its reports, run state and criteria."""
    graph = _graph(level=2)
    pairs = [
        ("rollout_gate.gate", "rollout_gate.reporting"),
        ("rollout_gate.gate", "rollout_gate.pytest"),
        ("rollout_gate.config", "rollout_gate.criteria"),
        ("rollout_gate.load", "rollout_gate.cli"),
        ("rollout_gate.gate", "rollout_gate.cli"),
    ]
    mutual = [f"{a} <-> {b}" for a, b in pairs if b in graph.get(a, ()) and a in graph.get(b, ())]
    backwards = [f"{a} imports {b}" for a, b in [("rollout_gate.load", "rollout_gate.cli")] if b in graph.get(a, ())]
    assert not mutual + backwards, "\n".join(mutual + backwards)


def test_the_checks_and_resources_install_under_rollout_gate() -> None:
    import rollout_gate.environments
    import rollout_gate.fixtures
    import rollout_gate.locustfiles
    import rollout_gate.suites

    from rollout_gate import reference_app
    from rollout_gate.load import locustfile_path

    assert Path(rollout_gate.suites.__file__).parent.joinpath("smoke", "test_smoke.py").is_file()
    assert Path(rollout_gate.fixtures.__file__).parent.joinpath("target.py").is_file()
    assert Path(rollout_gate.environments.__file__).parent.joinpath("local.yaml").is_file()
    assert locustfile_path().is_file() and locustfile_path().parent == Path(rollout_gate.locustfiles.__file__).parent
    assert sorted(p.name for p in reference_app.migrations_dir().glob("*.sql"))
    assert reference_app.schema_dir().joinpath("00_auth.sql").is_file()

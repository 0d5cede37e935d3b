"""The seams of STYLE.md, checked on the source: each stage imports only what lies upstream of it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "engine"


def _engine_imports(folder: Path) -> dict[str, set[str]]:
    """Every ``engine.*`` module imported by each file under ``folder`` (or the single file)."""
    files = [folder] if folder.suffix == ".py" else sorted(folder.rglob("*.py"))
    found: dict[str, set[str]] = {}
    for path in files:
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ENGINE.parent))] = {n for n in names if n.startswith("engine")}
    return found


@pytest.mark.parametrize(
    ("where", "forbidden"),
    [
        ("rules", ("engine.serve", "engine.train", "engine.backtest", "engine.experiments", "engine.cli")),
        (
            "data",
            (
                "engine.train",
                "engine.rules",
                "engine.serve",
                "engine.backtest",
                "engine.experiments",
                "engine.challenge",
                "engine.candidates",
                "engine.cli",
            ),
        ),
        ("serve", ("engine.train", "engine.backtest", "engine.cli")),
        ("console", ("engine.train", "engine.backtest", "engine.cli", "engine.lift")),
        ("challenge", ("engine.serve", "engine.train", "engine.backtest", "engine.experiments")),
        ("artifact.py", ("engine.train", "engine.serve", "engine.rules")),
        # the CHAMPION file is read by serving and written by training: it belongs to neither
        ("champion.py", ("engine.train", "engine.serve", "engine.rules", "engine.cli")),
        # reports read data and saved challenges; they never train, serve or call the CLI
        ("reports", ("engine.train", "engine.serve", "engine.cli", "engine.experiments")),
    ],
)
def test_stage_imports_nothing_downstream(where: str, forbidden: tuple[str, ...]) -> None:
    offending = {
        path: sorted(n for n in names if n.startswith(forbidden))
        for path, names in _engine_imports(ENGINE / where).items()
    }
    assert {p: n for p, n in offending.items() if n} == {}


def test_rules_do_no_io() -> None:
    """Rules are pure: no file, network or environment access in engine/rules except config reading."""
    io_modules = {"os", "socket", "redis", "requests", "httpx", "sqlite3", "mlflow", "pathlib"}
    for path in sorted((ENGINE / "rules").rglob("*.py")):
        if path.name in {"config.py", "__init__.py"}:
            continue  # config.py turns a TOML file into the rules model: the one reader
        tree = ast.parse(path.read_text())
        imported = {
            (a.name if isinstance(n, ast.Import) else (n.module or "")).split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in (n.names if isinstance(n, ast.Import) else [n])  # type: ignore[attr-defined]
        }
        assert not imported & io_modules, f"{path.name} imports {sorted(imported & io_modules)}"


def _calls(path: Path, name: str) -> list[str]:
    """The source of every call of ``name`` (e.g. ``getattr``, ``isinstance``) in ``path``."""
    text = path.read_text()
    tree = ast.parse(text, filename=str(path))
    return [
        ast.get_source_segment(text, node) or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def test_the_serve_experiments_seam_is_typed() -> None:
    """No getattr probing of exposures or challenges, no isinstance on a concrete event store."""
    for module in ("experiments/hooks.py", "experiments/service.py", "experiments/shown.py"):
        assert _calls(ENGINE / module, "getattr") == [], module
    concrete = [c for c in _calls(ENGINE / "serve/experiment.py", "isinstance") if "EventStore" in c]
    assert concrete == []
    assert (
        "engine.experiments.redis_store"
        not in _engine_imports(ENGINE / "serve/experiment.py")["engine/serve/experiment.py"]
    )


def test_redis_errors_are_mapped_in_one_table() -> None:
    """Both Redis stores map errors through engine.redis_errors, not classes or functions of their own."""
    modules = (
        "serve/redis_store.py",
        "experiments/redis_store.py",
        "experiments/redis_layout.py",
        "experiments/redis_reads.py",
        "experiments/redis_writes.py",
        "experiments/redis_writer.py",
    )
    for module in modules:
        source = (ENGINE / module).read_text()
        assert "StoreUnavailable(" not in source, module
        assert "def store_error" not in source, module
        assert "class _Wrap" not in source, module

"""One-way layers (STYLE.md rule 1), curated APIs (rule 2) and explicit randomness (rule 7)."""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"
STDLIB = set(sys.stdlib_module_names)


def modules(package: str) -> list[Path]:
    """Python files of ``sim/<package>`` (or of sim/<package>.py)."""
    folder = SIM / package
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    single = SIM / f"{package}.py"
    return [single] if single.exists() else []


def module_name(path: Path, root: Path = SIM) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of import nodes inside ``if TYPE_CHECKING:`` blocks."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = (
                test.id
                if isinstance(test, ast.Name)
                else test.attr
                if isinstance(test, ast.Attribute)
                else ""
            )
            if name == "TYPE_CHECKING":
                for inner in node.body:
                    for sub in ast.walk(inner):
                        guarded.add(id(sub))
    return guarded


def imports(path: Path, root: Path = SIM) -> Iterator[tuple[str, bool]]:
    """Every imported name, fully qualified, with whether it is a typing-only import.

    ``from pkg import x`` yields ``pkg.x`` when ``pkg`` is one of our packages (so
    ``from sim import outputs`` counts as importing sim.outputs), else ``pkg``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    guarded = _type_checking_nodes(tree)
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        typing_only = id(node) in guarded
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, typing_only
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source == "sim" or source.startswith("sim."):
                for alias in node.names:
                    yield f"{source}.{alias.name}", typing_only
            else:
                yield source, typing_only


def top(name: str) -> str:
    return name.split(".")[0]


def within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(package: str, allowed: Callable[[str, bool], bool]) -> list[str]:
    return [
        f"{path.relative_to(SIM.parent)}: {name}"
        for path in modules(package)
        for name, typing_only in imports(path)
        if not allowed(name, typing_only)
    ]


def public_api(package: str) -> set[str]:
    return set(importlib.import_module(package).__all__)


# --------------------------------------------------------------------------- layers


def test_engine_imports_only_numpy_simpy_stdlib_and_itself() -> None:
    """sim/engine imports numpy, simpy, the standard library and sim.engine, nothing else."""
    assert modules("engine")
    bad = violations(
        "engine",
        lambda name, _: top(name) in STDLIB | {"numpy", "simpy"} or within(name, "sim.engine"),
    )
    assert bad == []


def test_model_imports_no_outer_layer_or_ui_library() -> None:
    """sim/model imports no sim.outputs, sim.cli, sim.experiments, matplotlib, pandas, click."""
    forbidden = ("sim.outputs", "sim.cli", "sim.experiments", "matplotlib", "pandas", "click")
    assert modules("model")
    assert violations("model", lambda name, _: not within(name, *forbidden)) == []


def test_model_does_no_file_io() -> None:
    """sim/model imports no file-handling module and never calls open()."""
    file_modules = {"io", "os", "pathlib", "csv", "json", "pickle", "shutil", "tomllib", "tempfile"}
    assert violations("model", lambda name, _: top(name) not in file_modules) == []
    for path in modules("model"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", f"{path.name} calls open()"


def test_outputs_read_tables_not_model_internals() -> None:
    """sim/outputs imports only itself, pandas, numpy, matplotlib, openpyxl and the stdlib."""
    # Also allowed: the package version (``from sim import __version__``) and typing-only
    # imports of the public API of sim.experiments or sim.model (e.g. ``EnsembleResult`` under
    # ``if TYPE_CHECKING``), which create no runtime dependency on model internals.

    def allowed(name: str, typing_only: bool) -> bool:
        if top(name) in STDLIB | {"numpy", "pandas", "matplotlib", "openpyxl"} or within(
                name, "sim.outputs"):
            return True
        if name == "sim.__version__":
            return True
        package, _, attr = name.rpartition(".")
        return (
            typing_only
            and package in {"sim.experiments", "sim.model"}
            and attr in public_api(package)
        )

    assert violations("outputs", allowed) == []


def test_scenario_imports_no_outer_layer() -> None:
    """sim/scenario imports none of sim.outputs, sim.cli, sim.experiments."""
    forbidden = ("sim.outputs", "sim.cli", "sim.experiments")
    assert modules("scenario")
    assert violations("scenario", lambda name, _: not within(name, *forbidden)) == []


def test_import_scanner_sees_relative_and_package_imports(tmp_path: Path) -> None:
    """The scanner resolves 'from . import x' and 'from sim import x' to full module names."""
    source = (
        "from . import rng\nfrom ..model import simulation\nfrom sim import outputs\n"
        "import numpy.random\n"
    )
    fake = tmp_path / "sim" / "engine" / "x.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    names = {n for n, _ in imports(fake, root=tmp_path / "sim")}
    assert names == {"sim.engine.rng", "sim.model.simulation", "sim.outputs", "numpy.random"}


# --------------------------------------------------------------------------- randomness


LEGAL_NUMPY_RANDOM = {"Generator", "PCG64", "SeedSequence", "BitGenerator"}


@pytest.mark.parametrize(
    "package", ["engine", "model", "scenario", "experiments", "outputs", "cli"]
)
def test_no_global_or_stdlib_randomness(package: str) -> None:
    """No stdlib random, no np.random.seed or other global-state numpy draws anywhere in sim."""
    for path in modules(package):
        assert all(top(name) != "random" for name, _ in imports(path)), path.name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "random"
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id in {"np", "numpy"}
            ):
                assert node.attr in LEGAL_NUMPY_RANDOM, f"{path.name}: np.random.{node.attr}"
            if isinstance(node, ast.ImportFrom) and node.module == "numpy.random":
                for alias in node.names:
                    assert alias.name in LEGAL_NUMPY_RANDOM, f"{path.name}: {alias.name}"


# --------------------------------------------------------------------------- curated APIs


PACKAGES = ["sim"] + sorted(f"sim.{p.parent.name}" for p in SIM.glob("*/__init__.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_init_defines_all_and_every_name_exists(package: str) -> None:
    """Each package __init__ names its API in __all__, without duplicates, and each name exists."""
    module = importlib.import_module(package)
    assert "__all__" in vars(module), f"{package}/__init__.py has no __all__"
    names = list(module.__all__)
    assert all(isinstance(n, str) for n in names)
    assert len(names) == len(set(names)), f"duplicates in {package}.__all__"
    missing = [n for n in names if not hasattr(module, n)]
    assert missing == []


def test_core_packages_are_present() -> None:
    """The engine, model, scenario and experiments packages exist and are checked above."""
    assert {"sim.engine", "sim.model", "sim.scenario", "sim.experiments"} <= set(PACKAGES)

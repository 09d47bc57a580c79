"""One-way layers, curated APIs and explicit randomness (the conventions in CONTRIBUTING.md)."""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"
STDLIB = set(sys.stdlib_module_names)

LAYERS = [
    "sim.version",
    "sim.engine",
    "sim.files",
    "sim.data",
    "sim.scenario",
    "sim.model",
    "sim.experiments",
    "sim.outputs",
    "sim.api",
    "sim.explorer",
    "sim.cli",
    "sim.__main__",
]
"""The layers, bottom to top: a module imports only from its own layer or lower ones."""


def layer_files(layer: str, root: Path = SIM) -> list[Path]:
    """Python files of a layer: the package ``sim/<name>/`` or the module ``sim/<name>.py``."""
    relative = layer.split(".")[1:]
    folder = root.joinpath(*relative)
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    single = folder.with_suffix(".py")
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
    ``from sim import outputs`` counts as importing sim.outputs), else ``pkg``. Imports inside
    functions count: a deferred import is still a dependency.
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


def layer_of(name: str) -> int | None:
    """Position in :data:`LAYERS` of a module or imported name (None: in no layer)."""
    found = [i for i, layer in enumerate(LAYERS) if within(name, layer)]
    return found[0] if found else None


def backward_imports(root: Path = SIM, layers: list[str] = LAYERS) -> list[str]:
    """Every import, in any module of ``layers``, of a higher layer or of ``sim`` code in no
    layer; typing-only imports included."""
    found = []
    for layer in layers:
        own = LAYERS.index(layer)
        for path in layer_files(layer, root):
            for name, typing_only in imports(path, root):
                if not within(name, "sim"):
                    continue
                target = layer_of(name)
                where = f"{path.relative_to(root.parent)}: {name}"
                if target is None:
                    found.append(f"{where} is in no layer")
                elif target > own:
                    kind = " (typing only)" if typing_only else ""
                    found.append(f"{where}{kind} is above {layer} (in {LAYERS[target]})")
    return found


def import_cycles(root: Path = SIM) -> list[list[str]]:
    """Loops of run-time imports between modules of ``root`` (deferred imports inside functions
    count; typing-only ones do not), each as the modules in order, the first repeated last."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, list[str]] = {}
    for module, path in files.items():
        targets = []
        for name, typing_only in imports(path, root):
            target = name
            while target and target not in files:  # ``from pkg.mod import f`` → ``pkg.mod``
                target = target.rpartition(".")[0]
            if target and target != module and not typing_only:
                targets.append(target)
        graph[module] = sorted(set(targets))
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for target in graph[module]:
            if target in path:
                cycles.append([*path[path.index(target):], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    for module in graph:
        if module not in done:
            visit(module, [module])
    return cycles


def violations(layer: str, allowed: Callable[[str, bool], bool]) -> list[str]:
    return [
        f"{path.relative_to(SIM.parent)}: {name}"
        for path in layer_files(layer)
        for name, typing_only in imports(path)
        if not allowed(name, typing_only)
    ]


def public_api(module: str) -> set[str]:
    return set(importlib.import_module(module).__all__)


# --------------------------------------------------------------------------- layers


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_nothing_from_a_higher_layer(layer: str) -> None:
    """Data flows one way: each layer imports only from itself and the layers below it."""
    assert layer_files(layer), f"{layer} has no modules"
    above = LAYERS[LAYERS.index(layer) + 1:]
    assert backward_imports(layers=[layer]) == [], f"{layer} must not import from {above}"


def test_every_module_is_in_a_layer() -> None:
    """Every module under sim/ (but the root package) belongs to one layer of the order."""
    placed = {p for layer in LAYERS for p in layer_files(layer)}
    loose = sorted(str(p.relative_to(SIM)) for p in SIM.rglob("*.py")
                   if p not in placed and p != SIM / "__init__.py")
    assert loose == []


def test_layer_checker_catches_planted_backward_imports(tmp_path: Path) -> None:
    """The checker flags an engine importing the model, sim.files importing the scenario layer,
    a typing-only import of the CLI from outputs, and code in no layer; it lets the CLI import
    everything and any layer import sim.version."""
    root = tmp_path / "sim"
    planted = {
        "engine/rng.py": "from sim.model import simulate\n",
        "files.py": "import numpy\nimport sim.scenario.load\n",
        "outputs/charts.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from sim.cli import main\nfrom sim.files import write_text\n"),
        "model/kpis.py": "from sim.version import __version__\nfrom ..scenario import schema\n",
        "experiments/sweep.py": "from sim.stray import helper\n",
        "cli/__init__.py": ("from sim.outputs import write_run\nfrom sim.experiments import x\n"
                            "from sim import api\n"),
    }
    for name, source in planted.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    assert backward_imports(root) == [
        "sim/engine/rng.py: sim.model.simulate is above sim.engine (in sim.model)",
        "sim/files.py: sim.scenario.load is above sim.files (in sim.scenario)",
        "sim/experiments/sweep.py: sim.stray.helper is in no layer",
        "sim/outputs/charts.py: sim.cli.main (typing only) is above sim.outputs (in sim.cli)",
    ]


def test_no_module_imports_itself_back() -> None:
    """No loop of imports between any modules, within a layer too (e.g. designs and sweep files
    depend one way)."""
    assert import_cycles() == []


def test_cycle_finder_catches_a_planted_loop(tmp_path: Path) -> None:
    """A loop through a deferred import is found; a typing-only import back is no loop."""
    root = tmp_path / "sim"
    (root / "experiments").mkdir(parents=True)
    (root / "experiments" / "design.py").write_text("from sim.experiments.sweepfile import Sweep\n")
    (root / "experiments" / "sweepfile.py").write_text(
        "def extremes():\n    from sim.experiments.design import quantile\n")
    (root / "experiments" / "report.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from sim.experiments.calibrate import Fitted\n")
    (root / "experiments" / "calibrate.py").write_text("from sim.experiments import report\n")
    assert import_cycles(root) == [["sim.experiments.design", "sim.experiments.sweepfile",
                                    "sim.experiments.design"]]


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


# --------------------------------------------------------------------------- what each layer uses


def test_engine_imports_only_numpy_simpy_stdlib_and_itself() -> None:
    """sim/engine imports numpy, simpy, the standard library and sim.engine, nothing else."""
    assert layer_files("sim.engine")
    bad = violations(
        "sim.engine",
        lambda name, _: top(name) in STDLIB | {"numpy", "simpy"} or within(name, "sim.engine"),
    )
    assert bad == []


def test_files_imports_only_stdlib_and_numpy() -> None:
    """sim/files.py, the shared writer, imports the standard library and numpy only."""
    assert layer_files("sim.files")
    assert violations("sim.files", lambda name, _: top(name) in STDLIB | {"numpy"}) == []


def test_model_imports_no_ui_library() -> None:
    """sim/model imports no matplotlib, pandas or click."""
    forbidden = ("matplotlib", "pandas", "click")
    assert layer_files("sim.model")
    assert violations("sim.model", lambda name, _: not within(name, *forbidden)) == []


def test_model_does_no_file_io() -> None:
    """sim/model imports no file-handling module and never calls open()."""
    file_modules = {"io", "os", "pathlib", "csv", "json", "pickle", "shutil", "tomllib", "tempfile"}
    assert violations("sim.model", lambda name, _: top(name) not in file_modules) == []
    for path in layer_files("sim.model"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", f"{path.name} calls open()"


def test_outputs_read_tables_not_model_internals() -> None:
    """sim/outputs imports only itself, sim.files, sim.engine.stats (interval arithmetic on
    numbers, shared with sim.experiments), pandas, numpy, matplotlib, openpyxl and the stdlib at
    run time."""
    # Also allowed: the package version and typing-only imports of public names (a module's
    # ``__all__``) of sim.experiments or sim.model, e.g. ``EnsembleResult`` under
    # ``if TYPE_CHECKING``, which create no run-time dependency on model internals.

    def allowed(name: str, typing_only: bool) -> bool:
        if top(name) in STDLIB | {"numpy", "pandas", "matplotlib", "openpyxl"} or within(
                name, "sim.outputs", "sim.files", "sim.engine.stats"):
            return True
        if within(name, "sim.version"):
            return True
        module, _, attr = name.rpartition(".")
        return (
            typing_only
            and within(module, "sim.experiments", "sim.model")
            and attr in public_api(module)
        )

    assert violations("sim.outputs", allowed) == []


@pytest.mark.parametrize("layer", [layer for layer in LAYERS if layer != "sim.cli"])
def test_only_the_cli_defines_commands(layer: str) -> None:
    """click is imported by sim.cli alone: commands live in the command line, not the library."""
    assert violations(layer, lambda name, _: top(name) != "click") == []


# --------------------------------------------------------------------------- randomness


LEGAL_NUMPY_RANDOM = {"Generator", "PCG64", "SeedSequence", "BitGenerator"}


@pytest.mark.parametrize("layer", LAYERS)
def test_no_global_or_stdlib_randomness(layer: str) -> None:
    """No stdlib random, no np.random.seed or other global-state numpy draws anywhere in sim."""
    for path in layer_files(layer):
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


PACKAGES = sorted({"sim"} | {module_name(p) for p in SIM.rglob("__init__.py")})


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
    """The layers with packages exist and are checked above, subpackages included."""
    assert {"sim.engine", "sim.data", "sim.scenario", "sim.model", "sim.experiments",
            "sim.experiments.calibration", "sim.outputs", "sim.cli"} <= set(PACKAGES)

"""cnn_core's layout: one subpackage per feature on a shared core, arrows pointing down only.

Read from the source (every ``import``, at module level or inside a function):
- the top level holds only the shared core and the two thin command entries;
- a feature uses another feature only through the names its ``__init__`` exports, and only
  the features below it (``LAYERS``); pages likewise;
- no import cycle anywhere in cnn_core.
"""

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CORE = REPO_ROOT / "cnn_core"
SHARED = {"errors", "paths", "settings", "strict_values", "imaging", "malloc_arenas", "telemetry"}
COMMANDS = {"train": "mnist", "classify": "imagenet"}  # python -m cnn_core.train / .classify
# which features each feature may use (the shared core is open to all)
LAYERS = {
    "networks": set(),
    "calculator": {"networks"},
    "theory": {"calculator", "networks"},
    "mnist": {"calculator", "networks"},
    "imagenet": {"calculator"},  # the Classify sidebar quotes its model's size (issue 22)
    "transfer": {"imagenet", "calculator", "networks"},
    "inside": {"mnist", "imagenet", "transfer", "calculator", "networks"},
}
PAGES = {"calculator": "calculator", "theory": "theory", "mnist": "mnist",
         "classify": "imagenet", "transfer": "transfer", "inside": "inside", "home": None}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def imports(path: Path):
    """(line, target module, names) for every import of cnn_core in ``path``; a name that is
    a submodule becomes its own target (``from cnn_core.mnist import training``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, ()) for a in node.names if a.name.startswith("cnn_core")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.startswith("cnn_core"):
            names = []
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in MODULES:
                    found.append((node.lineno, sub, ()))
                else:
                    names.append(alias.name)
            if names:
                found.append((node.lineno, node.module, tuple(names)))
    return found


def test_the_top_level_is_the_shared_core_and_two_commands():
    top = {m.split(".")[1] for m in MODULES if m.count(".") == 1}
    assert top == SHARED | set(LAYERS) | set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_entries_are_thin(command):
    """``cnn_core/train.py`` and ``classify.py`` only hand over to their feature's __main__."""
    targets = {target for _, target, _ in imports(CORE / f"{command}.py")}
    assert targets == {f"cnn_core.{COMMANDS[command]}.__main__"}


def cross_feature_problems(source: str, feature: str | None, path: Path) -> list[str]:
    problems = []
    for line, target, names in imports(path):
        used = feature_of(target)
        if used is None or used == feature:
            continue
        where = f"{source}:{line} imports {target}"
        if feature is not None and used not in LAYERS[feature]:
            problems.append(f"{where}: {feature} may not use {used}")
        if target != f"cnn_core.{used}":
            problems.append(f"{where}: use the names cnn_core.{used} exports")
            continue
        exported = set(importlib.import_module(target).__all__)
        problems += [f"{where}: {name} is not in its __all__" for name in names
                     if name not in exported]
    return problems


def test_features_use_each_other_through_their_public_names_and_only_downwards():
    problems = []
    for module, path in MODULES.items():
        feature = feature_of(module)
        if module.split(".")[-1] in COMMANDS and feature is None:
            continue
        if feature is None:   # the shared core uses no feature
            problems += [f"{module} imports {t}" for _, t, _ in imports(path) if feature_of(t)]
            continue
        problems += cross_feature_problems(module, feature, path)
        # inside a feature, modules import each other, never their own package's __init__
        own = f"cnn_core.{feature}"
        if module != own:
            problems += [f"{module}:{line} imports from {own} itself"
                         for line, target, _ in imports(path) if target == own]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_use_other_features_through_their_public_names(page):
    path = REPO_ROOT / "app_pages" / f"{page}.py"
    assert not cross_feature_problems(f"app_pages/{page}.py", PAGES[page], path)


def test_the_check_sees_a_private_import(tmp_path):
    """The detector itself can fail: a reach into another feature's module is reported."""
    bad = tmp_path / "probe.py"
    bad.write_text("from cnn_core.imagenet.runtime import compile_model\n"
                   "from cnn_core.mnist import recipe\n"
                   "from cnn_core.transfer import teach\n")
    problems = cross_feature_problems("probe", "calculator", bad)
    assert len([p for p in problems if "may not use" in p]) == 3
    assert len([p for p in problems if "use the names" in p]) == 1


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Each cycle met by a depth-first walk of ``graph``, as "a → b → a"."""
    state, cycles = {}, []

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" → ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def test_the_cycle_finder_finds_the_old_calculator_cycle():
    graph = {"calculator": {"calculator_cli", "layers"}, "calculator_cli": {"calculator_state"},
             "calculator_state": {"calculator"}, "layers": set()}
    assert find_cycles(graph) == ["calculator → calculator_cli → calculator_state → calculator"]


def test_no_import_cycle_in_cnn_core():
    """Every import (function-level ones too) as an edge between modules; a package's own
    ``__init__`` importing its submodules is an edge like any other."""
    graph = {module: {target for _, target, _ in imports(path) if target in MODULES}
             for module, path in MODULES.items()}
    assert len(graph) > 40 and sum(map(len, graph.values())) > 100   # the graph is read
    assert find_cycles(graph) == []


@pytest.mark.parametrize("feature", sorted(LAYERS))
def test_every_exported_name_exists(feature):
    package = importlib.import_module(f"cnn_core.{feature}")
    assert [name for name in package.__all__ if not hasattr(package, name)] == []

"""The layout's rules, beyond what lint-imports checks: no import loop between any two
modules (imports inside functions included), and only ``__main__`` reaches the commands."""

import pytest

grimp = pytest.importorskip("grimp")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("tinynet")


def _cycle(graph, modules):
    """One import cycle among ``modules`` as a list of names, or None (depth-first search)."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph.find_modules_directly_imported_by(m) & modules):
            if state.get(n) == "open":
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(modules):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_loops_between_modules(graph):
    # the package itself (tinynet/__init__.py) is the public facade: it imports
    # everything and is imported by name only, so it is left out of the search
    modules = {m for m in graph.modules if m.startswith("tinynet.")}
    assert _cycle(graph, modules) is None


def test_the_cycle_search_finds_a_planted_loop(graph):
    planted = grimp.build_graph("tinynet")
    planted.add_import(importer="tinynet.backend", imported="tinynet.model")
    modules = {m for m in planted.modules if m.startswith("tinynet.")}
    cycle = _cycle(planted, modules)
    assert cycle is not None and "tinynet.backend" in cycle


def test_only_main_reaches_the_commands(graph):
    apps = {m for m in graph.modules if m == "tinynet.apps" or m.startswith("tinynet.apps.")}
    importers = set().union(*(graph.find_modules_that_directly_import(m) for m in apps))
    assert importers - apps == {"tinynet.__main__"}


def _fused_names():
    """Every name tinynet/fused.py defines at its top level (functions, classes, constants)."""
    import ast
    import pathlib

    import tinynet

    tree = ast.parse(pathlib.Path(tinynet.__file__).with_name("fused.py").read_text())
    names = {node.name for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    names |= {t.id for node in tree.body if isinstance(node, ast.Assign)
              for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_only_the_model_reaches_the_fused_step_and_only_by_compile(graph):
    """fused.py is the only module that knows a shortcut exists: Sequential.compile picks
    it (model.py imports make_step, nothing else), and no other module of the package,
    kernel or engine, imports fused.py or names what it defines."""
    import pathlib

    import tinynet

    assert graph.find_modules_that_directly_import("tinynet.fused") == {"tinynet.model"}
    # the flat parameter buffer is the fused step's own layout
    assert graph.find_modules_that_directly_import("tinynet.flat") == {"tinynet.fused"}
    names = _fused_names()
    assert {"FusedStep", "SoftmaxCrossEntropy", "make_step"} <= names
    root = pathlib.Path(tinynet.__file__).parent
    for path in root.rglob("*.py"):
        if path.name == "fused.py" and path.parent == root:
            continue
        words = set(_identifiers(path.read_text()))
        found = names & words
        if path.name == "model.py" and path.parent == root:
            found -= {"make_step"}
        assert not found, f"{path.relative_to(root)} names {sorted(found)} of tinynet.fused"


def _identifiers(text):
    import io
    import tokenize

    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME:
            yield tok.string


def test_no_layer_loss_or_optimiser_has_a_method_only_for_the_fast_path():
    """One way into each thing: the fast path's old hooks are gone from the kernels."""
    import tinynet as tn

    hooks = ("folded_rate", "apply_folded", "softmax_value", "softmax_backward")
    classes = [tn.layers.Dense, tn.layers.ReLU, tn.layers.Softmax, tn.optimizers.SGD,
               tn.optimizers.Optimizer, tn.losses.CategoricalCrossentropy,
               tn.losses.SparseCategoricalCrossentropy]
    for cls in classes:
        assert not [h for h in hooks if hasattr(cls, h)], cls

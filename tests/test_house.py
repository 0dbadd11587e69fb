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

"""fastga's import graph, read from the source: no cycles, layers one way.

The graph holds every ``import`` statement of every module, at module level
and inside functions alike (an import inside a function that closes a cycle
only hides it until that function runs), relative or absolute, of a module
of fastga. ``from .x import name`` is an edge to ``fastga...x.name`` when
that is a module, else to ``fastga...x``. Importing ``a.b`` runs ``a``'s
``__init__`` too, but that is not an edge: every submodule would otherwise
close a cycle with its package. Imports under ``if TYPE_CHECKING:`` never run
and are left out.

Layers, lowest first: kernels (with the registry of codes) <- driver <-
tasks <- commands. A kernel module imports only kernels and the registry;
only the command line imports the commands.
"""

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "fastga"


# ------------------------------------------------------------------ the graph
def module_names(package_dir):
    """``{dotted name: path}`` of every module under ``package_dir`` (a package)."""
    root = package_dir.parent
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _type_checking_nodes(tree):
    """The nodes under ``if TYPE_CHECKING:`` (imports there never run)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    skip.update(id(n) for n in ast.walk(child))
    return skip


def _known(name, modules):
    """``name`` or its longest prefix that is a module of the package, else None."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name, path, modules):
    """The modules of the package that module ``name`` (at ``path``) imports,
    as ``{target: first line number}``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_nodes(tree)
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = {}

    def add(target, node):
        target = _known(target, modules)
        if target is not None and target != name:
            found.setdefault(target, node.lineno)

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else base, node)
    return found


def import_graph(package_dir=PACKAGE_DIR):
    """``{module: {imported module: line}}`` over every module of the package."""
    modules = module_names(package_dir)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


# ------------------------------------------------------------------- cycles
def strongly_connected(graph):
    """The strongly connected components of ``graph`` (Tarjan), each sorted."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):  # recursive: fastga's graph is a few hundred edges deep at most
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _path(graph, start, goal, allowed):
    """A shortest path ``start -> ... -> goal`` inside ``allowed`` (BFS)."""
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w in allowed and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    if goal not in prev:
        return None
    path = [goal]
    while path[-1] != start:
        path.append(prev[path[-1]])
    return path[::-1]


def find_cycles(graph):
    """One cycle (``[a, b, ..., a]``) through each import cycle of ``graph``:
    for every strongly connected component of more than one module (or a
    module that imports itself), the shortest cycle through its first
    module. Empty when the graph has no cycle."""
    cycles = []
    for comp in strongly_connected(graph):
        first = comp[0]
        if len(comp) == 1 and first not in graph.get(first, ()):
            continue
        allowed = set(comp)
        back = min((_path(graph, w, first, allowed) for w in graph[first] if w in allowed),
                   key=len)
        cycles.append([first] + back)
    return sorted(cycles)


def describe(cycle, graph):
    return " -> ".join(
        f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


# -------------------------------------------------------------------- tests
def test_the_cycle_finder_finds_cycles():
    acyclic = {"a": {"b": 1, "c": 1}, "b": {"c": 1}, "c": {}, "d": {"a": 1}}
    assert find_cycles(acyclic) == []
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}, "e": {"e": 1},
             "f": {"g": 1}, "g": {"f": 1, "a": 1}}
    cycles = find_cycles(graph)
    assert sorted(cycles) == [["a", "b", "c", "a"], ["e", "e"], ["f", "g", "f"]]
    for cycle in cycles:  # each is made of edges of the graph
        assert all(b in graph[a] for a, b in zip(cycle, cycle[1:]))
    assert describe(["f", "g", "f"], graph) == "f (line 1) -> g (line 1) -> f"


def test_the_graph_reads_every_kind_of_import(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import thing\n",
        "a.py": "import os\n\ndef f():\n    from .sub import b\n    return b\n",
        "sub/__init__.py": "",
        "sub/b.py": "from .. import c\nfrom ..a import thing\n",
        "c.py": "import pkg.sub.d as d\nfrom typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from . import a\n",
        "sub/d.py": "def g():\n    from pkg import c\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    graph = import_graph(pkg)
    assert {k: sorted(v) for k, v in graph.items()} == {
        "pkg": ["pkg.a"],
        "pkg.a": ["pkg.sub.b"],               # function level, relative, a module from a package
        "pkg.sub": [],
        "pkg.sub.b": ["pkg.a", "pkg.c"],      # two levels up; a name of a module
        "pkg.c": ["pkg.sub.d"],               # absolute; TYPE_CHECKING left out
        "pkg.sub.d": ["pkg.c"],               # absolute, function level
    }
    assert find_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.a"], ["pkg.c", "pkg.sub.d", "pkg.c"]]


@pytest.fixture(scope="module")
def graph():
    g = import_graph()
    assert "fastga.population" in g and "fastga.kernels.breed" in g  # read the real package
    return g


def test_no_import_cycles(graph):
    cycles = find_cycles(graph)
    comps = [c for c in strongly_connected(graph) if len(c) > 1 or c[0] in graph[c[0]]]
    assert not cycles, "import cycles in fastga (one cycle, then every module that is on one):\n" + \
        "\n".join(f"{describe(cycle, graph)}\n    {', '.join(comp)}"
                  for cycle, comp in zip(cycles, sorted(comps)))


def test_kernels_import_only_kernels_and_the_registry(graph):
    bad = [f"{m} imports {t} (line {line})"
           for m, targets in graph.items() if m.startswith("fastga.kernels")
           for t, line in targets.items()
           if not (t.startswith("fastga.kernels") or t == "fastga.registry")]
    assert not bad, "\n".join(bad)


def test_only_the_command_line_imports_the_commands(graph):
    cli = ("fastga.cli", "fastga.__main__")
    bad = [f"{m} imports {t} (line {line})"
           for m, targets in graph.items() if not (m.startswith("fastga.commands") or m in cli)
           for t, line in targets.items() if t.startswith("fastga.commands")]
    assert not bad, "\n".join(bad)


def _reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for w in graph.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_warm_up_compilation_sits_below_the_ga(graph):
    # fastga.compilation runs the kernels the GA uses; the GA, the estimators
    # and everything above them may import it, never the reverse.
    above = {"fastga.ga", "fastga.estimators", "fastga.gan", "fastga.search", "fastga.distributed",
             "fastga.commands", "fastga.cli"}
    reach = _reachable(graph, "fastga.compilation")
    bad = sorted(m for m in reach if m.partition(".")[0] == "fastga"
                 and any(m == a or m.startswith(a + ".") for a in above))
    assert not bad, f"fastga.compilation imports (directly or not): {bad}"


def test_import_fastga_stays_light():
    """``import fastga`` loads no heavy optional or lazily used package."""
    import subprocess
    import sys

    heavy = ["sklearn", "tensorflow", "ray", "torch", "jax", "gymnasium", "matplotlib", "onnx"]
    code = ("import sys, fastga; print(','.join(m for m in %r if m in sys.modules))" % heavy)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip() == ""

"""The layout shows the flow: bytes -> observer -> events -> rules -> results -> renderers.

Static checks over the source: where I/O may happen, what the pure packages
import, no import cycles, no private names used across modules, no module
over about 400 lines.
"""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "inspector"
#: Generated tables, exempt from the size limit.
GENERATED = {"tls/suites.py"}
MAX_LINES = 400
#: The only places that may open sockets or speak TLS/HTTP themselves (one boundary per kind).
IO_PACKAGES = ("net/", "packets/", "lab/")
IO_MODULES = {"socket", "ssl", "http", "urllib.request", "asyncio", "selectors"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        name = "inspector." + rel[:-3].replace("/", ".").removesuffix(".__init__")
        yield rel, name, ast.parse(path.read_text(encoding="utf-8"))


def _imports(name: str, tree: ast.Module, *, type_checking: bool = False):
    """(imported module, names) for every import, lazy ones included, TYPE_CHECKING blocks aside."""
    skip = set()
    if not type_checking:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip |= {id(n) for n in ast.walk(node)}
    package = name.rsplit(".", 1)[0] if not name.endswith(("inspector",)) else name
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[:-(node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, tuple(alias.name for alias in node.names)


MODULES = list(_modules())
IS_PACKAGE = {name for rel, name, _ in MODULES if rel.endswith("__init__.py")}


def test_io_happens_only_at_the_boundaries():
    offenders = []
    for rel, name, tree in MODULES:
        if rel.startswith(IO_PACKAGES) or rel.startswith("certs/"):  # certs: libcrypto, ssl's store paths
            continue
        for module, _names in _imports(name, tree):
            if module.split(".")[0] in IO_MODULES or module in IO_MODULES:
                offenders.append((rel, module))
    assert offenders == []


def test_tls_and_smtp_never_import_scapy_or_packets():
    for rel, name, tree in MODULES:
        if rel.startswith(("tls/", "smtp/", "rules/", "replay/")):
            for module, _ in _imports(name, tree, type_checking=True):
                assert not module.startswith(("scapy", "inspector.packets")), (rel, module)


def test_no_private_names_across_modules():
    offenders = []
    for rel, name, tree in MODULES:
        for module, names in _imports(name, tree, type_checking=True):
            if module.startswith("inspector"):
                offenders += [(rel, module, n) for n in names if n.startswith("_") and not n.endswith("__")]
    assert offenders == []


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    known = {name for _, name, _ in MODULES}
    for _rel, name, tree in MODULES:
        edges = set()
        for module, names in _imports(name, tree):  # what runs; TYPE_CHECKING imports never do
            if module in known:
                edges.add(module)
            # ``from package import module`` imports the submodule
            edges |= {f"{module}.{n}" for n in names if f"{module}.{n}" in known}
        # a package's __init__ runs first for every submodule: not an edge of its own
        graph[name] = {e for e in edges if e != name and not (e in IS_PACKAGE and name.startswith(e + "."))}
    seen, stack, cycles = set(), [], []

    def visit(node):
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()

    for node in sorted(graph):
        visit(node)
    assert cycles == []


def test_no_module_over_400_lines():
    long = {rel: n for rel, _name, _tree in MODULES
            if rel not in GENERATED and (n := len((PACKAGE / rel).read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_private_attributes_of_other_objects():
    """``obj._name`` only on self/cls: another module's object is used through its public API.

    Private names of the standard library and of aiosmtpd/cryptography (argparse,
    ssl, asyncio's SSL protocol) are outside the project and not counted.
    """
    outside = {"argparse", "os", "ssl", "oid", "parser", "_Formatter"}
    offenders = []
    for rel, _name, tree in MODULES:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                base = node.value
                root = base
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                    continue
                if isinstance(root, ast.Name) and root.id in outside:
                    continue
                if isinstance(root, ast.Call) or (isinstance(base, ast.Attribute) and
                                                  isinstance(root, ast.Name) and root.id == "self"
                                                  and base.attr.startswith("_")):
                    continue  # super()._x, self._reader._buffer: the object's own parts
                offenders.append((rel, node.lineno, ast.unparse(node)))
    assert offenders == []

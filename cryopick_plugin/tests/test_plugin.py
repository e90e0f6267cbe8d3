"""The plugin as Scipion sees it: discovery, the GUI tree, and an engine free of Scipion."""
import os
import subprocess
import sys

import pwem
from pwem import Domain
from pyworkflow.gui.project.viewprotocols_extra import ProtocolTreeConfig

OUR_PROTOCOLS = {"CryopickProtImportMicrographs", "CryopickProtImportCoordinates",
                 "CryopickProtEvaluate", "CryopickProtTrainUNet", "CryopickProtPick",
                 "CryopickProtTrainFixMatch", "CryopickProtRescore", "CryopickProtCombine"}


def test_plugin_is_discovered_with_its_protocols():
    plugins = Domain.getPlugins()
    assert "cryopick_plugin" in plugins
    assert OUR_PROTOCOLS <= set(Domain.getProtocols())
    assert "CryopickModel" in Domain.getObjects()
    assert "Ronneberger2015" in plugins["cryopick_plugin"]._bibtex


def _find(node, path=()):
    """Yield (path of menu texts, protocol class name) for every protocol node of a tree."""
    for child in node.childs:
        if child.tag == "protocol":
            yield path, child.value
        yield from _find(child, path + (child.text,))


def test_protocols_appear_under_picking_in_the_gui_tree():
    base_conf = os.path.join(os.path.dirname(pwem.__file__), "protocols.conf")
    views = ProtocolTreeConfig.load(Domain, base_conf)
    found = {name for path, name in _find(views["Protocols SPA"])
             if path[:2] == ("Particles", "Picking")}
    assert OUR_PROTOCOLS <= found
    # every entry of ours in the SPA tree reads "cryopick - ..." (not pyworkflow's
    # "cryopick_plugin - ..."; the "All" view lists plain labels under a plugin folder)
    texts = {}
    for node in _nodes(views["Protocols SPA"]):
        if node.tag == "protocol" and node.value in OUR_PROTOCOLS:
            texts.setdefault(node.value, set()).add(node.text)
    assert set(texts) == OUR_PROTOCOLS
    for name, labels in texts.items():
        assert all(t.startswith("cryopick - ") for t in labels), (name, labels)


def _nodes(node):
    for child in node.childs:
        yield child
        yield from _nodes(child)


def test_engine_and_cli_import_no_scipion():
    code = ("import sys, cryopick_plugin.engine.picking.metrics, cryopick_plugin.engine.io.coordinates, "
            "cryopick_plugin.engine.io.images, cryopick_plugin.engine.ensemble, cryopick_plugin.cli; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('pyworkflow', 'pwem')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


# engine layers: a module may import its own subpackage or a lower layer, never a higher one
ENGINE_LAYERS = {"errors": 0, "device": 1, "io": 1, "picking": 2, "demo_data": 2, "pu": 2,
                 "unet": 3, "fixmatch": 3, "ensemble": 4, "pickers": 5}


def _engine_imports():
    """{module: set of engine modules it imports} from the source (every import statement)."""
    import ast

    root = os.path.join(os.path.dirname(os.path.dirname(__file__)), "engine")
    graph = {}
    for folder, _, names in os.walk(root):
        for fn in names:
            if not fn.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(folder, fn), root)[:-3].replace(os.sep, ".")
            module = rel[:-len(".__init__")] if rel.endswith("__init__") else rel
            package = module if fn == "__init__.py" else module.rpartition(".")[0]
            tree = ast.parse(open(os.path.join(folder, fn)).read())
            deps = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level:
                    base = package.split(".") if package else []
                    base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                    target = ".".join(base + ([node.module] if node.module else []))
                    for alias in node.names:
                        deps.add(f"{target}.{alias.name}" if not node.module else target)
            graph[module] = {d.strip(".") for d in deps if d.strip(".")}
    return graph


def test_engine_imports_only_downwards_and_has_no_circle():
    graph = _engine_imports()
    assert "unet.training" in graph and "fixmatch.picker" in graph
    for module, deps in graph.items():
        top = module.split(".")[0]
        for dep in deps:
            dep_top = dep.split(".")[0]
            if dep_top == top:
                continue
            assert ENGINE_LAYERS[dep_top] < ENGINE_LAYERS[top], f"{module} imports {dep}"
    # no circle inside a subpackage either
    modules = {m: {d for d in deps if d in graph} for m, deps in graph.items()}

    def visit(m, stack):
        assert m not in stack, " -> ".join(stack + [m])
        for d in modules[m]:
            visit(d, stack + [m])

    for m in modules:
        visit(m, [])

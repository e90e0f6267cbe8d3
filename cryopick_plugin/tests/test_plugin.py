"""The plugin as Scipion sees it: discovery, the GUI tree, and an engine free of Scipion."""
import os
import subprocess
import sys

import pwem
from pwem import Domain
from pyworkflow.gui.project.viewprotocols_extra import ProtocolTreeConfig

OUR_PROTOCOLS = {"CryopickProtImportMicrographs", "CryopickProtImportCoordinates",
                 "CryopickProtEvaluate", "CryopickProtTrainUNet", "CryopickProtPick",
                 "CryopickProtTrainFixMatch", "CryopickProtRescore"}


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


def test_engine_and_cli_import_no_scipion():
    code = ("import sys, cryopick_plugin.engine.metrics, cryopick_plugin.engine.coordinates, "
            "cryopick_plugin.engine.images, cryopick_plugin.cli; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('pyworkflow', 'pwem')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr

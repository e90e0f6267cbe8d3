"""The Scipion Plugin class: variables a user can set in scipion.conf."""
import sys

import pwem

from .constants import CRYOPICK_PYTHON, URL


class Plugin(pwem.Plugin):
    _url = URL

    @classmethod
    def _defineVariables(cls):
        # Heavy work runs as `python -m cryopick_plugin.cli ...` through runJob; by default
        # with Scipion's own interpreter (where the plugin is installed).
        cls._defineVar(CRYOPICK_PYTHON, sys.executable)

    @classmethod
    def getPython(cls):
        return cls.getVar(CRYOPICK_PYTHON) or sys.executable

    @classmethod
    def getCliArgs(cls, subcommand):
        """Program and first arguments for runJob: the cryopick CLI in the plugin's python."""
        return cls.getPython(), f"-m cryopick_plugin.cli {subcommand}"


# pyworkflow derives the plugin's name and folder from the module the class belongs to:
# present it as a member of the package that exposes it.
Plugin.__module__ = "cryopick_plugin"

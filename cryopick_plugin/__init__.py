"""cryopick: particle picking from a few hand-picked examples, as a Scipion plugin.

Layout: ``engine`` (plain numpy/torch, no Scipion), ``cli`` (the ``cryopick`` command on the
engine), ``protocols`` and ``objects`` (Scipion), ``tests``.

``Plugin`` is loaded on first access (PEP 562) so that the engine and the command line can be
imported without importing Scipion; pyworkflow's discovery reads ``cryopick_plugin.Plugin``
and gets the real class.
"""
__version__ = "0.1.0"

_logo = None
_references = ["Ronneberger2015"]


def __getattr__(name):
    if name == "Plugin":
        from ._plugin import Plugin

        globals()["Plugin"] = Plugin
        return Plugin
    raise AttributeError(f"module 'cryopick_plugin' has no attribute '{name}'")

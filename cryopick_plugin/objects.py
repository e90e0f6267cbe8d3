"""Scipion data objects of cryopick."""
import os

import pyworkflow.object as pwobj
from pwem.objects import EMObject


class CryopickModel(EMObject):
    """A trained cryopick picker: the model file plus what is needed to use it elsewhere.

    A picking protocol in this or another project points at it; the file is self-contained
    (weights, architecture, working pixel size, particle diameter, picking threshold).
    """

    def __init__(self, path=None, method=None, **kwargs):
        EMObject.__init__(self, **kwargs)
        self._path = pwobj.String(path)
        self._method = pwobj.String(method)  # 'unet', 'fixmatch' or 'ensemble'
        self._particleDiameter = pwobj.Float()  # Angstrom
        self._samplingRate = pwobj.Float()  # Angstrom/pixel of the training micrographs

    def getPath(self):
        return self._path.get()

    def setPath(self, path):
        self._path.set(path)

    def getMethod(self):
        return self._method.get()

    def setMethod(self, method):
        self._method.set(method)

    def getParticleDiameter(self):
        return self._particleDiameter.get()

    def setParticleDiameter(self, value):
        self._particleDiameter.set(value)

    def getSamplingRate(self):
        return self._samplingRate.get()

    def setSamplingRate(self, value):
        self._samplingRate.set(value)

    def exists(self):
        return bool(self.getPath()) and os.path.exists(self.getPath())

    def problem(self, method):
        """Why this model cannot serve where a ``method`` model is needed (None: it can)."""
        if not self.exists():
            return f"model file not found: {self.getPath()}"
        if self.getMethod() != method:
            return f"needs a {method} model, not a {self.getMethod()} one"
        return None

    def fitsDiameter(self, diameter):
        """Whether it was trained for a particle of ``diameter`` A (within 0.1%)."""
        return abs(self.getParticleDiameter() - diameter) <= 1e-3 * diameter

    def __str__(self):
        return (f"CryopickModel ({self.getMethod()}, diameter {self.getParticleDiameter()} A, "
                f"{os.path.basename(self.getPath() or '')})")

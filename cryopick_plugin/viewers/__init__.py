"""Scipion viewers of cryopick (pyworkflow discovers them in this module: Domain.getViewers)."""
from .viewers import (CryopickEvaluationViewer, CryopickModelViewer, CryopickPicksViewer,
                      CryopickTrainingViewer)

__all__ = ["CryopickEvaluationViewer", "CryopickModelViewer", "CryopickPicksViewer",
           "CryopickTrainingViewer"]

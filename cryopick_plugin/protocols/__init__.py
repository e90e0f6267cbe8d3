"""Scipion protocols of cryopick (pyworkflow discovers them in this module)."""
from .protocol_import_micrographs import CryopickProtImportMicrographs
from .protocol_import_coordinates import CryopickProtImportCoordinates
from .protocol_evaluate import CryopickProtEvaluate
from .protocol_train_unet import CryopickProtTrainUNet
from .protocol_pick import CryopickProtPick
from .protocol_train_fixmatch import CryopickProtTrainFixMatch
from .protocol_rescore import CryopickProtRescore
from .protocol_filter import CryopickProtFilterByScore
from .protocol_combine import CryopickProtCombine

__all__ = ["CryopickProtImportMicrographs", "CryopickProtImportCoordinates",
           "CryopickProtEvaluate", "CryopickProtTrainUNet", "CryopickProtPick",
           "CryopickProtTrainFixMatch", "CryopickProtRescore", "CryopickProtFilterByScore",
           "CryopickProtCombine"]

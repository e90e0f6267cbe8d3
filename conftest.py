"""pytest bootstrap: Scipion reads its configuration from the environment at import time, so
the headless settings must exist before any test module imports pyworkflow or pwem."""
import os
import tempfile

from cryopick_plugin import scipion_env

scipion_env.configure(os.environ.get("CRYOPICK_TEST_USER_DATA")
                      or tempfile.mkdtemp(prefix="cryopick-scipion-"))

"""pytest bootstrap: Scipion reads its configuration from the environment at import time, so
the headless settings must exist before any test module imports pyworkflow or pwem.

Test projects go to a temporary folder removed at exit; set CRYOPICK_TEST_USER_DATA to keep
them somewhere for inspection.
"""
import atexit
import os
import shutil
import tempfile

from cryopick_plugin import scipion_env

_kept = os.environ.get("CRYOPICK_TEST_USER_DATA")
_user_data = _kept or tempfile.mkdtemp(prefix="cryopick-scipion-")
if not _kept:
    atexit.register(shutil.rmtree, _user_data, ignore_errors=True)
scipion_env.configure(_user_data)


import pytest  # noqa: E402


@pytest.fixture
def float32_inference():
    """Inference in float32 for the test (the default, "auto", is bfloat16 on CPUs that have
    it): for checks of exact equality between two ways of computing the same map."""
    from cryopick_plugin.engine import device

    before = device._precision
    device.set_precision("float32")
    yield
    device.set_precision(before)

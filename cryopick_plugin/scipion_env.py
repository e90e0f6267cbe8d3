"""Environment for running Scipion headless (scripts, tests, CI) before pyworkflow is imported.

pyworkflow reads its configuration from os.environ at import time, so this must run first.
Values already set by the user (a real Scipion installation) are kept.
"""
import os
import sys

HOSTS_CONF = """[localhost]
PARALLEL_COMMAND = mpirun -np %_(JOB_NODES)d %_(COMMAND)s
NAME = SCIPION_CRYOPICK
MANDATORY = False
QUEUE_FOR_JOBS = N
"""


def configure(user_data=None):
    """Set the variables a headless Scipion run needs; returns the user data folder."""
    user_data = os.path.abspath(user_data or os.environ.get(
        "SCIPION_USER_DATA", os.path.join(os.path.expanduser("~"), "ScipionUserData")))
    os.makedirs(user_data, exist_ok=True)
    hosts = os.path.join(user_data, "hosts.conf")
    if "SCIPION_HOSTS" not in os.environ and not os.path.exists(hosts):
        with open(hosts, "w") as fh:
            fh.write(HOSTS_CONF)
    defaults = {
        "SCIPION_DOMAIN": "pwem",
        "SCIPION_USER_DATA": user_data,
        "SCIPION_HOSTS": hosts,
        "SCIPION_HOME": user_data,
        "SCIPION_TEST_NOSYNC": "1",
        "SCIPION_NOTIFY": "False",
        "SCIPION_STEPS_CHECK_SEC": "1",
        # protocols run in a subprocess: make it this interpreter (the one with cryopick)
        "SCIPION_PYTHON": sys.executable,
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    # 'python3' on PATH must be this venv's interpreter for pw_protocol_run.py subprocesses
    bindir = os.path.dirname(sys.executable)
    if not os.environ.get("PATH", "").startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    return user_data

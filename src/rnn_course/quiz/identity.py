"""Who is taking the quiz: a course id when one is configured, else the hub user, else the OS user.

On a Docker-based JupyterHub every learner's OS user is `jovyan`, so the OS user name alone would merge
them (one test draw, one learner in `quiz stats`). JupyterHub sets JUPYTERHUB_USER in each learner's server;
a course can set RNN_COURSE_LEARNER (its own learner id) in the learner's environment instead.
"""

from __future__ import annotations

import getpass
import os

COURSE_ID_VAR = "RNN_COURSE_LEARNER"
HUB_USER_VAR = "JUPYTERHUB_USER"
SHARED_USERS = ("jovyan", "root", "learner")  # OS users that name a container, not a person


def learner() -> str:
    """The learner name progress is saved under."""
    for variable in (COURSE_ID_VAR, HUB_USER_VAR):
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "learner"

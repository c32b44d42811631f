"""JupyterHub for the course: local accounts (PAM), one JupyterLab per learner, nbgrader's exchange.

`make hub` runs it as root from the course's checkout (docs/instructors/hub.md). Learners and instructors
are local accounts; members of the groups below may log in with their system password. Every learner's
JupyterLab has nbgrader's Assignment List, reading the learner-side config in `learner/` (the exchange and
the course id), so fetch, submit and fetch feedback work against the exchange the instructor releases to.
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (traitlets provides it)

HERE = Path(__file__).resolve().parent

# Where the hub listens. Learners' passwords cross it: serve it behind an HTTPS reverse proxy, or set
# c.JupyterHub.ssl_cert and c.JupyterHub.ssl_key, before opening it beyond this machine.
c.JupyterHub.bind_url = os.environ.get("RNN_COURSE_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"  # in the folder the hub is started from
c.JupyterHub.cookie_secret_file = "jupyterhub_cookie_secret"

# Accounts: local users with a password (`useradd`, `passwd`), checked by PAM. Learners are in one group,
# instructors in another; instructors are the hub's admins.
LEARNERS = os.environ.get("RNN_COURSE_HUB_LEARNERS", "rnn-learners")
INSTRUCTORS = os.environ.get("RNN_COURSE_HUB_INSTRUCTORS", "rnn-instructors")
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {LEARNERS, INSTRUCTORS}
c.PAMAuthenticator.admin_groups = {INSTRUCTORS}
c.PAMAuthenticator.open_sessions = False  # no login session per server (containers have no logind)

# One JupyterLab per user, run as that user in their home folder, from an environment every user can read
# (not root's own: see the page). Its nbgrader config (the exchange, the course id) is the learner side's.
EXCHANGE = os.environ.get("RNN_COURSE_EXCHANGE", "/srv/nbgrader/exchange")
python = os.environ.get("RNN_COURSE_HUB_PYTHON", sys.executable)
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [python, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    "RNN_COURSE_EXCHANGE": EXCHANGE,
    "JUPYTER_CONFIG_PATH": os.environ.get("RNN_COURSE_HUB_LEARNER_CONFIG", str(HERE / "learner")),
}
c.Spawner.start_timeout = 180  # seconds; a busy machine starts JupyterLab slowly
c.Spawner.http_timeout = 180

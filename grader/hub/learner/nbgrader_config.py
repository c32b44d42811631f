"""nbgrader's learner side on the hub: the course id and the exchange, outside the course folder.

The hub points every learner's JupyterLab here (JUPYTER_CONFIG_PATH); without the hub, copy this file to
/etc/jupyter/nbgrader_config.py. The instructor's course (grader/nbgrader_config.py) reads the same variable.
"""

import os

c = get_config()  # noqa: F821 (traitlets provides it)

c.CourseDirectory.course_id = "rnn_course"
c.Exchange.root = os.environ.get("RNN_COURSE_EXCHANGE", "/srv/nbgrader/exchange")

"""The public path of the checks, which released notebooks import: `from rnn_course.grading import checks`.

The code lives in judge/checks.py. This module makes that path name the very same module object, so a test
cell (or a learner) that reads or patches `checks.<name>` sees exactly what it saw before the move.
"""

import sys

from rnn_course.grading.judge import checks

sys.modules[__name__] = checks

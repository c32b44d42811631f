"""No script of a submission runs where it is opened: the formgrader's page and the feedback page in Chromium.

A learner's notebook displays scripts, event handlers, `javascript:` links, JavaScript output, an iframe, SVG
and a web beacon, and writes the same into a markdown and a raw cell. It is autograded by the course's runner,
then opened as the instructor opens it (the formgrader of a real Jupyter server, token auth, the course folder
as its root) and as the learner opens the feedback page (a file). Nothing of it may run or fetch anything.
"""

import os
import shutil

import nbformat
import pytest

from tests.helpers import browser as harness
from tests.helpers import submissions as s
from tests.helpers.course import copy_course

pytestmark = [pytest.mark.browser, pytest.mark.grading, pytest.mark.slow]

if harness.browser_missing() and os.environ.get(harness.REQUIRE_ENV) != "1":
    pytest.skip(f"browser tier skipped: {harness.browser_missing()}", allow_module_level=True)

STUDENT = "attacker"
RAN = "the attack cell ran"  # printed by the attack: the page shows the cell, so the check below can fail
ATTACK = f'''from IPython.display import HTML, SVG, Javascript, Markdown, display

display(HTML("<script>window.__pwned = 1; document.title = 'pwned'</script>"))
display(HTML('<img src="data:," onerror="window.__pwned = 2">'))
display(HTML('<a id="evil-link" href="javascript:window.__pwned = 3">look</a>'))
display(Javascript("window.__pwned = 4"))
display(HTML('<iframe srcdoc="<script>parent.__pwned = 5</script>"></iframe>'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>window.__pwned = 6</script></svg>'))
display(HTML('<img src="http://127.0.0.1:9/beacon.png">'))
display(Markdown('<img src=x onerror="window.__pwned = 7">'))
print("{RAN}")'''
MARKDOWN = '<img src=x onerror="window.__pwned = 8"> [look](javascript:window.__pwned=9)'
EVIL_PAGE = "<html><body><script>window.__pwned = 11</script>served</body></html>"
RAW = "<script>window.__pwned = 10; fetch('http://127.0.0.1:9/beacon')</script>"


def attacking_notebook():
    def add_cells(notebook):
        notebook.cells.append(nbformat.v4.new_markdown_cell(MARKDOWN))
        notebook.cells.append(nbformat.v4.new_raw_cell(RAW, metadata={"format": "text/html"}))

    return s.build(s.CORRECT, extra_cells={"rnn_cell": [ATTACK]}, edit=add_cells)


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    from rnn_course.grading.runner import run as runner
    from rnn_course.grading.workflow.feedback import feedback
    from rnn_course.grading.workflow.release import release

    if not shutil.which("bwrap"):
        pytest.skip("grading needs bubblewrap (sudo apt-get install bubblewrap)")
    course = copy_course(tmp_path_factory.mktemp("active") / "grader")
    assert release(course, s.ASSIGNMENT) == []
    path = s.write(attacking_notebook(), course, STUDENT)
    (path.parent / "evil.html").write_text(EVIL_PAGE)  # the formgrader serves autograded/'s files
    [result] = runner.autograde(course, s.ASSIGNMENT, workers=1, progress=False).results
    assert result.status == "graded", result.reason
    feedback(course, s.ASSIGNMENT)
    return course


@pytest.fixture(scope="module")
def formgrader(graded_course, tmp_path_factory):
    server = harness.Lab(root_dir=graded_course, state_dir=tmp_path_factory.mktemp("jupyter")).start()
    yield server
    server.stop()


def submission_id(course) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn_course") as gradebook:
        return gradebook.find_submission_notebook(s.ASSIGNMENT, s.ASSIGNMENT, STUDENT).id


def assert_nothing_ran(page, requests: list[str], errors: list[str]) -> None:
    page.wait_for_timeout(1500)  # time for a handler or a late script to fire
    link = page.locator("#evil-link")
    if link.count():
        link.first.click()
        page.wait_for_timeout(500)
    assert page.evaluate("() => window.__pwned") is None
    assert page.title() != "pwned"
    assert not [url for url in requests if "beacon" in url], requests
    assert RAN in page.inner_text("body")  # the attack's cell is on the page
    assert not [error for error in errors if "__pwned" in error], errors


def watch(page) -> tuple[list[str], list[str]]:
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return requests, errors


def test_the_attack_reached_the_submission():
    text = nbformat.writes(attacking_notebook())
    assert "<script>" in text and "onerror" in text and "javascript:" in text


def test_no_script_of_the_submission_runs_in_the_formgrader(formgrader, graded_course, browser):
    context = browser.new_context()
    page = context.new_page()
    requests, errors = watch(page)
    try:
        submission = submission_id(graded_course)
        url = f"{formgrader.url}/formgrader/submissions/{submission}/?token={formgrader.token}"
        response = page.goto(url)
        assert response is not None and response.ok, (response and response.status, formgrader.log_tail())
        page.get_by_text(RAN).first.wait_for(timeout=60_000)
        assert_nothing_ran(page, requests, errors)
    finally:
        context.close()


def test_no_script_of_the_submission_runs_in_the_feedback_page(graded_course, browser):
    [page_file] = (graded_course / "feedback" / STUDENT / s.ASSIGNMENT).glob("*.html")
    context = browser.new_context()
    page = context.new_page()
    requests, errors = watch(page)
    try:
        page.goto(page_file.as_uri())
        assert_nothing_ran(page, requests, errors)
    finally:
        context.close()


def test_a_page_the_learner_shipped_is_not_served_by_the_formgrader(formgrader, graded_course, browser):
    context = browser.new_context()
    try:
        base = f"{formgrader.url}/formgrader/submissions/{submission_id(graded_course)}"
        travelled = context.request.get(f"{base}/{s.ASSIGNMENT}.ipynb?token={formgrader.token}")
        assert travelled.ok  # the formgrader serves autograded/'s files: the notebook is there
        shipped = context.request.get(f"{base}/evil.html?token={formgrader.token}")
        assert shipped.status == 404, shipped.text()[:200]
    finally:
        context.close()

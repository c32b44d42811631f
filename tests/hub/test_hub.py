"""A class on a real JupyterHub: learners fetch, submit and fetch feedback in Chromium through JupyterLab's
Assignment List; the instructor releases, collects, autogrades in the sandbox and releases feedback."""

from __future__ import annotations

import csv
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import browser as harness
from tests.helpers.course import copy_course
from tests.helpers.paths import ROOT

pytestmark = [pytest.mark.hub, pytest.mark.slow]

A = "rnn_from_scratch"
NOTEBOOK = f"{A}.ipynb"
DEMO = ROOT / "grader" / "demo_submissions"
ARTIFACTS = ROOT / "test-artifacts" / "hub"
SPAWN_MS = 240_000  # logging in starts the learner's JupyterLab: slow on a busy machine


def as_instructor(hub_class, *args: str) -> str:
    """Run `python ARGS` in the instructor's course folder, with this venv; return its output.

    The instructor's commands run as root, as the other grading tiers do in CI: the learners' shared
    environment uses Debian's python3.11, whose `re` (3.11.2) cannot compile soupsieve 4's selectors, so
    nbconvert's HTML export, and with it the feedback pages, fails there.
    """
    env = {
        **os.environ,
        "RNN_COURSE_EXCHANGE": str(hub_class.exchange),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        [sys.executable, *args],
        cwd=hub_class.root / "course",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout[-2000:] + done.stderr[-3000:]
    assert done.returncode == 0, f"{' '.join(args)} failed ({done.returncode}):\n{output}"
    return done.stdout + done.stderr


def grade(hub_class, *args: str) -> str:
    return as_instructor(hub_class, "-m", "rnn_course.cli", "grade", *args, "--course-dir", ".")


def nbgrader(hub_class, *args: str) -> str:
    return as_instructor(hub_class, "-m", "nbgrader", *args)


def log_in(browser, hub, account, then: str = ""):
    """Log in with the hub's form (PAM, the account's password); return the page, at `then` if given."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login" + (f"?next={then}" if then else ""))
    page.fill("#username_input", account.name)
    page.fill("#password_input", account.password)
    page.click("#login_submit")
    return page


def open_lab(browser, hub, account):
    """A learner logs in; returns the page once the hub has started their JupyterLab and it has loaded."""
    page = log_in(browser, hub, account)
    page.locator("#jp-main-dock-panel").wait_for(timeout=SPAWN_MS)
    assert f"/user/{account.name}/lab" in page.url
    return page


def open_assignment_list(page) -> None:
    """Nbgrader > Assignment List, as a learner opens it."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Assignment List$")).click()
    page.locator("#nbgrader-assignment-list").wait_for()


def row(page, section: str):
    """The assignment's row in one of the list's sections: released, fetched or submitted."""
    return page.locator(f"#{section}_assignments_list > .list_item", has_text=A)


def press(page, section: str, label: str) -> None:
    row(page, section).get_by_role("button", name=re.compile(f"^{label}$", re.I)).click()


def fetch_and_submit(page, account, solved_from: str) -> None:
    """Fetch the assignment, work on it (the demo learner's notebook), and submit it."""
    press(page, "released", "fetch")
    row(page, "fetched").wait_for()
    fetched = account.home / A / NOTEBOOK
    assert fetched.exists(), f"fetch did not write {fetched}"
    shutil.copy(DEMO / solved_from / A / NOTEBOOK, fetched)
    account.chown(fetched)
    press(page, "fetched", "submit")
    row(page, "submitted").wait_for()


def fetch_feedback(page, account) -> str:
    """Refresh the list, fetch the released feedback; returns the feedback page the learner got."""
    page.locator("#refresh_assignments_list").click()
    row(page, "submitted").filter(has_text="feedback available to fetch").wait_for()
    press(page, "submitted", "fetch feedback")
    row(page, "submitted").filter(has_text="view feedback").wait_for()
    pages = sorted((account.home / A / "feedback").glob(f"*/{A}.html"))
    assert pages, f"no feedback under {account.home / A / 'feedback'}"
    return pages[-1].read_text()


def test_a_class_on_the_hub(hub_class, tmp_path):
    harness.in_a_thread_of_its_own(a_class_on_the_hub, hub_class, tmp_path)


def a_class_on_the_hub(hub_class, tmp_path):
    hub, (ada, ben), teacher = hub_class.hub, hub_class.learners, hub_class.instructor
    pages = []
    try:
        # The instructor's course, released into the exchange, with a due date three hours ago; Ada has
        # an extension of a day, so only Ben will be late. A late day costs 10%.
        course = copy_course(hub_class.root / "course")
        with open(course / "nbgrader_config.py", "a") as config:
            config.write("\nc.LatePolicy.penalty_per_day = 0.1\n")
        (course / "roster.csv").write_text(
            "id,first_name,last_name,email\n"
            f"{ada.name},Ada,Lovelace,ada@example.org\n{ben.name},Ben,Franklin,ben@example.org\n"
        )
        grade(hub_class, "roster", "import", "roster.csv")
        grade(hub_class, "release", A)
        nbgrader(hub_class, "release_assignment", A)
        assert (hub_class.exchange / "rnn_course" / "outbound" / A / NOTEBOOK).exists()
        due = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=3)
        grade(hub_class, "deadline", A, due.strftime("%Y-%m-%dT%H:%M+00:00"))
        grade(hub_class, "extension", A, ada.name, "--days", "1")

        # The learners, each in their own browser session, through the Assignment List.
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = harness.launch_chromium(playwright)
            for learner, solved_from in ((ada, "student_correct"), (ben, "student_partial")):
                page = open_lab(browser, hub, learner)
                pages.append(page)
                open_assignment_list(page)
                fetch_and_submit(page, learner, solved_from)
            # The instructor is the hub's admin (their group): the admin page lists both learners.
            admin = log_in(browser, hub, teacher, then="/hub/admin")
            pages.append(admin)
            for learner in (ada, ben):
                admin.get_by_text(learner.name).first.wait_for()
            assert "/hub/admin" in admin.url
            inbound = sorted(
                path.name.split("+")[0] for path in (hub_class.exchange / "rnn_course" / "inbound").iterdir()
            )
            assert inbound == [ada.name, ben.name]

            # The instructor collects from the exchange, grades in the sandbox, releases feedback.
            nbgrader(hub_class, "collect", A)
            for learner in (ada, ben):
                assert (course / "submitted" / learner.name / A / NOTEBOOK).exists()
            grade(hub_class, "autograde", A, "--workers", "2", "--quiet")
            report = json.loads(sorted((course / ".runs").glob("[0-9]*.json"))[-1].read_text())
            assert report["sandboxed"] is True
            assert {entry["student"]: entry["status"] for entry in report["results"]} == {
                ada.name: "graded",
                ben.name: "graded",
            }
            grade(hub_class, "feedback", A)
            nbgrader(hub_class, "release_feedback", A)
            grade(hub_class, "export")
            with open(course / "grades.csv", newline="") as grades:
                rows = {line["student_id"]: line for line in csv.DictReader(grades)}
            assert (rows[ada.name]["late"], float(rows[ada.name]["score"])) == ("no", 22.0)
            partial = json.loads((DEMO / "expected_scores.json").read_text())["student_partial"]
            assert (rows[ben.name]["late"], float(rows[ben.name]["raw_score"])) == ("yes", partial)
            assert float(rows[ben.name]["late_submission_penalty"]) == pytest.approx(0.1 * partial)  # a day
            assert rows[ada.name]["first_name"] == "Ada"

            # Each learner fetches their own feedback in the same lab.
            for learner, page in zip((ada, ben), pages[:2], strict=True):
                feedback = fetch_feedback(page, learner)
                assert learner.name in feedback or A in feedback
            browser.close()
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(pages):
            try:
                page.screenshot(path=str(ARTIFACTS / f"learner-{index}.png"), full_page=True)
            except Exception:  # a closed page must not hide the real failure
                pass
        (ARTIFACTS / "jupyterhub.log").write_text(hub.log_tail(400))
        raise

    # Every server is stopped by its PID: the learners' JupyterLabs, the hub, its proxy.
    assert {"hub", "proxy", f"server:{ada.name}", f"server:{ben.name}"} <= set(hub.servers()) | {"hub"}
    assert hub.stop() == []

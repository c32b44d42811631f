"""From the LMS to grades back in the LMS: rosters of Moodle and Canvas, their submission zips (naming
variants, a late file, a learner's zip, stray and hostile entries), due dates, an extension, a late penalty,
one real autograde run, then every export format read back with the columns its importer reads.
"""

import csv
import datetime
import io
import stat
import zipfile

import nbformat
import pytest
from nbgrader.api import Gradebook

from rnn_course.grading.lms import collect, deadlines, exports, extras
from rnn_course.grading.runner.run import autograde
from rnn_course.grading.workflow.export import export
from rnn_course.grading.workflow.feedback import feedback
from rnn_course.grading.workflow.release import release
from tests.helpers import submissions
from tests.helpers.course import copy_course, run_cli

pytestmark = [pytest.mark.grading, pytest.mark.slow]

A = submissions.ASSIGNMENT
NOTEBOOK = f"{A}.ipynb"
DUE = datetime.datetime(2026, 1, 10, 12, 0)  # UTC
ON_TIME = (2026, 1, 9, 10, 0, 0)
LATE_25_H = (2026, 1, 11, 13, 0, 0)  # 1 day 1 h late: two started days, 20% at 10% a day
LATE_22_H = (2026, 1, 11, 10, 0, 0)  # 22 h late, but with a one-day extension

MOODLE_ROSTER = """\ufeffFirst name,Last name,ID number,Email address,Groups
Jane,Doe,jdoe,jane.doe@uni.example,Group A
Ann,Lee,alee,ann.lee@uni.example,Group A
Bob,Marley,bmarley,bob@uni.example,Group B
Carl,Late,clate,carl@uni.example,Group B
Dora,Empty,dempty,dora@uni.example,Group B
Sam,Twin,stwin1,sam1@uni.example,
Sam,Twin,stwin2,sam2@uni.example,
"""
CANVAS_ROSTER = f""""Student","ID","SIS User ID","SIS Login ID","Section","{A} (4711)"
"    Points Possible","","","","","24.00"
"Doe, John","2001","jdoe2","jdoe2@uni.example","Section 1",""
"Roe, Emma","2002","eroe","eroe@uni.example","Section 2",""
"Student, Test","2999","","","",""
"""


def notebook_bytes(answers=None) -> bytes:
    return nbformat.writes(submissions.build(answers)).encode()


CORRECT = notebook_bytes(submissions.CORRECT)
BLANK = notebook_bytes()


def add(archive, name, data, when=ON_TIME, mode=None):
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        info.external_attr = mode << 16
    archive.writestr(info, data)


def learner_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        add(inner, "my work/rnn_from_scratch-1.ipynb", BLANK)
        add(inner, "__MACOSX/my work/._rnn_from_scratch-1.ipynb", b"\0\5\26\7")
    return buffer.getvalue()


def moodle_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        add(archive, f"Jane Doe_1000001_assignsubmission_file/{NOTEBOOK}", BLANK)
        add(archive, "Ann Lee_1000002_assignsubmission_file_RNN_from_scratch (1).ipynb", BLANK, LATE_22_H)
        add(archive, "Bob Marley_1000003_assignsubmission_file/handin.zip", learner_zip())
        add(archive, f"Carl Late_1000004_assignsubmission_file/{NOTEBOOK}", CORRECT, LATE_25_H)
        add(archive, f"Carl Late_1000004_assignsubmission_file/old/{NOTEBOOK}", BLANK, ON_TIME)  # older copy
        add(archive, "Dora Empty_1000005_assignsubmission_file/answers.pdf", b"%PDF-1.4 not a notebook")
        add(archive, f"Sam Twin_1000006_assignsubmission_file/{NOTEBOOK}", BLANK)
        add(archive, f"Zed Nobody_1000009_assignsubmission_file/{NOTEBOOK}", BLANK)
        add(archive, f"../../Jane Doe_1000001_assignsubmission_file/{NOTEBOOK}", BLANK)
        add(
            archive,
            "Jane Doe_1000001_assignsubmission_file/link.ipynb",
            b"/etc/passwd",
            mode=stat.S_IFLNK | 0o777,
        )
        add(archive, "index.html", b"<html>stray</html>")
    return path


def canvas_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        add(archive, f"doejohn_LATE_2001_3001_{NOTEBOOK}", CORRECT, LATE_25_H)
        add(archive, "roeemma_2002_3002_rnn_from_scratch-1.ipynb", BLANK)
        add(archive, "notes.txt", b"stray")
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Released; grades.csv written with no learner; two rosters; a due date, a 10% a day penalty."""
    tmp = tmp_path_factory.mktemp("lms")
    course_dir = copy_course(tmp / "course")
    with (course_dir / "nbgrader_config.py").open("a") as config:
        config.write("\nc.LatePolicy.penalty_per_day = 0.1\n")
    assert release(course_dir, A) == []
    empty = list(csv.reader(export(course_dir).open()))
    (tmp / "moodle.csv").write_text(MOODLE_ROSTER, encoding="utf-8")
    (tmp / "canvas.csv").write_text(CANVAS_ROSTER, encoding="utf-8")
    for name in ("moodle.csv", "canvas.csv"):
        result = run_cli("grade", "roster", "import", tmp / name, "--course-dir", course_dir)
        assert result.returncode == 0, result.stderr
    rostered = list(csv.reader(export(course_dir).open()))
    result = run_cli("grade", "deadline", A, "2026-01-10T12:00", "--course-dir", course_dir)
    assert result.returncode == 0 and "due 2026-01-10 12:00 UTC" in result.stdout, result.stderr
    result = run_cli("grade", "extension", A, "alee", "--days", "1", "--course-dir", course_dir)
    assert result.returncode == 0, result.stderr
    return course_dir, tmp, {"empty": empty, "rostered": rostered}


@pytest.fixture(scope="module")
def collected(course):
    course_dir, tmp, _ = course
    result = run_cli(
        "grade", "collect", moodle_zip(tmp / "moodle.zip"), "--assignment", A, "--course-dir", course_dir
    )
    assert result.returncode == 0, result.stderr
    moodle = list(csv.DictReader((course_dir / f"collect-{A}.csv").open()))
    canvas, _ = collect.collect(course_dir, canvas_zip(tmp / "canvas.zip"), A)
    return {row["entry"]: row for row in moodle}, {row.entry: row for row in canvas}, result.stdout


@pytest.fixture(scope="module")
def graded(course, collected):
    course_dir, _, _ = course
    report = autograde(course_dir, A, workers=2, progress=False)
    feedback(course_dir, A)
    return {result.student: result for result in report.results}


# ---- submissions in


def test_every_file_of_the_moodle_zip_has_a_row(collected):
    moodle, _, _ = collected
    assert len(moodle) == 13  # 11 entries and the 2 files inside Bob's zip
    assert {row["status"] for row in moodle.values()} == {"collected", "failed"}
    for row in moodle.values():
        assert row["status"] == "collected" or row["reason"], row


def test_moodle_folder_and_flat_names_map_to_the_roster_with_a_note_for_a_renamed_notebook(collected):
    moodle, _, _ = collected
    assert moodle[f"Jane Doe_1000001_assignsubmission_file/{NOTEBOOK}"]["student_id"] == "jdoe"
    ann = moodle["Ann Lee_1000002_assignsubmission_file_RNN_from_scratch (1).ipynb"]
    assert ann["student_id"] == "alee" and ann["status"] == "collected"
    assert ann["reason"] == f"RNN_from_scratch (1).ipynb taken as {NOTEBOOK}"


def test_a_learners_zip_is_unpacked_and_its_notebook_normalised(course, collected):
    course_dir, _, _ = course
    moodle, _, _ = collected
    bob = "Bob Marley_1000003_assignsubmission_file/handin.zip"
    assert moodle[bob]["status"] == "collected" and "unpacked" in moodle[bob]["reason"]
    inner = moodle[f"{bob}/my work/rnn_from_scratch-1.ipynb"]
    assert (
        inner["status"] == "collected" and inner["reason"] == f"rnn_from_scratch-1.ipynb taken as {NOTEBOOK}"
    )
    assert moodle[f"{bob}/__MACOSX/my work/._rnn_from_scratch-1.ipynb"]["status"] == "failed"
    assert (course_dir / "submitted" / "bmarley" / A / NOTEBOOK).read_bytes() == BLANK


def test_of_two_copies_the_newer_is_collected_and_the_older_says_so(course, collected):
    course_dir, _, _ = course
    moodle, _, _ = collected
    old = moodle[f"Carl Late_1000004_assignsubmission_file/old/{NOTEBOOK}"]
    assert old["status"] == "failed" and old["reason"].startswith("an older copy")
    assert (course_dir / "submitted" / "clate" / A / NOTEBOOK).read_bytes() == CORRECT


def test_hostile_stray_and_unknown_entries_fail_with_their_reason(course, collected):
    course_dir, _, _ = course
    moodle, _, _ = collected
    reasons = {
        f"../../Jane Doe_1000001_assignsubmission_file/{NOTEBOOK}": "a path outside the zip",
        "Jane Doe_1000001_assignsubmission_file/link.ipynb": "a symbolic link",
        "index.html": "not named as Moodle names a submission",
        f"Zed Nobody_1000009_assignsubmission_file/{NOTEBOOK}": "'Zed Nobody' is not on the roster",
        f"Sam Twin_1000006_assignsubmission_file/{NOTEBOOK}": "matches 2 learners on the roster (stwin1, stw",
        "Dora Empty_1000005_assignsubmission_file/answers.pdf": f"not a notebook of {A}",
    }
    for entry, reason in reasons.items():
        assert moodle[entry]["status"] == "failed" and reason in moodle[entry]["reason"], moodle[entry]
    assert not (course_dir.parent / NOTEBOOK).exists() and not (course_dir / "submitted" / "stwin1").exists()
    assert moodle["Jane Doe_1000001_assignsubmission_file/link.ipynb"]["student_id"] == "jdoe"
    assert sorted(path.name for path in (course_dir / "submitted" / "jdoe" / A).iterdir()) == [
        NOTEBOOK,
        "timestamp.txt",
    ]


def test_the_submission_time_and_the_late_flag_are_kept(course, collected):
    course_dir, _, _ = course
    moodle, canvas, _ = collected
    stamp = (course_dir / "submitted" / "clate" / A / "timestamp.txt").read_text()
    assert stamp.startswith("2026-01-11 13:00:00")
    assert moodle[f"Carl Late_1000004_assignsubmission_file/{NOTEBOOK}"]["late"] == "yes"
    assert (
        moodle["Ann Lee_1000002_assignsubmission_file_RNN_from_scratch (1).ipynb"]["late"] == "no"
    )  # extension
    assert canvas[f"doejohn_LATE_2001_3001_{NOTEBOOK}"].late == "yes"
    assert extras.load(course_dir)["submissions"][A]["jdoe2"]["late_flag"] is True


def test_canvas_names_map_by_user_id_and_a_stray_file_fails(collected):
    _, canvas, _ = collected
    assert canvas[f"doejohn_LATE_2001_3001_{NOTEBOOK}"].student_id == "jdoe2"
    emma = canvas["roeemma_2002_3002_rnn_from_scratch-1.ipynb"]
    assert emma.student_id == "eroe" and emma.status == "collected" and "taken as" in emma.reason
    assert canvas["notes.txt"].status == "failed" and "Canvas" in canvas["notes.txt"].reason


# ---- grading with due dates


def test_a_late_submission_is_late_in_the_run_report_and_pays_its_penalty(graded):
    late = graded["clate"]
    assert late.status == "graded" and "late: 1 day 1 h after the due date, penalty" in late.reason
    assert late.score == pytest.approx(submissions.MAX_AUTO)  # raw; the export takes the penalty off
    assert "late" not in graded["alee"].reason  # 22 h after the due date, with one day more


def test_a_learner_without_a_notebook_fails_and_the_run_names_what_was_handed_in(graded):
    assert graded["dempty"].status == "failed" and "answers.pdf" in graded["dempty"].reason


def test_a_deadline_moved_after_grading_moves_the_penalty(course, graded):
    course_dir, _, _ = course
    deadlines.set_due_date(course_dir, A, "2026-01-12T00:00+00:00")
    try:
        with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", "rnn_course") as book:
            assert book.find_submission(A, "clate").late_submission_penalty == 0
    finally:
        deadlines.set_due_date(course_dir, A, "2026-01-10T12:00")
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", "rnn_course") as book:
        assert book.find_submission(A, "clate").late_submission_penalty == pytest.approx(
            0.2 * submissions.MAX_AUTO
        )


# ---- grades out


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_grades_csv_keeps_one_header_in_every_state(course, graded):
    course_dir, _, states = course
    graded_rows = read(export(course_dir))
    for rows in (states["empty"], states["rostered"], graded_rows):
        assert rows[0] == list(exports.COLUMNS)
    assert len(states["empty"]) == 1 and len(states["rostered"]) == 1 + 9


def test_grades_csv_carries_names_late_and_the_penalty(course, graded):
    course_dir, _, _ = course
    rows = {row["student_id"]: row for row in csv.DictReader(export(course_dir).open())}
    carl = rows["clate"]
    assert (carl["first_name"], carl["last_name"], carl["email"], carl["section"]) == (
        "Carl",
        "Late",
        "carl@uni.example",
        "Group B",
    )
    assert carl["late"] == "yes" and int(carl["seconds_late"]) == 25 * 3600
    assert float(carl["score"]) == pytest.approx(0.8 * submissions.MAX_AUTO)
    assert rows["alee"]["late"] == "no" and rows["jdoe2"]["late"] == "yes"
    assert rows["jdoe2"]["lms_user_id"] == "2001"
    assert rows["stwin1"]["status"] == "no submission" and rows["dempty"]["status"] == "failed"


def test_the_moodle_worksheet_has_what_moodles_importer_reads(course, graded):
    course_dir, _, _ = course
    result = run_cli("grade", "export", A, "--for", "moodle-worksheet", "--course-dir", course_dir)
    assert result.returncode == 0, result.stderr
    rows = read(course_dir / f"moodle-worksheet-{A}.csv")
    assert rows[0] == list(exports.MOODLE_WORKSHEET)
    sheet = {row["Identifier"]: row for row in csv.DictReader(open(course_dir / f"moodle-worksheet-{A}.csv"))}
    carl = sheet["Participant 1000004"]
    assert carl["Full name"] == "Carl Late" and carl["Email address"] == "carl@uni.example"
    assert (
        float(carl["Grade"]) == pytest.approx(0.8 * submissions.MAX_AUTO) and carl["Maximum Grade"] == "24.00"
    )
    assert "Late by 1 day 1 h" in carl["Feedback comments"]
    datetime.datetime.strptime(carl["Last modified (grade)"], exports.MOODLE_DATE)
    assert (
        sheet["Participant 1000005"]["Grade"] == ""
        and "Not graded" in sheet["Participant 1000005"]["Feedback comments"]
    )
    assert "left out jdoe2: no Moodle participant number" in result.stderr  # a Canvas learner


def test_the_moodle_gradebook_file_names_learners_and_the_grade_item(course, graded):
    course_dir, _, _ = course
    path, _ = exports.export_for(course_dir, "moodle-gradebook", A)
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == [
        "First name",
        "Last name",
        "ID number",
        "Email address",
        f"Assignment: {A} (Real)",
    ]
    jane = next(row for row in rows if row["ID number"] == "jdoe")
    assert jane["Email address"] == "jane.doe@uni.example" and float(jane[f"Assignment: {A} (Real)"]) == 0


def test_the_canvas_file_has_canvas_columns_points_possible_and_the_assignment_id(course, graded):
    course_dir, _, _ = course
    result = run_cli("grade", "export", "--for", "canvas", "--course-dir", course_dir)
    assert result.returncode == 0, result.stderr
    rows = read(course_dir / f"canvas-{A}.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (4711)"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][-1] == "24.00"
    john = next(row for row in rows if row[1] == "2001")
    assert john[:5] == ["Doe, John", "2001", "jdoe2", "jdoe2@uni.example", "Section 1"]
    assert float(john[-1]) == pytest.approx(0.8 * submissions.MAX_AUTO)
    assert {row[1] for row in rows[2:]} == {"2001", "2002"}


def test_the_feedback_zip_uses_moodles_feedback_file_names(course, graded):
    course_dir, _, _ = course
    result = run_cli("grade", "export", "--feedback-zip", "--course-dir", course_dir)
    assert result.returncode == 0, result.stderr
    names = zipfile.ZipFile(course_dir / f"feedback-{A}.zip").namelist()
    assert f"Carl Late_1000004_assignsubmission_file_{A}.html" in names
    assert all(name.count("_") >= 4 and "/" not in name for name in names)


# ---- a plain folder, last: it collects again into the graded course


def test_a_plain_folder_maps_folders_and_file_names_to_student_ids(course, graded):
    course_dir, tmp, _ = course
    folder = tmp / "plain"
    (folder / "stwin1" / A).mkdir(parents=True)
    (folder / "stwin1" / A / NOTEBOOK).write_bytes(BLANK)
    (folder / "stwin1" / A / "timestamp.txt").write_text("2026-01-09 08:30:00.000000 UTC")
    (folder / "sam2@uni.example.ipynb").write_bytes(BLANK)  # by e-mail
    (folder / "stranger").mkdir()
    (folder / "stranger" / NOTEBOOK).write_bytes(BLANK)
    (folder / "stwin3").symlink_to(folder / "stwin1")
    rows, _ = collect.collect(course_dir, folder, A)
    by_entry = {row.entry: row for row in rows}
    assert by_entry[f"stwin1/{A}/{NOTEBOOK}"].student_id == "stwin1"
    assert by_entry[f"stwin1/{A}/timestamp.txt"].reason == "the submission time"
    assert by_entry["sam2@uni.example.ipynb"].student_id == "stwin2"
    assert "'stranger' is not on the roster" in by_entry[f"stranger/{NOTEBOOK}"].reason
    assert "symbolic link" in by_entry["stwin3"].reason
    stamp = (course_dir / "submitted" / "stwin1" / A / "timestamp.txt").read_text()
    assert stamp.startswith("2026-01-09 08:30:00")


def test_a_source_that_is_neither_a_zip_nor_a_folder_fails_in_one_line(course, tmp_path):
    course_dir, _, _ = course
    (tmp_path / "grades.xlsx").write_bytes(b"PK\3\4 not really")
    result = run_cli("grade", "collect", tmp_path / "grades.xlsx", "--course-dir", course_dir)
    assert result.returncode == 1
    why = "neither a folder nor a readable zip (File is not a zip file)"
    assert result.stderr.strip().splitlines() == [f"grade collect: {tmp_path / 'grades.xlsx'}: {why}"]

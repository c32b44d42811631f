"""The LMS road without a gradebook: names in LMS zips, notebook names, zip safety, rosters, exports, time."""

import datetime
import io
import stat
import zipfile

import pytest
from traitlets.config import Config

from rnn_course.grading.config import CollectLimits
from rnn_course.grading.lms import collect, deadlines, exports, roster
from rnn_course.grading.lms.penalty import PenaltyPerDay

NOTEBOOKS = ("rnn_from_scratch",)
UTC = datetime.UTC


# ---- whose file is it


def test_moodle_folder_and_flat_names_give_the_name_and_participant_number():
    folder = collect.parse_moodle("Jane Doe_1234567_assignsubmission_file/sub/rnn_from_scratch.ipynb")
    flat = collect.parse_moodle("Jane Doe_1234567_assignsubmission_file_rnn_from_scratch.ipynb")
    for owner in (folder, flat):
        assert (owner.moodle_name, owner.participant) == ("Jane Doe", "1234567")
    assert folder.file == "sub/rnn_from_scratch.ipynb" and flat.file == "rnn_from_scratch.ipynb"
    assert collect.parse_moodle("Jane Doe_1234567_assignsubmission_file") is None  # a folder, no file
    assert collect.parse_moodle("rnn_from_scratch.ipynb") is None


def test_canvas_names_give_the_user_id_and_the_late_flag():
    late = collect.parse_canvas("doejane_LATE_4711_90210_rnn_from_scratch.ipynb")
    on_time = collect.parse_canvas("doejane_4711_90210_rnn_from_scratch (1).ipynb")
    assert (late.canvas_user, late.sortable, late.late_flag, late.file) == (
        "4711",
        "doejane",
        True,
        "rnn_from_scratch.ipynb",
    )
    assert not on_time.late_flag and on_time.file == "rnn_from_scratch (1).ipynb"
    assert collect.parse_canvas("notes.txt") is None


def test_plain_names_give_the_student_id():
    assert collect.parse_plain("alice/rnn_from_scratch.ipynb").plain_id == "alice"
    assert collect.parse_plain("bob.ipynb").plain_id == "bob"
    assert collect.parse_plain("README.txt") is None


def test_the_layout_is_the_naming_most_entries_follow():
    assert collect.layout_of(["Jane Doe_1_assignsubmission_file/a.ipynb", "index.html"]) == "moodle"
    assert collect.layout_of(["doejane_1_2_a.ipynb", "x.txt"]) == "canvas"
    assert collect.layout_of(["alice/a.ipynb"]) == "plain"


@pytest.mark.parametrize(
    ("given", "note"),
    [
        ("rnn_from_scratch.ipynb", ""),
        ("rnn_from_scratch (1).ipynb", "rnn_from_scratch (1).ipynb taken as rnn_from_scratch.ipynb"),
        ("rnn_from_scratch-1.ipynb", "rnn_from_scratch-1.ipynb taken as rnn_from_scratch.ipynb"),
        ("RNN_from_scratch.ipynb", "RNN_from_scratch.ipynb taken as rnn_from_scratch.ipynb"),
        ("RNN from scratch (2).IPYNB", "RNN from scratch (2).IPYNB taken as rnn_from_scratch.ipynb"),
        ("folder/rnn_from_scratch.ipynb", ""),
    ],
)
def test_notebook_names_are_normalised_with_a_note(given, note):
    assert collect.notebook_for(given, NOTEBOOKS) == ("rnn_from_scratch", note)


@pytest.mark.parametrize(
    "given", ["rnn_from_scratch.py", "rnn.ipynb", "rnn_from_scratch.ipynb.zip", "x.html"]
)
def test_other_files_are_no_notebook_of_the_assignment(given):
    assert collect.notebook_for(given, NOTEBOOKS) is None


def test_a_notebook_whose_own_name_ends_in_digits_keeps_them():
    assert collect.notebook_for("lab_2.ipynb", ("lab_2",)) == ("lab_2", "")
    assert collect.notebook_for("lab_2 (1).ipynb", ("lab_2",)) == (
        "lab_2",
        "lab_2 (1).ipynb taken as lab_2.ipynb",
    )


# ---- the zip as data


def limits(**values):
    config = Config()
    for key, value in values.items():
        setattr(config.CollectLimits, key, value)
    return CollectLimits(config=config)


def make_zip(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 9, 10, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.external_attr = mode << 16
            archive.writestr(info, data)
    buffer.seek(0)
    return zipfile.ZipFile(buffer)


def items(entries, **values):
    return {item.name: item for item in collect.zip_items(make_zip(entries), "x.zip", limits(**values), UTC)}


def test_traversal_absolute_and_link_entries_are_named_and_never_read():
    found = items(
        [
            ("../../etc/cron.d/x", b"x", 0),
            ("/abs.ipynb", b"x", 0),
            ("C:/win.ipynb", b"x", 0),
            ("a/../../b.ipynb", b"x", 0),
            ("link.ipynb", b"/etc/passwd", stat.S_IFLNK | 0o777),
            ("fine.ipynb", b"{}", 0),
        ]
    )
    for name in ("../../etc/cron.d/x", "/abs.ipynb", "C:/win.ipynb", "a/../../b.ipynb"):
        assert "a path outside the zip" in found[name].problem
    assert "symbolic link" in found["link.ipynb"].problem
    assert found["fine.ipynb"].problem == "" and found["fine.ipynb"].read() == b"{}"


def test_a_zip_bomb_entry_is_refused_by_its_ratio_and_by_the_bytes_actually_read():
    bomb = b"\0" * 5_000_000
    found = items([("bomb.ipynb", bomb, 0)], max_ratio=100)
    assert "packed more than 100 to 1" in found["bomb.ipynb"].problem
    lying = items([("big.ipynb", b"\0" * 3000, 0)], max_file_bytes=2000)
    assert "over the 2000 byte limit" in lying["big.ipynb"].problem


def test_a_zip_over_the_total_or_the_entry_limit_is_refused_whole():
    with pytest.raises(collect.CollectError, match="more than 2 .*max_entries"):
        items([(f"{n}.ipynb", b"{}", 0) for n in range(3)], max_entries=2)
    with pytest.raises(collect.CollectError, match="max_total_bytes"):
        items([("a.ipynb", b"1" * 600, 0), ("b.ipynb", b"1" * 600, 0)], max_total_bytes=1000)


def test_zip_times_are_the_lms_servers_local_time_kept_as_utc():
    from zoneinfo import ZoneInfo

    (item,) = collect.zip_items(
        make_zip([("a.ipynb", b"{}", 0)]), "x.zip", limits(), ZoneInfo("Europe/Berlin")
    )
    assert item.time == datetime.datetime(2026, 1, 9, 9, 0)


def test_a_folder_source_names_links_and_does_not_follow_them(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "rnn_from_scratch.ipynb").write_text("{}")
    (tmp_path / "bob").symlink_to(tmp_path / "alice")
    (tmp_path / "carol.ipynb").symlink_to("/etc/passwd")
    found = {item.name: item for item in collect.folder_items(tmp_path, limits())}
    assert found["alice/rnn_from_scratch.ipynb"].read() == b"{}"
    assert "symbolic link" in found["bob"].problem and "symbolic link" in found["carol.ipynb"].problem
    assert "bob/rnn_from_scratch.ipynb" not in found


# ---- rosters


def test_a_moodle_participant_export_gives_ids_names_emails_and_groups(tmp_path):
    path = tmp_path / "moodle.csv"
    path.write_text(
        "\ufeffFirst name,Last name,ID number,Email address,Groups\n"
        "Jane,Doe,s123,jane@uni.example,Group A\nJosé,Núñez,,jose.nunez@uni.example,\n",
        encoding="utf-8",
    )
    learners, canvas_ids = roster.read(path)
    assert [(x.id, x.full_name, x.email, x.section, x.lms) for x in learners] == [
        ("s123", "Jane Doe", "jane@uni.example", "Group A", "moodle"),
        ("jose.nunez", "José Núñez", "jose.nunez@uni.example", "", "moodle"),
    ]
    assert canvas_ids == {}


def test_a_canvas_gradebook_export_gives_learners_and_assignment_ids_and_skips_the_rest(tmp_path):
    path = tmp_path / "canvas.csv"
    path.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,rnn_from_scratch (4711),Final Score\n"
        '    Points Possible,,,,,24.00,\n"Doe, Jane",2001,s123,jane@uni.example,Sec 1,,\n'
        '"Student, Test",2999,,,,,\n"Roe, Emma",2002,,eroe,Sec 2,,\n',
        encoding="utf-8",
    )
    learners, canvas_ids = roster.read(path)
    assert [(x.id, x.first_name, x.last_name, x.lms_user_id, x.section) for x in learners] == [
        ("s123", "Jane", "Doe", "2001", "Sec 1"),
        ("eroe", "Emma", "Roe", "2002", "Sec 2"),
    ]
    assert canvas_ids == {"rnn_from_scratch": "4711"}


def test_a_roster_with_one_id_twice_or_an_unknown_layout_fails_in_one_line_naming_the_file(tmp_path):
    twice = tmp_path / "twice.csv"
    twice.write_text("id,first_name\nalice,A\nalice,B\n")
    with pytest.raises(
        RuntimeError, match=r"twice.csv: line 3: student id 'alice' again \(first on line 2\)"
    ):
        roster.read(twice)
    other = tmp_path / "other.csv"
    other.write_text("name,mark\nx,1\n")
    with pytest.raises(RuntimeError, match="other.csv: not a Moodle or Canvas participant export"):
        roster.read(other)


def test_names_compare_without_case_accents_or_spacing():
    assert roster.name_key("  José   NÚÑEZ ") == roster.name_key("jose nunez")
    assert roster.sortable_key("Doe-Smith", "Jane") == "doesmithjane"
    assert roster.safe_id("../etc/passwd") == "etc_passwd"


# ---- exports, as rows


ROW = {
    "assignment": "a",
    "student_id": "s123",
    "first_name": "Jane",
    "last_name": "Doe",
    "email": "j@x",
    "score": 19.2,
    "max_score": 24.0,
    "status": "graded",
    "late": "yes",
    "seconds_late": 90000,
    "late_submission_penalty": 4.8,
    "reason": "",
}


def test_the_moodle_gradebook_rows_carry_the_grade_item_column():
    (row,) = exports.moodle_gradebook([ROW], "a")
    assert row == {
        "First name": "Jane",
        "Last name": "Doe",
        "ID number": "s123",
        "Email address": "j@x",
        "Assignment: a (Real)": "19.20",
    }


def test_feedback_comments_say_late_and_why_a_grade_is_missing():
    assert exports._comment(ROW) == "Late by 1 day 1 h, penalty 4.8 point(s)."
    failed = {**ROW, "status": "failed", "reason": "expected `a.ipynb`", "late": ""}
    assert exports._comment(failed) == "Not graded: expected `a.ipynb`" and exports._grade(failed) == ""


# ---- time and the penalty


def test_a_due_date_without_a_zone_is_in_the_course_time_zone():
    assert deadlines.parse_time("2026-12-01T23:59", "Europe/Berlin") == datetime.datetime(2026, 12, 1, 22, 59)
    assert deadlines.parse_time("2026-12-01T23:59+00:00", "Europe/Berlin") == datetime.datetime(
        2026, 12, 1, 23, 59
    )
    with pytest.raises(RuntimeError, match="'tomorrow' is not a date and time"):
        deadlines.parse_time("tomorrow", "UTC")


def test_durations_read_as_days_hours_minutes():
    assert deadlines.duration(25 * 3600) == "1 day 1 h"
    assert deadlines.duration(3 * 3600 + 300) == "3 h 5 min"
    assert deadlines.duration(50) == "1 min"


@pytest.mark.parametrize(
    ("rate", "seconds", "penalty"),
    [
        (0.1, 2 * 3600, 1.0),
        (0.1, 25 * 3600, 2.0),
        (0.5, 5 * 86400, 10.0),
        (0.1, 0, None),
        (0.0, 86400, None),
    ],
)
def test_the_penalty_is_a_share_of_the_score_per_started_day(rate, seconds, penalty):
    config = Config()
    config.LatePolicy.penalty_per_day = rate
    assert PenaltyPerDay(config=config).late_submission_penalty("s", 10.0, seconds) == penalty


def test_names_in_the_report_cannot_be_a_spreadsheet_formula_or_break_a_line():
    assert collect.shown("=HYPERLINK(1).ipynb") == "'=HYPERLINK(1).ipynb"
    assert collect.shown("a\nb\x00.ipynb") == "a?b?.ipynb"
    assert collect.shown("Jane Doe_1_assignsubmission_file/x") == "Jane Doe_1_assignsubmission_file/x"

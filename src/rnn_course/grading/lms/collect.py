"""`grade collect`: an LMS "download all submissions" zip, or a plain folder, into submitted/.

    Moodle, in folders: Jane Doe_1234567_assignsubmission_file/rnn_from_scratch.ipynb
    Moodle, flat:       Jane Doe_1234567_assignsubmission_file_rnn_from_scratch.ipynb
    Canvas:             doejane_LATE_4711_90210_rnn_from_scratch.ipynb (sortable name, LATE, user id,
                        attachment id, file name)
    a plain folder:     alice/rnn_from_scratch.ipynb, alice.ipynb, alice/rnn_from_scratch/... (alice: the id)

Every file maps to a learner of the roster; a learner's own zip is unpacked (one level); a notebook saved as
`rnn_from_scratch (1).ipynb`, `RNN_from_scratch-1.ipynb` and the like is taken as the assignment's, with a
note. Every file given ends in one row of the collect report, `collected` or `failed` with the reason.

The zip is learners' data: nothing is extracted by its own name (a `../` or absolute name, a link, an
encrypted or over-sized entry gets a failed row), sizes are counted as bytes are read (a zip bomb stops at
the limits of CollectLimits), and only the assignment's notebook names are written.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import io
import os
import re
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from rnn_course.grading.lms import deadlines, extras, roster

MOODLE_FOLDER = re.compile(r"^(?P<name>[^_/]+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)$")
MOODLE_FLAT = re.compile(
    r"^(?P<name>[^_/]+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$"
)
CANVAS = re.compile(
    r"^(?P<sortable>[^\W_]+)_(?:(?P<late>LATE)_)?(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)$"
)
COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|[-_ ]\d+)$")  # "name (1)", "name-1", "name_2"
NOISE = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$|Thumbs\.db$|desktop\.ini$)")
TIMESTAMP = "timestamp.txt"
REPORT = "collect-{assignment}.csv"
REPORT_COLUMNS = ("entry", "student_id", "status", "reason", "late", "timestamp")


class CollectError(RuntimeError):
    """The whole source is refused (not a zip, too many entries, too many bytes): one line says why."""


@dataclasses.dataclass
class Item:
    """One file given: its name as given, its time (UTC), how to read it, or why it is not read at all."""

    name: str
    time: datetime.datetime | None = None
    read: Callable[[], bytes] | None = None
    problem: str = ""


@dataclasses.dataclass
class Row:
    """One line of the collect report."""

    entry: str
    student_id: str = ""
    status: str = "failed"
    reason: str = ""
    late: str = ""
    timestamp: str = ""


def shown(name: str) -> str:
    """A name as it may be printed: control characters replaced, no spreadsheet formula (a leading ')."""
    name = re.sub(r"[\x00-\x1f\x7f]", "?", name)
    return "'" + name if name[:1] in ("=", "+", "-", "@") else name


# ---------------------------------------------------------------- reading a zip or a folder, as data


class _Budget:
    """Bytes read so far from one source, against the total limit (declared sizes may lie)."""

    def __init__(self, limits, where: str):
        self.limits, self.where, self.used = limits, where, 0

    def read(self, handle, shown_name: str) -> bytes:
        limit = self.limits.max_file_bytes
        data = handle.read(limit + 1)
        if len(data) > limit:
            raise _Skip(f"over the {limit} byte limit once unpacked (c.CollectLimits.max_file_bytes)")
        self.used += len(data)
        if self.used > self.limits.max_total_bytes:
            raise CollectError(
                f"{self.where}: more than {self.limits.max_total_bytes} bytes once unpacked "
                "(c.CollectLimits.max_total_bytes); nothing was collected"
            )
        return data


class _Skip(Exception):
    """One entry is not read; the message is its failed row's reason."""


def _entry_problem(info: zipfile.ZipInfo, limits) -> str:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
        return "a path outside the zip (absolute or with ../); not extracted"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link; not extracted"
    if info.flag_bits & 0x1:
        return "encrypted; not extracted"
    if info.file_size > limits.max_file_bytes:
        return f"over the {limits.max_file_bytes} byte limit once unpacked (c.CollectLimits.max_file_bytes)"
    if info.file_size > 1_000_000 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        return f"packed more than {limits.max_ratio} to 1 (a zip bomb?); not extracted"
    return ""


def zip_items(
    archive: zipfile.ZipFile,
    where: str,
    limits,
    zone: datetime.tzinfo,
    prefix: str = "",
    budget: _Budget | None = None,
) -> Iterator[Item]:
    """Every file entry of an open zip, each with its problem or a reader that keeps to the limits."""
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > limits.max_entries:
        raise CollectError(
            f"{where}: {len(infos)} entries, more than {limits.max_entries} "
            "(c.CollectLimits.max_entries); nothing was collected"
        )
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_bytes:
        raise CollectError(
            f"{where}: {declared} bytes once unpacked, more than {limits.max_total_bytes} "
            "(c.CollectLimits.max_total_bytes); nothing was collected"
        )
    budget = budget or _Budget(limits, where)
    for info in infos:
        name = prefix + info.filename.replace("\\", "/")
        try:
            when = (
                datetime.datetime(*info.date_time, tzinfo=zone).astimezone(datetime.UTC).replace(tzinfo=None)
            )
        except ValueError:
            when = None

        def read(info=info, name=name) -> bytes:
            try:
                with archive.open(info) as handle:
                    return budget.read(handle, name)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as error:
                raise _Skip(f"cannot be unpacked ({type(error).__name__}: {error})") from None

        yield Item(name, when, read, _entry_problem(info, limits))


def folder_items(folder: Path, limits) -> Iterator[Item]:
    """Every file under a folder, links and special files named, never followed."""
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                continue
            when = datetime.datetime.fromtimestamp(info.st_mtime, datetime.UTC).replace(tzinfo=None)
            problem = ""
            if stat.S_ISLNK(info.st_mode):
                problem = "a symbolic link; not followed"
            elif not stat.S_ISREG(info.st_mode):
                problem = "not a regular file"
            elif info.st_size > limits.max_file_bytes:
                problem = f"over the {limits.max_file_bytes} byte limit (c.CollectLimits.max_file_bytes)"

            def read(path=path) -> bytes:
                handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                with os.fdopen(handle, "rb") as reader:
                    if not stat.S_ISREG(os.fstat(handle).st_mode):
                        raise _Skip("not a regular file")
                    data = reader.read(limits.max_file_bytes + 1)
                if len(data) > limits.max_file_bytes:
                    raise _Skip(
                        f"over the {limits.max_file_bytes} byte limit (c.CollectLimits.max_file_bytes)"
                    )
                return data

            yield Item(relative, when, read, problem)
        dirs[:] = [name for name in dirs if not os.path.islink(os.path.join(root, name))]


# ---------------------------------------------------------------- whose file is it


@dataclasses.dataclass
class Owner:
    """What an entry's name says about its learner, and the file's own name within the submission."""

    file: str
    moodle_name: str = ""
    participant: str = ""
    canvas_user: str = ""
    sortable: str = ""
    plain_id: str = ""
    late_flag: bool = False


def parse_moodle(name: str) -> Owner | None:
    first, _, rest = name.partition("/")
    folder = MOODLE_FOLDER.match(first)
    if folder and rest:
        return Owner(rest, moodle_name=folder["name"], participant=folder["participant"])
    flat = MOODLE_FLAT.match(name)
    if flat and "/" not in flat["file"]:
        return Owner(flat["file"], moodle_name=flat["name"], participant=flat["participant"])
    return None


def parse_canvas(name: str) -> Owner | None:
    match = CANVAS.match(name)
    if not match or "/" in name:
        return None
    return Owner(
        match["file"], canvas_user=match["user"], sortable=match["sortable"], late_flag=bool(match["late"])
    )


def parse_plain(name: str) -> Owner | None:
    first, _, rest = name.partition("/")
    if rest:
        return Owner(rest, plain_id=first)
    stem, dot, suffix = first.rpartition(".")
    if dot and suffix.lower() in ("ipynb", "zip") and stem:
        return Owner(first, plain_id=stem)
    return None


LAYOUTS = {
    "moodle": (
        parse_moodle,
        "not named as Moodle names a submission (Full Name_1234567_assignsubmission_file)",
    ),
    "canvas": (
        parse_canvas,
        "not named as Canvas names a submission (sortablename_[LATE_]userid_attachmentid_name)",
    ),
    "plain": (parse_plain, "not in a learner's folder, nor named <student id>.ipynb"),
}


def layout_of(names: list[str]) -> str:
    """moodle, canvas or plain: the naming most entries follow."""
    counts = {kind: sum(bool(LAYOUTS[kind][0](name)) for name in names) for kind in ("moodle", "canvas")}
    best = max(counts, key=counts.get)
    return best if counts[best] else "plain"


class Roster:
    """Learners, found by what an LMS file name carries."""

    def __init__(self, learners: list[roster.Learner], participants: dict[str, str]):
        self.by_id = {learner.id: learner for learner in learners}
        self.participants = participants  # Moodle participant number -> student id, from earlier collects
        self.by_name: dict[str, list[str]] = {}
        self.by_sortable: dict[str, list[str]] = {}
        self.by_canvas = {learner.lms_user_id: learner.id for learner in learners if learner.lms_user_id}
        self.by_email = {learner.email.casefold(): learner.id for learner in learners if learner.email}
        for learner in learners:
            self.by_name.setdefault(roster.name_key(learner.full_name), []).append(learner.id)
            self.by_sortable.setdefault(
                roster.sortable_key(learner.last_name, learner.first_name), []
            ).append(learner.id)

    @staticmethod
    def _one(found: list[str], who: str) -> str:
        if len(found) > 1:
            raise _Skip(f"{who} matches {len(found)} learners on the roster ({', '.join(sorted(found))})")
        if not found:
            raise _Skip(f"{who} is not on the roster (`rnn-course grade roster import FILE`)")
        return found[0]

    def find(self, owner: Owner) -> str:
        """The student id of an entry's learner; _Skip says why there is none."""
        if owner.participant:
            if owner.participant in self.participants:
                return self.participants[owner.participant]
            return self._one(
                self.by_name.get(roster.name_key(owner.moodle_name), []), repr(owner.moodle_name)
            )
        if owner.canvas_user:
            if owner.canvas_user in self.by_canvas:
                return self.by_canvas[owner.canvas_user]
            return self._one(
                self.by_sortable.get(owner.sortable.casefold(), []),
                f"Canvas user {owner.canvas_user} ({owner.sortable})",
            )
        if owner.plain_id in self.by_id:
            return owner.plain_id
        return self._one(
            [self.by_email[owner.plain_id.casefold()]] if owner.plain_id.casefold() in self.by_email else [],
            repr(owner.plain_id),
        )


# ---------------------------------------------------------------- notebook names


def _key(stem: str) -> str:
    return re.sub(r"[\s_-]+", "_", stem.strip().casefold())


def notebook_for(file_name: str, notebooks: tuple[str, ...]) -> tuple[str, str] | None:
    """(the assignment's notebook this file is, a note if its name had to be normalised), or None."""
    base = file_name.rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot or suffix.casefold() != "ipynb":
        return None
    if stem in notebooks and suffix == "ipynb":
        return stem, ""
    for candidate in (stem, COPY_SUFFIX.sub("", stem)):
        for name in notebooks:
            if _key(candidate) == _key(name):
                return name, f"{base} taken as {name}.ipynb"
    return None


# ---------------------------------------------------------------- collect


def _zone(name: str) -> datetime.tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CollectError(
            f"c.LatePolicy.timezone = {name!r}: not a time zone name (e.g. Europe/Berlin)"
        ) from None


def _items(source: Path, limits, zone, budget: _Budget) -> tuple[list[Item], list]:
    if source.is_dir():
        return list(folder_items(source, limits)), []
    try:
        archive = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as error:
        raise CollectError(f"{source}: neither a folder nor a readable zip ({error})") from None
    return list(zip_items(archive, str(source), limits, zone, budget=budget)), [archive]


@dataclasses.dataclass
class _Submission:
    """What one learner handed in: rows, chosen notebooks, other files, time and LMS facts."""

    student: str
    files: list[tuple[Item, str, Row]] = dataclasses.field(default_factory=list)  # item, its own name, row
    late_flag: bool = False
    participant: str = ""
    moodle_name: str = ""


def _unpack(item: Item, data: bytes, limits, zone, budget) -> list[Item]:
    """A learner's own zip: its files, as items named `their.zip/inner`; nested zips are not unpacked."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise _Skip(f"not a readable zip ({error})") from None
    try:
        inner = list(zip_items(archive, item.name, limits, zone, prefix=item.name + "/", budget=budget))
    except CollectError as error:
        raise _Skip(str(error).split(": ", 1)[-1]) from None
    return inner


def collect(course_dir: Path, source: Path, assignment: str) -> tuple[list[Row], Path]:
    """Collect `source` (a zip or a folder) into submitted/; return the report's rows and its path."""
    from rnn_course.grading.config import CollectLimits, LatePolicy, course_path, load_config

    course_dir, source = Path(course_dir).resolve(), Path(source)
    config = load_config(course_dir)
    limits, zone = CollectLimits(config=config), _zone(LatePolicy(config=config).timezone)
    source_dir = course_path(config, "source", ".", assignment)
    notebooks = tuple(sorted(path.stem for path in source_dir.glob("*.ipynb")))
    if not notebooks:
        raise CollectError(f"no notebook in {source_dir}: is {assignment!r} the assignment?")
    if not source.exists():
        raise CollectError(f"{source}: no such file or folder")
    learners = roster.learners(course_dir)
    if not learners:
        raise CollectError(
            f"{course_dir}: the gradebook has no learners; import a roster first "
            "(`rnn-course grade roster import FILE`)"
        )
    data = extras.load(course_dir)
    earlier = data["submissions"].get(assignment, {})
    participants = {
        entry["moodle_participant"]: student
        for student, entry in earlier.items()
        if entry.get("moodle_participant")
    }
    people = Roster(learners, participants)

    budget = _Budget(limits, str(source))
    items, to_close = _items(source, limits, zone, budget)
    try:
        rows, submissions = _sort(items, people, limits, zone, budget)
        for submission in submissions.values():
            _write(config, assignment, notebooks, submission, data)
    finally:
        for archive in to_close:
            archive.close()
    extras.save(course_dir, data)
    late = deadlines.lateness(course_dir, assignment)
    for row in rows:
        if row.student_id in submissions:
            row.late = late.get(row.student_id, ("", None))[0]
            row.timestamp = data["submissions"][assignment][row.student_id]["timestamp"]
    path = course_dir / REPORT.format(assignment=assignment)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(dataclasses.asdict(row) for row in rows)
    return rows, path


def _sort(items: list[Item], people: Roster, limits, zone, budget: _Budget) -> tuple[list[Row], dict]:
    """A row per item, and the items of each learner."""
    kind = layout_of([item.name for item in items])
    parse, unnamed = LAYOUTS[kind]
    rows, submissions = [], {}
    queue = [(item, None) for item in items]  # (item, owner when it came out of a learner's zip)
    while queue:
        item, owner = queue.pop(0)
        row = Row(shown(item.name))
        rows.append(row)
        try:
            owner = owner or parse(item.name)
            if item.problem or NOISE.search(item.name):
                with contextlib.suppress(_Skip):  # name the learner where the name allows
                    row.student_id = people.find(owner) if owner else ""
                raise _Skip(item.problem or "operating-system metadata, not a submission")
            if owner is None:
                raise _Skip(unnamed)
            row.student_id = people.find(owner)
            submission = submissions.setdefault(row.student_id, _Submission(row.student_id))
            submission.late_flag |= owner.late_flag
            submission.participant = submission.participant or owner.participant
            submission.moodle_name = submission.moodle_name or owner.moodle_name
            if owner.file.casefold().endswith(".zip") and not item.name.count(".zip/"):
                inner = _unpack(item, item.read(), limits, zone, budget)
                row.status, row.reason = (
                    "collected",
                    f"a learner's zip: unpacked, its {len(inner)} file(s) follow",
                )
                queue[0:0] = [(entry, dataclasses.replace(owner, file=entry.name)) for entry in inner]
                continue
            if owner.file.casefold().endswith(".zip"):
                raise _Skip("a zip inside a learner's zip; not unpacked")
            submission.files.append((item, owner.file, row))
        except _Skip as why:
            row.status, row.reason = "failed", str(why)
    return rows, submissions


def _write(config, assignment: str, notebooks: tuple[str, ...], submission: _Submission, data: dict) -> None:
    """Choose this learner's notebooks, write submitted/<student>/<assignment>/, fill the rows."""
    from nbgrader.utils import parse_utc

    from rnn_course.grading.config import course_path

    chosen: dict[str, tuple[Item, bytes, Row]] = {}
    others: list[tuple[str, bytes]] = []
    stamp = None
    for item, file_name, row in sorted(
        submission.files, key=lambda entry: entry[0].time or datetime.datetime.min
    ):
        try:
            if file_name.rsplit("/", 1)[-1] == TIMESTAMP:
                text = item.read().decode("utf-8", "replace").strip()
                try:
                    stamp = parse_utc(text)
                except (ValueError, OverflowError):
                    raise _Skip(f"timestamp.txt does not hold a time ({text[:40]!r})") from None
                row.status, row.reason = "collected", "the submission time"
                continue
            match = notebook_for(file_name, notebooks)
            if match is None:
                expected = ", ".join(f"{name}.ipynb" for name in notebooks)
                content = item.read()
                others.append((file_name.rsplit("/", 1)[-1], content))
                raise _Skip(f"not a notebook of {assignment} (expected {expected})")
            name, note = match
            content = item.read()
            if name in chosen:  # sorted oldest first: this one is newer
                old_item, _, old_row = chosen[name]
                old_row.status, old_row.reason = "failed", f"an older copy; {shown(item.name)} was collected"
            row.status, row.reason = "collected", note
            chosen[name] = (item, content, row)
        except _Skip as why:
            row.status, row.reason = "failed", str(why)
    folder = course_path(config, "submitted", submission.student, assignment)
    if folder.is_symlink() or folder.parent.is_symlink():
        raise CollectError(f"{folder}: a symbolic link in submitted/; remove it first")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if chosen:
        for name, (_, content, _) in chosen.items():
            (folder / f"{name}.ipynb").open("xb").write(content)
    else:  # nothing to grade: the runner's failed row then names what was handed in
        for index, (name, content) in enumerate(others):
            safe = roster.safe_id(name) or f"file{index}"
            target = folder / safe
            if target.exists() or safe == TIMESTAMP:
                target = folder / f"{index}-{safe}"
            target.open("xb").write(content)
    times = [item.time for item, _, _ in chosen.values() if item.time]
    when = stamp or (max(times) if times else datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
    (folder / TIMESTAMP).write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    entry = {"timestamp": when.isoformat(timespec="seconds"), "late_flag": submission.late_flag}
    if submission.participant:
        entry.update(moodle_participant=submission.participant, moodle_name=submission.moodle_name)
    data["submissions"].setdefault(assignment, {})[submission.student] = entry

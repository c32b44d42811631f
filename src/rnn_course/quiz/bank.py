"""The YAML quiz bank: load files with line numbers, validate the schema, report `file:line: problem`."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

TOPICS = ("syntax", "shapes", "hidden_state", "packing")
DIFFICULTIES = ("easy", "medium", "hard")
NOTEBOOKS = (
    "01_rnn_syntax.ipynb",
    "02_shapes.ipynb",
    "03_hidden_state.ipynb",
    "04_packing.ipynb",
    "05_using_rnn.ipynb",
    "06_practice.ipynb",
)
ITEM_REQUIRED = ("id", "difficulty", "stem", "choices", "answer", "solution", "hint", "mistakes", "lesson")
ITEM_OPTIONAL = ("code", "verify", "unverified", "params")
CHOICE_FIELDS = ("text", "feedback", "misconception")
SET_FIELDS = ("title", "items")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEFAULT_BANK = Path(__file__).resolve().parents[3] / "quiz_bank"


class BankError(Exception):
    """One problem in the bank, located at `file:line`."""

    def __init__(self, path: Path | str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = str(path), line, message


# ---------------------------------------------------------------------------------------------------------
# A YAML loader that remembers where every mapping, key and value starts.


class Node(dict):
    """A YAML mapping that knows its line, and the line of each key and of each value's first line of text."""

    line: int = 0

    def __init__(self):
        super().__init__()
        self.key_lines: dict = {}
        self.value_lines: dict = {}

    def at(self, key) -> int:
        """The line where `key` is written, or the mapping's own line if it is missing."""
        return self.key_lines.get(key, self.line)


class Seq(list):
    """A YAML sequence that knows its line and the line of each entry."""

    line: int = 0

    def __init__(self):
        super().__init__()
        self.item_lines: list[int] = []


def _text_line(node: yaml.Node) -> int:
    """1-based line of a value's first character of text; a `|` or `>` block starts on the next line."""
    block = isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
    return node.start_mark.line + 1 + int(block)


class LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry line numbers; duplicate keys are reported, not merged."""

    def __init__(self, stream, path: str):
        super().__init__(stream)
        self.path = path
        self.problems: list[BankError] = []

    def construct_line_mapping(self, node: yaml.MappingNode) -> Node:
        self.flatten_mapping(node)
        mapping = Node()
        mapping.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in mapping:
                self.problems.append(
                    BankError(
                        self.path,
                        key_node.start_mark.line + 1,
                        f"duplicate key '{key}' (first at line {mapping.key_lines[key]})",
                    )
                )
                continue
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
            mapping.value_lines[key] = _text_line(value_node)
        return mapping

    def construct_line_sequence(self, node: yaml.SequenceNode) -> Seq:
        sequence = Seq()
        sequence.line = node.start_mark.line + 1
        for child in node.value:
            sequence.append(self.construct_object(child, deep=True))
            sequence.item_lines.append(_text_line(child))
        return sequence


LineLoader.add_constructor("tag:yaml.org,2002:map", LineLoader.construct_line_mapping)
LineLoader.add_constructor("tag:yaml.org,2002:seq", LineLoader.construct_line_sequence)


def load_yaml(path: Path, shown: str) -> tuple[object, list[BankError]]:
    """Parse one file; a syntax error becomes one BankError at its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [BankError(shown, 1, f"cannot read file: {error}")]
    loader = LineLoader(text, shown)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        return None, [
            BankError(shown, line, f"YAML syntax error: {problem}" + (f" ({context})" if context else ""))
        ]
    finally:
        loader.dispose()
    return data, loader.problems


# ---------------------------------------------------------------------------------------------------------
# The validated bank.


@dataclass
class Choice:
    text: str
    feedback: str = ""
    misconception: str | None = None
    line: int = 0


@dataclass
class Item:
    """One question as written in the bank (templates not yet rendered)."""

    id: str
    topic: str
    difficulty: str
    stem: str
    choices: list[Choice]
    answer: str | list[str]
    solution: list[str]
    hint: str
    mistakes: list[str]
    lesson: dict
    code: str = ""
    verify: str = ""
    unverified: str = ""  # why a purely conceptual item has no `verify` (shown by `quiz check`)
    params: dict = field(default_factory=dict)
    path: str = ""
    line: int = 0
    lines: dict = field(default_factory=dict)  # field name -> first line of its text

    @property
    def multi(self) -> bool:
        return isinstance(self.answer, list)

    @property
    def is_variant(self) -> bool:
        return bool(self.params)

    def where(self, name: str) -> str:
        return f"{self.path}:{self.lines.get(name, self.line)}"


@dataclass
class QuizSet:
    name: str
    title: str
    items: list[str]
    path: str = ""
    line: int = 0


@dataclass
class Bank:
    items: dict[str, Item] = field(default_factory=dict)
    sets: dict[str, QuizSet] = field(default_factory=dict)
    misconceptions: dict[str, str] = field(default_factory=dict)
    problems: list[BankError] = field(default_factory=list)
    flawed: set[str] = field(default_factory=set)  # ids of items with a schema problem (not verified)
    declared: set[str] = field(default_factory=set)  # every id written, even on an item that failed to load

    def items_of(self, set_name: str) -> list[Item]:
        if set_name not in self.sets:
            known = ", ".join(sorted(self.sets)) or "none"
            raise KeyError(f"no quiz set named '{set_name}' (known sets: {known})")
        return [self.items[item_id] for item_id in self.sets[set_name].items]

    def sets_of(self, item_id: str) -> list[str]:
        return [name for name, quiz_set in self.sets.items() if item_id in quiz_set.items]


def _yaml_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files.append(path)
    return files


def _shown(path: Path) -> str:
    """The path as the author sees it: relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _check_text(value, path, line, name, problems) -> bool:
    if not isinstance(value, str) or not value.strip():
        problems.append(BankError(path, line, f"'{name}' must be non-empty text"))
        return False
    return True


def _check_texts(value, path, line, name, problems) -> bool:
    ok = isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value)
    if not ok:
        problems.append(BankError(path, line, f"'{name}' must be a list of non-empty texts"))
    return bool(ok)


def _unknown_fields(raw: Node, allowed: tuple, what: str, path: str, problems: list[BankError]) -> None:
    """Report every key of `raw` that is not in `allowed`, at its own line."""
    for key in raw:
        if key not in allowed:
            problems.append(
                BankError(
                    path, raw.at(key), f"unknown field '{key}' in {what} (allowed: {', '.join(allowed)})"
                )
            )


def _parse_choice(raw, path, line, problems) -> Choice | None:
    if isinstance(raw, str):
        raw_node = Node()
        raw_node["text"], raw_node.line = raw, line
        raw = raw_node
    if not isinstance(raw, Node):
        problems.append(
            BankError(
                path,
                line,
                "a choice must be a mapping with 'text' (and for a wrong choice "
                "'feedback' and 'misconception')",
            )
        )
        return None
    _unknown_fields(raw, CHOICE_FIELDS, "a choice", path, problems)
    for key in ("text", "feedback", "misconception"):
        if isinstance(raw.get(key), bool) or raw.get(key) is None and key in raw:
            problems.append(
                BankError(
                    path,
                    raw.at(key),
                    f"'{key}' must be text; quote it (YAML reads yes/no/on/off as booleans)",
                )
            )
            return None
    if "text" not in raw or not isinstance(raw["text"], str | int | float) or not str(raw["text"]).strip():
        problems.append(BankError(path, raw.line, "a choice is missing its 'text'"))
        return None
    return Choice(str(raw["text"]), str(raw.get("feedback") or ""), raw.get("misconception"), raw.line)


def _parse_params(raw, path, line, problems) -> dict:
    """`name: [low, high]` (integers, inclusive) or `name: {one_of: [...]}`."""
    if not isinstance(raw, Node) or not raw:
        problems.append(BankError(path, line, "'params' must map names to [low, high] or {one_of: [...]}"))
        return {}
    params = {}
    for name, spec in raw.items():
        at = raw.at(name)
        if (
            isinstance(spec, list)
            and len(spec) == 2
            and all(isinstance(v, int) for v in spec)
            and spec[0] <= spec[1]
        ):
            params[name] = ("range", list(spec))
        elif (
            isinstance(spec, Node)
            and list(spec) == ["one_of"]
            and isinstance(spec["one_of"], list)
            and spec["one_of"]
        ):
            params[name] = ("one_of", list(spec["one_of"]))
        else:
            problems.append(
                BankError(path, at, f"param '{name}' must be [low, high] integers or {{one_of: [...]}}")
            )
    return params


def _parse_item(raw, topic: str, path: str, line: int, problems: list[BankError]) -> Item | None:
    if not isinstance(raw, Node):
        problems.append(BankError(path, line, "an item must be a mapping of fields"))
        return None
    before = len(problems)
    for key in raw:
        if key not in ITEM_REQUIRED + ITEM_OPTIONAL + ("topic",):
            close = difflib.get_close_matches(str(key), ITEM_REQUIRED + ITEM_OPTIONAL, n=1)
            advice = (
                f"did you mean '{close[0]}'?"
                if close
                else f"allowed: {', '.join(ITEM_REQUIRED + ITEM_OPTIONAL)}"
            )
            problems.append(BankError(path, raw.at(key), f"unknown field '{key}' ({advice})"))
    missing = [key for key in ITEM_REQUIRED if key not in raw]
    label = f"item '{raw['id']}'" if isinstance(raw.get("id"), str) else "item"
    for key in missing:
        problems.append(BankError(path, raw.line, f"{label} is missing required field '{key}'"))
    if missing:
        return None
    if not isinstance(raw["id"], str) or not ID_PATTERN.match(raw["id"]):
        problems.append(BankError(path, raw.at("id"), "'id' must be lower-case letters, digits, '-' or '_'"))
    if raw.get("topic", topic) != topic:
        problems.append(
            BankError(
                path, raw.at("topic"), f"item topic '{raw['topic']}' differs from the file's topic '{topic}'"
            )
        )
    if raw["difficulty"] not in DIFFICULTIES:
        problems.append(
            BankError(path, raw.at("difficulty"), f"difficulty must be one of {', '.join(DIFFICULTIES)}")
        )
    for name in ("stem", "hint"):
        _check_text(raw[name], path, raw.at(name), name, problems)
    for name in ("code", "verify", "unverified"):
        if name in raw:
            _check_text(raw[name], path, raw.at(name), name, problems)
    if "verify" in raw and "unverified" in raw:
        problems.append(
            BankError(path, raw.at("unverified"), "an item has either 'verify' or 'unverified', not both")
        )
    _check_texts(raw["solution"], path, raw.at("solution"), "solution", problems)
    _check_texts(raw["mistakes"], path, raw.at("mistakes"), "mistakes", problems)
    lesson = raw["lesson"]
    if not (isinstance(lesson, Node) and set(lesson) == {"notebook", "section"}):
        problems.append(
            BankError(path, raw.at("lesson"), "'lesson' must have exactly 'notebook' and 'section'")
        )
    elif lesson["notebook"] not in NOTEBOOKS:
        problems.append(
            BankError(
                path,
                lesson.at("notebook"),
                f"unknown lesson notebook '{lesson['notebook']}' (known: {', '.join(NOTEBOOKS)})",
            )
        )
    choices = []
    if not isinstance(raw["choices"], Seq) or len(raw["choices"]) < 2:
        problems.append(
            BankError(path, raw.at("choices"), "'choices' must be a list of at least two choices")
        )
    else:
        for entry, entry_line in zip(raw["choices"], raw["choices"].item_lines, strict=True):
            choice = _parse_choice(entry, path, entry_line, problems)
            if choice:
                choice.line = entry_line
                choices.append(choice)
    answer = raw["answer"]
    if isinstance(answer, list):
        if not answer or not all(isinstance(a, str | int | float) for a in answer):
            problems.append(
                BankError(path, raw.at("answer"), "a multi-select 'answer' must be a non-empty list")
            )
        answer = [str(a) for a in answer]
    elif isinstance(answer, str | int | float):
        answer = str(answer)
    else:
        problems.append(
            BankError(path, raw.at("answer"), "'answer' must be a choice's text or a list of them")
        )
    params = _parse_params(raw["params"], path, raw.at("params"), problems) if "params" in raw else {}
    if len(problems) > before:
        return None
    lines = {key: raw.value_lines[key] for key in raw}
    lines.update({f"{key}:key": raw.key_lines[key] for key in raw})
    return Item(
        id=raw["id"],
        topic=topic,
        difficulty=raw["difficulty"],
        stem=raw["stem"],
        choices=choices,
        answer=answer,
        solution=list(raw["solution"]),
        hint=raw["hint"],
        mistakes=list(raw["mistakes"]),
        lesson=dict(lesson),
        code=raw.get("code", ""),
        verify=raw.get("verify", ""),
        unverified=raw.get("unverified", ""),
        params=params,
        path=path,
        line=raw.line,
        lines=lines,
    )


def _read_file(data, path: str, bank: Bank, pending_sets: list) -> None:
    """Collect topic items, sets and misconceptions from one parsed file."""
    problems = bank.problems
    if not isinstance(data, Node):
        problems.append(
            BankError(
                path, 1, "a bank file must be a mapping with 'topic' and 'items', 'sets' or 'misconceptions'"
            )
        )
        return
    for key in data:
        if key not in ("topic", "items", "sets", "misconceptions"):
            problems.append(
                BankError(
                    path,
                    data.at(key),
                    f"unknown top-level field '{key}' (allowed: topic, items, sets, misconceptions)",
                )
            )
    if "misconceptions" in data:
        table = data["misconceptions"]
        if not isinstance(table, Node):
            problems.append(
                BankError(path, data.at("misconceptions"), "'misconceptions' must map ids to text")
            )
        else:
            for key, text in table.items():
                if not isinstance(text, str) or not text.strip():
                    problems.append(
                        BankError(path, table.at(key), f"misconception '{key}' needs a description")
                    )
                bank.misconceptions[key] = str(text)
    if "items" in data or "topic" in data:
        topic = data.get("topic")
        if topic not in TOPICS:
            problems.append(BankError(path, data.at("topic"), f"'topic' must be one of {', '.join(TOPICS)}"))
        elif not isinstance(data.get("items"), Seq):
            problems.append(BankError(path, data.at("items"), "'items' must be a list of items"))
        else:
            for raw, line in zip(data["items"], data["items"].item_lines, strict=True):
                if isinstance(raw, Node) and isinstance(raw.get("id"), str):
                    bank.declared.add(raw["id"])
                item = _parse_item(raw, topic, path, line, problems)
                if item is None:
                    continue
                if item.id in bank.items:
                    first = bank.items[item.id]
                    problems.append(
                        BankError(
                            path,
                            item.lines["id:key"],
                            f"duplicate id '{item.id}' (first defined at {first.path}:{first.line})",
                        )
                    )
                    continue
                bank.items[item.id] = item
    if "sets" in data:
        table = data["sets"]
        if not isinstance(table, Node):
            problems.append(BankError(path, data.at("sets"), "'sets' must map set names to {title, items}"))
            return
        for name, spec in table.items():
            pending_sets.append((name, spec, path, table.at(name)))


def _read_set(name, spec, path, line, bank: Bank) -> None:
    problems = bank.problems
    if (
        not isinstance(spec, Node)
        or "items" not in spec
        or not isinstance(spec["items"], Seq)
        or not spec["items"]
    ):
        problems.append(BankError(path, line, f"set '{name}' needs 'items', a non-empty list of item ids"))
        return
    _unknown_fields(spec, SET_FIELDS, f"set '{name}'", path, problems)
    ids = []
    for item_id, item_line in zip(spec["items"], spec["items"].item_lines, strict=True):
        if item_id not in bank.items and item_id in bank.declared:
            continue  # the item itself is reported already
        if item_id not in bank.items:
            problems.append(BankError(path, item_line, f"set '{name}' names unknown item id '{item_id}'"))
        elif item_id in ids:
            problems.append(BankError(path, item_line, f"set '{name}' lists '{item_id}' twice"))
        else:
            ids.append(item_id)
    if name in bank.sets:
        first = bank.sets[name]
        problems.append(
            BankError(path, line, f"duplicate set '{name}' (first defined at {first.path}:{first.line})")
        )
        return
    bank.sets[name] = QuizSet(name, str(spec.get("title") or name), ids, path, line)


def _check_choices(item: Item, bank: Bank) -> None:
    """Static checks on choices: no duplicates, answer among them, wrong choices explain themselves."""
    problems = bank.problems
    before = len(problems)
    seen: dict[str, int] = {}
    templated = item.is_variant
    for choice in item.choices:
        key = " ".join(choice.text.split())
        if key in seen:
            problems.append(
                BankError(
                    item.path,
                    choice.line,
                    f"duplicate choice '{choice.text}' in item '{item.id}' (same as line {seen[key]})",
                )
            )
        seen.setdefault(key, choice.line)
    answers = item.answer if item.multi else [item.answer]
    texts = [" ".join(c.text.split()) for c in item.choices]
    for answer in answers:
        if " ".join(answer.split()) not in texts:
            problems.append(
                BankError(
                    item.path,
                    item.lines["answer"],
                    f"answer '{answer}' of item '{item.id}' is not one of its choices",
                )
            )
    if not templated and len(set(answers)) != len(answers):
        problems.append(
            BankError(item.path, item.lines["answer"], f"answer of item '{item.id}' repeats a choice")
        )
    if len(problems) > before:  # with the key outside the choices, "which are wrong" is not known yet
        bank.flawed.add(item.id)
        return
    for choice in item.choices:
        if " ".join(choice.text.split()) in [" ".join(a.split()) for a in answers]:
            continue
        if not choice.feedback.strip():
            problems.append(
                BankError(item.path, choice.line, f"wrong choice '{choice.text}' needs 'feedback'")
            )
        if not choice.misconception:
            problems.append(
                BankError(item.path, choice.line, f"wrong choice '{choice.text}' needs 'misconception'")
            )
        elif choice.misconception not in bank.misconceptions:
            problems.append(
                BankError(item.path, choice.line, f"unknown misconception '{choice.misconception}'")
            )
    if re.search(r"\b(option|choice|answer)\s+[A-E]\b|\([A-E]\)|->\s*[A-E]\b", _all_text(item)):
        problems.append(
            BankError(
                item.path,
                item.line,
                f"item '{item.id}' refers to a choice by its letter; "
                "letters are given at display time, refer to the text",
            )
        )
    if len(problems) > before:
        bank.flawed.add(item.id)


def _all_text(item: Item) -> str:
    parts = [item.stem, item.hint, *item.solution, *item.mistakes] + [c.feedback for c in item.choices]
    return "\n".join(parts)


def load_bank(paths: list[Path] | None = None) -> Bank:
    """Read and validate every YAML file under `paths` (default: the shipped bank), collecting problems."""
    bank = Bank()
    pending_sets: list = []
    for path in _yaml_files([Path(p) for p in (paths or [DEFAULT_BANK])]):
        shown = _shown(path)
        data, problems = load_yaml(path, shown)
        bank.problems += problems
        if data is None and not problems:
            bank.problems.append(BankError(shown, 1, "the file is empty"))
        elif data is not None:
            _read_file(data, shown, bank, pending_sets)
    for name, spec, path, line in pending_sets:
        _read_set(name, spec, path, line, bank)
    for item in bank.items.values():
        _check_choices(item, bank)
    return bank

"""The YAML quiz bank: load files with line numbers, validate them with the schema, report `file:line`.

The schema (the fields of an item, a choice, a set and a file) is `quiz.schema`, in pydantic. This module
reads the YAML with line marks, turns each schema error into `file:line: what is wrong`, and adds the checks
that need the whole bank (unique ids, sets naming real items, answers among the choices).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from rnn_course.quiz import schema

BANK_DIR = "quiz_bank"  # package data: rnn_course/quiz_bank, in a checkout a link to the top quiz_bank/


def default_bank() -> Path:
    """The shipped bank, read through importlib.resources (authors pass their own folders to `load_bank`)."""
    bank = resources.files("rnn_course") / BANK_DIR
    if not isinstance(bank, Path) or not (bank / "sets.yaml").is_file():
        raise FileNotFoundError(f"the quiz bank is not installed: no sets.yaml in {bank}")
    return bank.resolve()  # in a checkout, the top quiz_bank/ that authors edit


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


class LineLoader(yaml.CSafeLoader):
    """SafeLoader (libyaml's parser: the pure-Python one took half a second a bank) whose mappings and
    sequences carry line numbers; duplicate keys are reported, not merged."""

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
# From pydantic errors to `file:line: what is wrong`.


def _node_at(raw, loc: tuple):
    """The YAML node that `loc` points at, or None when the path is not in the file."""
    node = raw
    for part in loc:
        if isinstance(node, Node) and part in node or isinstance(node, Seq) and isinstance(part, int):
            node = node[part] if not isinstance(node, Seq) or part < len(node) else None
        else:
            return None
    return node


def _line(raw, loc: tuple) -> int:
    """The line of the deepest key or list entry of `loc` in the file (else the mapping's own line)."""
    line, node = raw.line, raw
    for part in loc:
        if isinstance(node, Node) and part in node:
            line, node = node.at(part), node[part]
        elif isinstance(node, Seq) and isinstance(part, int) and part < len(node):
            line, node = node.item_lines[part], node[part]
        else:
            break
    return line


def _close(name: str, allowed) -> str:
    """'did you mean ...?' for a misspelt field, else the list of allowed ones."""
    close = difflib.get_close_matches(str(name), list(allowed), n=1)
    return f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"


def _explain(error: dict, raw, path: str, what: str, model) -> BankError:
    """One pydantic error as a BankError at the line of the field it is about."""
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))  # drop union tags
    kind, value = error["type"], error.get("input")
    field_name = (error.get("ctx") or {}).get("field")
    if field_name:
        loc = loc + (field_name,)
    line = _line(raw, loc)
    name = loc[-1] if loc else what
    inner = "a choice" if any(p in ("choices", "wrong_answers") for p in loc[:-1]) else what
    if kind == "missing":
        line = getattr(_node_at(raw, loc[:-1]), "line", raw.line)
        if inner == "a choice" and name == "text":
            return BankError(path, line, "a choice is missing its 'text'")
        return BankError(path, line, f"{inner} is missing required field '{name}'")
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = list(owner.model_fields) if owner else []
        where = "" if len(loc) == 1 else f" in {inner}"
        return BankError(path, line, f"unknown field '{name}'{where} ({_close(name, allowed)})")
    if kind == "string_type":
        label = f"entry {name + 1} of '{loc[-2]}'" if isinstance(name, int) and len(loc) > 1 else f"'{name}'"
        if isinstance(value, dict):
            return BankError(
                path, line, f"{label} must be text; quote it (YAML reads 'a: b' inside it as a mapping)"
            )
        if isinstance(value, bool) or value is None:
            return BankError(
                path, line, f"{label} must be text; quote it (YAML reads yes/no/on/off as booleans)"
            )
        return BankError(path, line, f"{label} must be text")
    if kind == "literal_error":
        return BankError(path, line, f"{name} must be one of {error['ctx']['expected'].replace(chr(39), '')}")
    if kind == "string_pattern_mismatch" and name == "id":
        return BankError(path, line, "'id' must be lower-case letters, digits, '-' or '_'")
    if kind in ("list_type", "too_short") and name in ("solution", "mistakes", "items"):
        return BankError(path, line, f"'{name}' must be a non-empty list")
    if kind == "bank" or kind.startswith("value_error"):
        message = error["msg"]
        if message == "must be non-empty text":
            message = f"'{name}' must be non-empty text"
        return BankError(path, line, message)
    return BankError(path, line, f"'{'.'.join(map(str, loc)) or what}': {error['msg']}")


def _model_at(model, loc: tuple):
    """The pydantic model class that `loc` (inside `model`) points at, for the list of allowed fields."""
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        inner = getattr(annotation, "__args__", (annotation,))
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model


def _validate(model, raw, path: str, what: str, problems: list[BankError]):
    """`model.model_validate(raw)`, or None with each error appended as `file:line: message`."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        found = [_explain(e, raw, path, what, model) for e in error.errors(include_url=False)]
        for problem in found:
            if str(problem) not in [str(p) for p in problems]:
                problems.append(problem)
        return None


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
    """One question as written in the bank (templates not yet rendered).

    A free-response item (`response: shape` or `number`) has no choices to show: the learner types the answer,
    and `choices` holds the typical wrong answers, each with its feedback and misconception.
    """

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
    distinct: list = field(default_factory=list)  # groups of params that must differ in a draw
    plausible: list = field(default_factory=list)  # templates of plausible mistakes (never the key)
    response: str = ""  # "" for choices; "shape" or "number" for a typed answer
    tolerance: float = 0.0  # for `response: number`: how far a typed number may be from the key
    rel_tolerance: float = 0.0  # ... or how far as a share of the key (5e-3: 3 significant digits suffice)
    path: str = ""
    line: int = 0
    lines: dict = field(default_factory=dict)  # field name -> first line of its text

    @property
    def multi(self) -> bool:
        return isinstance(self.answer, list)

    @property
    def free(self) -> bool:
        return bool(self.response)

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
    shuffle: bool = False  # seeded question order
    draw: int | None = None  # ask this many items drawn from `items`

    @property
    def size(self) -> int:
        """How many questions one pass asks (before retries)."""
        return self.draw or len(self.items)


@dataclass
class Bank:
    items: dict[str, Item] = field(default_factory=dict)
    sets: dict[str, QuizSet] = field(default_factory=dict)
    misconceptions: dict[str, str] = field(default_factory=dict)
    problems: list[BankError] = field(default_factory=list)
    flawed: set[str] = field(default_factory=set)  # ids of items with a schema problem (not verified)
    declared: set[str] = field(default_factory=set)  # every id written, even on an item that failed to load

    def items_of(self, set_name: str) -> list[Item]:
        """Every item a set may ask (its whole pool, in the bank's order)."""
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


def _item(raw, topic: str, path: str, line: int, problems: list[BankError]) -> Item | None:
    """Validate one raw item against the schema and build the Item, with the line of every field."""
    if not isinstance(raw, Node):
        problems.append(BankError(path, line, "an item must be a mapping of fields"))
        return None
    label = f"item '{raw['id']}'" if isinstance(raw.get("id"), str) else "item"
    spec = _validate(schema.ItemSpec, raw, path, label, problems)
    if spec is None:
        return None
    if spec.topic not in (None, topic):
        problems.append(
            BankError(
                path, raw.at("topic"), f"item topic '{spec.topic}' differs from the file's topic '{topic}'"
            )
        )
        return None
    entries = raw.get("wrong_answers" if spec.response else "choices") or Seq()
    choices = [
        Choice(c.text, c.feedback, c.misconception, at)
        for c, at in zip(
            spec.wrong_answers if spec.response else spec.choices, entries.item_lines, strict=True
        )
    ]
    lines = {key: raw.value_lines[key] for key in raw}
    lines.update({f"{key}:key": raw.key_lines[key] for key in raw})
    return Item(
        id=spec.id,
        topic=topic,
        difficulty=spec.difficulty,
        stem=spec.stem,
        choices=choices,
        answer=spec.answer,
        solution=list(spec.solution),
        hint=spec.hint,
        mistakes=list(spec.mistakes),
        lesson=spec.lesson.model_dump(),
        code=spec.code or "",
        verify=spec.verify or "",
        unverified=spec.unverified or "",
        params=dict(spec.params),
        distinct=[list(group) for group in spec.distinct],
        plausible=list(spec.plausible),
        response=spec.response or "",
        tolerance=spec.tolerance,
        rel_tolerance=spec.rel_tolerance,
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
    spec = _validate(schema.FileSpec, data, path, "a bank file", problems)
    if spec is None:
        return
    bank.misconceptions.update(spec.misconceptions)
    for raw, line in zip(spec.items or [], (data.get("items") or Seq()).item_lines, strict=True):
        if isinstance(raw, Node) and isinstance(raw.get("id"), str):
            bank.declared.add(raw["id"])
        item = _item(raw, spec.topic, path, line, problems)
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
    for name, raw in spec.sets.items():
        pending_sets.append((name, raw, path, data["sets"].at(name)))


def _read_set(name, raw, path, line, bank: Bank) -> None:
    problems = bank.problems
    if not isinstance(raw, Node):
        problems.append(BankError(path, line, f"set '{name}' needs 'items', a non-empty list of item ids"))
        return
    spec = _validate(schema.SetSpec, raw, path, f"set '{name}'", problems)
    if spec is None:
        return
    ids = []
    for item_id, item_line in zip(spec.items, raw["items"].item_lines, strict=True):
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
    draw = min(spec.draw, len(ids)) if spec.draw else None
    bank.sets[name] = QuizSet(name, spec.title or name, ids, path, line, spec.shuffle, draw)


def _same(text: str) -> str:
    return " ".join(text.split())


def _check_choices(item: Item, bank: Bank) -> None:
    """Checks across fields: no duplicate choices, the key among them, wrong choices explain themselves."""
    problems = bank.problems
    before = len(problems)
    seen: dict[str, int] = {}
    for choice in item.choices:
        if _same(choice.text) in seen:
            problems.append(
                BankError(
                    item.path,
                    choice.line,
                    f"duplicate choice '{choice.text}' in item '{item.id}' "
                    f"(same as line {seen[_same(choice.text)]})",
                )
            )
        seen.setdefault(_same(choice.text), choice.line)
    answers = item.answer if item.multi else [item.answer]
    texts = [_same(c.text) for c in item.choices]
    for answer in answers if not item.free else []:
        if _same(answer) not in texts:
            problems.append(
                BankError(
                    item.path,
                    item.lines["answer"],
                    f"answer '{answer}' of item '{item.id}' is not one of its choices",
                )
            )
    if item.free and not item.is_variant and _same(item.answer) in texts:
        problems.append(
            BankError(
                item.path,
                item.lines["answer"],
                f"answer of item '{item.id}' is also listed as a wrong answer",
            )
        )
    if not item.is_variant and len(set(answers)) != len(answers):
        problems.append(
            BankError(item.path, item.lines["answer"], f"answer of item '{item.id}' repeats a choice")
        )
    if len(problems) > before:  # with the key outside the choices, "which are wrong" is not known yet
        bank.flawed.add(item.id)
        return
    keys = [_same(a) for a in answers]
    for choice in item.choices:
        if _same(choice.text) in keys and not item.free:
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
    for path in _yaml_files([Path(p) for p in (paths or [default_bank()])]):
        shown = _shown(path)
        data, problems = load_yaml(path, shown)
        bank.problems += problems
        if data is None and not problems:
            bank.problems.append(BankError(shown, 1, "the file is empty"))
        elif data is not None:
            _read_file(data, shown, bank, pending_sets)
    for name, raw, path, line in pending_sets:
        _read_set(name, raw, path, line, bank)
    for item in bank.items.values():
        _check_choices(item, bank)
    return bank

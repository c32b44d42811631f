"""Turn bank items into questions (variants, shuffled choices), grade answers and run a session."""

from __future__ import annotations

import hashlib
import random
import re
import string
from dataclasses import dataclass, field

import jinja2

from rnn_course.quiz.bank import Bank, BankError, Item
from rnn_course.quiz.verify import normalise, run_item

MAX_DRAWS = 50  # a variant whose choices collide (say batch == seq) is drawn again
RETRY_GAP = 2  # a missed item comes back this many questions later
_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def derive_seed(*parts) -> int:
    """A stable 48-bit seed from any parts (the same on every machine and Python run)."""
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def belief(bank: Bank, key: str | None) -> str:
    """A misconception as the learner may hold it: 'You may think that hidden_size must equal input_size.'"""
    text = bank.misconceptions.get(key, key or "")
    return f"You may think that {text[:1].lower() + text[1:]}" if text else ""


def letter(index: int) -> str:
    """Letters exist only at display time: 0 -> 'A'."""
    return string.ascii_uppercase[index]


def render_text(template: str, context: dict, path: str, line: int, what: str) -> str:
    """Render one Jinja template; a failure becomes `file:line: template ... does not render`."""
    try:
        return _JINJA.from_string(template).render(context)
    except jinja2.TemplateSyntaxError as error:
        raise BankError(
            path, line + (error.lineno or 1) - 1, f"template in {what} does not render: {error.message}"
        ) from None
    except jinja2.TemplateError as error:
        raise BankError(
            path, line + _line_naming(template, str(error)), f"template in {what} does not render: {error}"
        ) from None


def _line_naming(template: str, message: str) -> int:
    """0-based line of the template that uses the undefined name in `message` ("'B' is undefined")."""
    match = re.search(r"'(\w+)' is undefined", message)
    if match:
        for index, text in enumerate(template.splitlines()):
            if re.search(r"\{[{%][^}]*\b" + re.escape(match.group(1)) + r"\b", text):
                return index
    return 0


@dataclass
class Option:
    text: str
    correct: bool
    feedback: str = ""
    misconception: str | None = None
    index: int = -1  # its place among the item's choices in the bank (stable across shuffles and draws)


# --- free-response answers: lenient on spacing, brackets and `torch.Size(...)` ----------------------------

_SHAPE_WRAPPERS = re.compile(r"^(torch\.Size|tuple|list|shape)?\s*[(\[]\s*(.*?)\s*[)\]]$", re.S)


def read_shape(text: str) -> tuple[int, ...]:
    """'(2, 4, 20)', '[2,4,20]', '2 4 20', '2x4x20' or 'torch.Size([2, 4, 20])' -> (2, 4, 20)."""
    inner = " ".join(str(text).split())
    while (match := _SHAPE_WRAPPERS.match(inner)) is not None:
        inner = match.group(2)
    parts = [p for p in re.split(r"\s*[,x×*]\s*|\s+", inner) if p]
    if not str(text).strip() or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ValueError(f"'{text}' is not a shape; type sizes such as (2, 4, 20)")
    return tuple(int(p) for p in parts)


def read_number(text: str) -> float:
    """'0.25', ' 2.5e-1 ', 'tensor(0.2500)' -> 0.25."""
    inner = " ".join(str(text).split())
    match = re.fullmatch(r"(?:tensor)?\(\s*(.*?)\s*\)", inner)
    inner = (match.group(1) if match else inner).replace(" ", "").replace(",", "")
    try:
        return float(inner)
    except ValueError:
        raise ValueError(f"'{text}' is not a number; type one such as 0.25 or 1e-9") from None


def same_answer(response: str, typed, key, tolerance: float = 0.0, rel_tolerance: float = 0.0) -> bool:
    """Whether a typed (or computed) free-response answer equals the key; ValueError if it cannot be read.

    A number may be off by `tolerance` (absolute) or by `rel_tolerance` times the key, whichever is larger.
    """
    if response == "shape":
        return read_shape(typed) == read_shape(key)
    want = read_number(key)
    return abs(read_number(typed) - want) <= max(tolerance, rel_tolerance * abs(want), 1e-9 * abs(want))


def absolute_tolerance(item, key) -> float:
    """How far a typed number may be from this key, as one absolute margin (what LMS exports want)."""
    return max(item.tolerance, item.rel_tolerance * abs(read_number(key)))


@dataclass
class Question:
    """One rendered item, ready to show: the choices are in display order."""

    item: Item
    seed: int
    params: dict
    stem: str
    code: str
    options: list[Option]
    hint: str
    solution: list[str]
    mistakes: list[str]
    retry: bool = False
    key: str = ""  # the rendered answer of a free-response item
    known_wrong: list[Option] = field(default_factory=list)  # typical wrong typed answers (free-response)

    @property
    def multi(self) -> bool:
        return self.item.multi

    @property
    def free(self) -> bool:
        return self.item.free

    @property
    def correct_indices(self) -> set[int]:
        return {i for i, option in enumerate(self.options) if option.correct}

    def labels(self) -> list[str]:
        return [f"{letter(i)}. {option.text}" for i, option in enumerate(self.options)]

    def parse(self, token: str) -> set[int] | str:
        """'B', 'ac' or a choice's text -> picked indices; a typed answer stays text; ValueError if bad."""
        token = token.strip()
        if self.free:
            same_answer(
                self.item.response, token, self.key, self.item.tolerance, self.item.rel_tolerance
            )  # raises if unreadable
            return token
        texts = [" ".join(option.text.split()) for option in self.options]
        if " ".join(token.split()) in texts:
            return {texts.index(" ".join(token.split()))}
        letters = token.replace(",", "").replace(" ", "").upper()
        if letters and all(c in string.ascii_uppercase[: len(self.options)] for c in letters):
            if len(letters) > 1 and not self.multi:
                raise ValueError("this question has one answer: give one letter")
            return {string.ascii_uppercase.index(c) for c in letters}
        raise ValueError(
            f"'{token}' is not a choice; answer with a letter from A to {letter(len(self.options) - 1)}"
        )

    def grade(self, selected: set[int] | str) -> Result:
        """Grade picked choices (indices) or, for a free-response item, the typed text."""
        if self.free:
            return self.grade_typed(selected)
        right = selected == self.correct_indices
        wrong_picked = [self.options[i] for i in sorted(selected) if not self.options[i].correct]
        missed = [self.options[i] for i in sorted(self.correct_indices - selected)]
        credit = 1.0 if right else max(0.0, sum(self.weights()[i] for i in selected)) if self.multi else 0.0
        return Result(self, set(selected), right, wrong_picked, missed, credit=credit)

    def weights(self) -> list[float]:
        """Each choice's share of the mark. Select-all: +1/k for each of the k right choices, -1/k for each
        wrong one, the total floored at 0 (Moodle's multiple-answer scoring, used everywhere)."""
        if not self.multi:
            return [1.0 if option.correct else 0.0 for option in self.options]
        k = len(self.correct_indices)
        return [1 / k if option.correct else -1 / k for option in self.options]

    def grade_typed(self, typed: str) -> Result:
        """Right when the typed answer reads as the key; a typical wrong answer brings its misconception."""
        item = self.item
        right = same_answer(item.response, typed, self.key, item.tolerance, item.rel_tolerance)
        wrong = [
            o
            for o in self.known_wrong
            if not right and same_answer(item.response, typed, o.text, item.tolerance, item.rel_tolerance)
        ]
        return Result(self, set(), right, wrong[:1], [], typed=str(typed).strip(), credit=float(right))


@dataclass
class Result:
    question: Question
    selected: set[int]
    correct: bool
    wrong_picked: list[Option]
    missed: list[Option]
    typed: str | None = None  # what the learner typed, for a free-response item
    credit: float = 0.0  # the share of the mark: 1 when right; select-all can earn part of it

    @property
    def picked(self) -> list[int]:
        """Bank indices of the picked choices (typed: the typical wrong answer it matched, if any)."""
        if self.typed is not None:
            return [o.index for o in self.wrong_picked]
        return sorted(self.question.options[i].index for i in self.selected)

    @property
    def misconceptions(self) -> list[str]:
        return [option.misconception for option in self.wrong_picked if option.misconception]


def _draw(params: dict, rng: random.Random) -> dict:
    drawn = {}
    for name, (kind, values) in params.items():
        drawn[name] = rng.randint(*values) if kind == "range" else rng.choice(values)
    return drawn


def degenerate(item: Item, drawn: dict) -> str | None:
    """Why a draw is unusable: two parameters of a `distinct` group coincide, so a mistake could score."""
    for group in item.distinct:
        values = [drawn[name] for name in group]
        if len(set(values)) < len(values):
            same = [f"{name}={drawn[name]}" for name in group if values.count(drawn[name]) > 1]
            return f"parameters {', '.join(same)} coincide (a learner who swaps them would score)"
    return None


def collisions(question: Question) -> list[str]:
    """The plausible mistakes (the item's `plausible` list and its wrong answers) that equal the key."""
    item = question.item
    context = question.params | {"answer": question.key or _keys(question)}
    mistakes = [render_text(t, context, item.path, item.line, "'plausible'") for t in item.plausible]
    mistakes += [o.text for o in question.known_wrong]
    if item.free:
        return [
            m
            for m in mistakes
            if same_answer(item.response, m, question.key, item.tolerance, item.rel_tolerance)
        ]
    keys = {" ".join(o.text.split()) for o in question.options if o.correct}
    return [m for m in mistakes if " ".join(m.split()) in keys]


def _keys(question: Question) -> str:
    return next((o.text for o in question.options if o.correct), "")


def render(item: Item, seed: int, verify_static: bool = False, shuffle: bool = True) -> Question:
    """Draw the item's parameters, run torch for variants, render every text and shuffle the choices.

    With `verify_static`, a fixed item's `verify` block also runs and must agree with the keyed answer.
    """
    rng = random.Random(seed)
    last_problem = None
    for _ in range(MAX_DRAWS if item.is_variant else 1):
        context = _draw(item.params, rng)
        last_problem = degenerate(item, context)
        if last_problem:
            continue
        code = render_text(item.code, context, item.path, item.lines.get("code", item.line), "'code'")
        static_choices = None
        if not item.is_variant and not item.free:
            static_choices = [
                render_text(c.text, context, item.path, c.line, "a choice") for c in item.choices
            ]
        if item.verify and (item.is_variant or verify_static):
            outcome = run_item(item, code, context, static_choices, item.answer)
            if item.is_variant:
                if not outcome.has_answer:
                    raise BankError(
                        item.path,
                        item.lines["verify"],
                        f"verify of variant item '{item.id}' must set "
                        "'answer' (the correct choice, computed by torch)",
                    )
                context["answer"] = outcome.answer
        key = item.answer
        if isinstance(key, list):
            key = [render_text(k, context, item.path, item.lines["answer"], "'answer'") for k in key]
        else:
            key = render_text(key, context, item.path, item.lines["answer"], "'answer'")
        if item.verify and (item.is_variant or verify_static):
            if not outcome.has_answer:
                raise BankError(
                    item.path,
                    item.lines.get("verify:key", item.line),
                    f"verify of item '{item.id}' must set 'answer' from what the code does, so that a "
                    "wrong key is caught (asserting facts alone checks no key)",
                )
            if not _agrees(item, outcome.answer, key):
                raise BankError(
                    item.path,
                    item.lines["answer"],
                    f"verification of item '{item.id}' disagrees with "
                    f"the key: torch gives {outcome.answer!r}, "
                    f"the key says {key!r}",
                )
        options = []
        keys = {" ".join(k.split()) for k in (key if isinstance(key, list) else [key])}
        for index, choice in enumerate(item.choices):
            text = render_text(choice.text, context, item.path, choice.line, "a choice")
            feedback = render_text(choice.feedback, context, item.path, choice.line, "a choice's feedback")
            correct = " ".join(text.split()) in keys and not item.free
            options.append(Option(text, correct, feedback, choice.misconception, index))
        texts = [" ".join(o.text.split()) for o in options]
        if len(set(texts)) != len(texts):
            last_problem = "two choices render to the same text"
            continue
        if item.free:
            if any(
                same_answer(item.response, o.text, key, item.tolerance, item.rel_tolerance) for o in options
            ):
                last_problem = "a listed wrong answer equals the key"
                continue
        elif not keys <= set(texts):
            last_problem = "the computed answer is not among the rendered choices"
            continue
        break
    else:
        where = f"in all {MAX_DRAWS} draws (widen the parameter ranges)" if item.is_variant else ""
        raise BankError(item.path, item.line, f"item '{item.id}': {last_problem} {where}".rstrip())
    known_wrong = []
    if item.free:
        known_wrong, options = options, []
    if shuffle:
        random.Random(derive_seed(seed, "shuffle")).shuffle(options)

    def text(template: str, name: str, offset: int = 0) -> str:
        return render_text(
            template, context, item.path, item.lines.get(name, item.line) + offset, f"'{name}'"
        )

    return Question(
        item=item,
        seed=seed,
        params={k: v for k, v in context.items() if k != "answer"},
        stem=text(item.stem, "stem"),
        code=code,
        options=options,
        hint=text(item.hint, "hint"),
        solution=[text(step, "solution", i) for i, step in enumerate(item.solution)],
        mistakes=[text(m, "mistakes", i) for i, m in enumerate(item.mistakes)],
        key=key if item.free else "",
        known_wrong=known_wrong,
    )


def _agrees(item: Item, computed, key) -> bool:
    """Does what torch computed in `verify` equal the keyed answer?"""
    if item.free:
        try:
            return same_answer(item.response, str(computed), key, item.tolerance, item.rel_tolerance)
        except ValueError:
            return False
    return normalise(computed) == normalise(key)


REVIEW_TITLE = "Spaced review: the questions that are due"


def choose_items(bank: Bank, set_name: str, base: str) -> list[Item]:
    """The items one pass of a set asks: a seeded draw from its pool (every lesson in the pool kept), in
    the set's order or, with `shuffle`, in a seeded order."""
    quiz_set = bank.sets.get(set_name)
    items = bank.items_of(set_name)
    rng = random.Random(derive_seed(base, set_name, "order"))
    if quiz_set.draw and quiz_set.draw < len(items):
        groups: dict[str, list[Item]] = {}
        for item in items:
            groups.setdefault(item.lesson["notebook"], []).append(item)
        for group in groups.values():
            rng.shuffle(group)
        lessons = list(groups)
        rng.shuffle(lessons)
        chosen: list[Item] = []
        while len(chosen) < quiz_set.draw:  # round robin over lessons, so that each one is asked
            for lesson in lessons:
                if groups[lesson] and len(chosen) < quiz_set.draw:
                    chosen.append(groups[lesson].pop())
        items = [item for item in items if item in chosen]
    if quiz_set.shuffle:
        rng.shuffle(items)
    return items


@dataclass
class Session:
    """One pass through a set: questions in order, a missed one asked again later, scored on first tries."""

    bank: Bank
    set_name: str
    learner: str = "learner"
    attempt: int = 1
    seed: int | None = None
    store: object = None  # a progress.Store, or None to keep nothing
    queue: list[Question] = field(default_factory=list)
    position: int = 0
    first_results: dict[str, bool] = field(default_factory=dict)
    first_credit: dict[str, float] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    item_ids: list[str] | None = None  # ask these instead of a bank set (spaced review)

    def __post_init__(self):
        self.base = f"seed:{self.seed}" if self.seed is not None else f"{self.learner}:{self.attempt}"
        if self.item_ids is not None:
            self.items = [self.bank.items[item_id] for item_id in self.item_ids]
        else:
            self.items = choose_items(self.bank, self.set_name, self.base)
        self.queue = [render(item, derive_seed(self.base, self.set_name, item.id)) for item in self.items]

    @property
    def title(self) -> str:
        quiz_set = self.bank.sets.get(self.set_name)
        return quiz_set.title if quiz_set else REVIEW_TITLE

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def score(self) -> float:
        """Marks earned on first tries (a select-all item can earn part of its mark), e.g. 4 or 3.5."""
        total = round(sum(self.first_credit.values()), 2)
        return int(total) if total == int(total) else total

    @property
    def first_right(self) -> int:
        """Questions answered fully right on the first try (a count, never a mark)."""
        return sum(self.first_results.values())

    def first_try_line(self) -> str:
        """'You answered 3 of 5 right on the first try.' (a count of questions, whatever the marks)."""
        answered = len(self.first_results)
        if answered == self.total:
            return f"You answered {self.first_right} of {self.total} right on the first try."
        return (
            f"You answered {self.first_right} of {answered} right on the first try "
            f"({self.total - answered} of the {self.total} questions not reached)."
        )

    def marks_line(self) -> str:
        """The score in marks, where select-all questions gave part of theirs."""
        return f"Score: {self.score} of {self.total} marks (a select-all question can give part of its mark)."

    @property
    def current(self) -> Question | None:
        return self.queue[self.position] if self.position < len(self.queue) else None

    @property
    def done(self) -> bool:
        return self.current is None

    def answer(self, selected: set[int] | str) -> Result:
        """Grade the current question (picked indices, or typed text for a free-response item), record it,
        and schedule a retry if it was missed the first time."""
        question = self.current
        result = question.grade(selected)
        self.results.append(result)
        item = question.item
        if item.id not in self.first_results:
            self.first_results[item.id] = result.correct
            self.first_credit[item.id] = result.credit
            if not result.correct:
                retry = render(item, derive_seed(self.base, self.set_name, item.id, "retry"))
                retry.retry = True
                self.queue.insert(min(self.position + 1 + RETRY_GAP, len(self.queue)), retry)
        if self.store is not None:
            self._save(item, question, result)
        return result

    def _save(self, item: Item, question: Question, result: Result) -> None:
        """Record to the progress store; a store that cannot be written costs the record, never the quiz."""
        try:
            self.store.record(
                learner=self.learner,
                set_name=self.set_name,
                attempt=self.attempt,
                item_id=item.id,
                topic=item.topic,
                correct=result.correct,
                credit=result.credit,
                retry=question.retry,
                misconceptions=result.misconceptions,
                picked=result.picked,
                typed=result.typed,
            )
        except OSError as error:
            note = f"Progress could not be saved ({error}); the quiz goes on."
            if note not in self.notices:
                self.notices.append(note)

    def advance(self) -> Question | None:
        self.position += 1
        return self.current

    def missed_misconceptions(self) -> list[str]:
        seen = []
        for result in self.results:
            seen += [m for m in result.misconceptions if m not in seen]
        return seen

    def summary(self, stopped: bool = False) -> str:
        lines = [f"Score{' so far' if stopped else ''}: {self.score} / {self.total}", self.first_try_line()]
        retried = [r for r in self.results if r.question.retry]
        if retried:
            lines.append(
                f"Second tries: {sum(r.correct for r in retried)} of {len(retried)} missed questions right."
            )
        for key in self.missed_misconceptions():
            lines.append(belief(self.bank, key))
        return "\n".join(lines)

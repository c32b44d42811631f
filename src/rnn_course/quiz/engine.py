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

    @property
    def multi(self) -> bool:
        return self.item.multi

    @property
    def correct_indices(self) -> set[int]:
        return {i for i, option in enumerate(self.options) if option.correct}

    def labels(self) -> list[str]:
        return [f"{letter(i)}. {option.text}" for i, option in enumerate(self.options)]

    def parse(self, token: str) -> set[int]:
        """'B', 'ac' or a choice's exact text -> selected indices; ValueError if it names no choice."""
        token = token.strip()
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

    def grade(self, selected: set[int]) -> Result:
        right = selected == self.correct_indices
        wrong_picked = [self.options[i] for i in sorted(selected) if not self.options[i].correct]
        missed = [self.options[i] for i in sorted(self.correct_indices - selected)]
        return Result(self, set(selected), right, wrong_picked, missed)


@dataclass
class Result:
    question: Question
    selected: set[int]
    correct: bool
    wrong_picked: list[Option]
    missed: list[Option]

    @property
    def misconceptions(self) -> list[str]:
        return [option.misconception for option in self.wrong_picked if option.misconception]


def _draw(params: dict, rng: random.Random) -> dict:
    drawn = {}
    for name, (kind, values) in params.items():
        drawn[name] = rng.randint(*values) if kind == "range" else rng.choice(values)
    return drawn


def render(item: Item, seed: int, verify_static: bool = False, shuffle: bool = True) -> Question:
    """Draw the item's parameters, run torch for variants, render every text and shuffle the choices.

    With `verify_static`, a fixed item's `verify` block also runs and must agree with the keyed answer.
    """
    rng = random.Random(seed)
    last_problem = None
    for _ in range(MAX_DRAWS if item.is_variant else 1):
        context = _draw(item.params, rng)
        code = render_text(item.code, context, item.path, item.lines.get("code", item.line), "'code'")
        static_choices = None
        if not item.is_variant:
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
        if verify_static and item.verify and not item.is_variant:
            if not outcome.has_answer:
                raise BankError(
                    item.path,
                    item.lines.get("verify:key", item.line),
                    f"verify of item '{item.id}' must set 'answer' from what the code does, so that a "
                    "wrong key is caught (asserting facts alone checks no key)",
                )
            if normalise(outcome.answer) != normalise(key):
                raise BankError(
                    item.path,
                    item.lines["answer"],
                    f"verification of item '{item.id}' disagrees with "
                    f"the key: torch gives {outcome.answer!r}, "
                    f"the key says {key!r}",
                )
        options = []
        keys = {" ".join(k.split()) for k in (key if isinstance(key, list) else [key])}
        for choice in item.choices:
            text = render_text(choice.text, context, item.path, choice.line, "a choice")
            feedback = render_text(choice.feedback, context, item.path, choice.line, "a choice's feedback")
            options.append(Option(text, " ".join(text.split()) in keys, feedback, choice.misconception))
        texts = [" ".join(o.text.split()) for o in options]
        if len(set(texts)) != len(texts):
            last_problem = "two choices render to the same text"
            continue
        if not keys <= set(texts):
            last_problem = "the computed answer is not among the rendered choices"
            continue
        break
    else:
        where = f"in all {MAX_DRAWS} draws (widen the parameter ranges)" if item.is_variant else ""
        raise BankError(item.path, item.line, f"item '{item.id}': {last_problem} {where}".rstrip())
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
    )


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
    results: list[Result] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.base = f"seed:{self.seed}" if self.seed is not None else f"{self.learner}:{self.attempt}"
        self.items = self.bank.items_of(self.set_name)
        self.queue = [render(item, derive_seed(self.base, self.set_name, item.id)) for item in self.items]

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def score(self) -> int:
        return sum(self.first_results.values())

    @property
    def current(self) -> Question | None:
        return self.queue[self.position] if self.position < len(self.queue) else None

    @property
    def done(self) -> bool:
        return self.current is None

    def answer(self, selected: set[int]) -> Result:
        """Grade the current question, record it, and schedule a retry if it was missed the first time."""
        question = self.current
        result = question.grade(selected)
        self.results.append(result)
        item = question.item
        if item.id not in self.first_results:
            self.first_results[item.id] = result.correct
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
                retry=question.retry,
                misconceptions=result.misconceptions,
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

    def summary(self) -> str:
        lines = [f"Score: {self.score} / {self.total}"]
        retried = [r for r in self.results if r.question.retry]
        if retried:
            lines.append(
                f"Retries: {sum(r.correct for r in retried)} of {len(retried)} missed items right "
                "the second time."
            )
        for key in self.missed_misconceptions():
            lines.append(f"Review: {self.bank.misconceptions.get(key, key)}")
        return "\n".join(lines)

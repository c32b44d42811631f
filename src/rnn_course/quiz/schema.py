"""The bank's schema as pydantic models: what an item, a choice, a set and a bank file may hold."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

TOPICS = ("syntax", "shapes", "hidden_state", "packing", "using_rnn")
DIFFICULTIES = ("easy", "medium", "hard")
RESPONSES = ("shape", "number")  # free-response kinds: the learner types a shape or a number
NOTEBOOKS = (
    "01_rnn_syntax.ipynb",
    "02_shapes.ipynb",
    "03_hidden_state.ipynb",
    "04_packing.ipynb",
    "05_using_rnn.ipynb",
    "06_practice.ipynb",
)
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


def problem(message: str, field: str | None = None) -> PydanticCustomError:
    """A schema error with our own wording; `field` names the key whose line the error points at."""
    return PydanticCustomError("bank", message, {"field": field} if field else None)


def _non_empty(text: str) -> str:
    if not text.strip():
        raise problem("must be non-empty text")
    return text


def _number_as_text(value):
    """Unquoted `0.25` or `3` in a choice or answer is read as text, as the author wrote it."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Text = Annotated[str, AfterValidator(_non_empty)]
ChoiceText = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(_non_empty)]


def _answer(value):
    """One choice's text, or a non-empty list of them (select-all)."""
    if isinstance(value, list):
        if not value or not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
            raise problem("a multi-select 'answer' must be a non-empty list of choice texts")
        return [str(v) for v in value]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise problem("'answer' must be a choice's text or a list of them")


def _param(spec):
    """`[low, high]` (integers, inclusive) or `{one_of: [...]}`."""
    if isinstance(spec, list) and len(spec) == 2 and all(type(v) is int for v in spec) and spec[0] <= spec[1]:
        return ("range", list(spec))
    if (
        isinstance(spec, dict)
        and list(spec) == ["one_of"]
        and isinstance(spec["one_of"], list)
        and spec["one_of"]
    ):
        return ("one_of", list(spec["one_of"]))
    raise problem("a param must be [low, high] integers or {one_of: [...]}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChoiceSpec(Strict):
    text: ChoiceText
    feedback: str = ""
    misconception: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_text(cls, value):
        return (
            {"text": value} if isinstance(value, str | int | float) and not isinstance(value, bool) else value
        )


class LessonSpec(Strict):
    notebook: str
    section: Text

    @model_validator(mode="after")
    def _known_notebook(self):
        if self.notebook not in NOTEBOOKS:
            raise problem(
                f"unknown lesson notebook '{self.notebook}' (known: {', '.join(NOTEBOOKS)})", "notebook"
            )
        return self


class ItemSpec(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    topic: str | None = None
    difficulty: Literal["easy", "medium", "hard"]
    stem: Text
    choices: list[ChoiceSpec] = []
    response: Literal["shape", "number"] | None = None
    tolerance: Annotated[float, Field(ge=0)] = 0.0
    rel_tolerance: Annotated[float, Field(ge=0, lt=1)] = 0.0
    wrong_answers: list[ChoiceSpec] = []
    answer: Annotated[str | list[str], PlainValidator(_answer)]
    solution: Annotated[list[Text], Field(min_length=1)]
    hint: Text
    mistakes: Annotated[list[Text], Field(min_length=1)]
    lesson: LessonSpec
    code: Text | None = None
    verify: Text | None = None
    unverified: Text | None = None
    params: dict[str, Annotated[tuple, PlainValidator(_param)]] = {}
    # groups of params that must differ in a draw, so that a learner who swaps them cannot score
    distinct: list[Annotated[list[str], Field(min_length=2)]] = []
    # plausible mistakes, as templates over the params; `quiz check` fails when a draw makes one the key
    plausible: list[Text] = []

    @model_validator(mode="after")
    def _consistent(self):
        unknown = sorted({name for group in self.distinct for name in group} - set(self.params))
        if unknown:
            raise problem(f"'distinct' names unknown params: {', '.join(unknown)}", "distinct")
        if self.verify is not None and self.unverified is not None:
            raise problem("an item has either 'verify' or 'unverified', not both", "unverified")
        if self.response is None:
            if len(self.choices) < 2:
                raise problem("'choices' must be a list of at least two choices", "choices")
            if self.wrong_answers:
                raise problem(
                    "'wrong_answers' belong to free-response items (with 'response')", "wrong_answers"
                )
        else:
            if self.choices:
                raise problem(
                    "a free-response item has no 'choices'; list typical wrong answers as 'wrong_answers'",
                    "choices",
                )
            if isinstance(self.answer, list):
                raise problem("a free-response item has one 'answer'", "answer")
        return self


class SetSpec(Strict):
    title: str | None = None
    items: Annotated[list[str], Field(min_length=1)]
    shuffle: bool = False  # ask the questions in a seeded random order
    draw: Annotated[int, Field(ge=1)] | None = None  # ask this many, drawn from `items` (one pool)

    @model_validator(mode="after")
    def _draw_fits(self):
        if self.draw is not None and self.draw > len(self.items):
            raise problem(f"'draw' ({self.draw}) is larger than the pool of {len(self.items)} items", "draw")
        return self


class FileSpec(Strict):
    """One bank file: a topic with its items, and/or sets, and/or the misconception table."""

    topic: Literal["syntax", "shapes", "hidden_state", "packing", "using_rnn"] | None = None
    items: list[object] | None = None
    sets: dict[str, object] = {}
    misconceptions: dict[str, Text] = {}

    @model_validator(mode="after")
    def _topic_with_items(self):
        if self.items is not None and self.topic is None:
            raise problem(f"'topic' must be one of {', '.join(TOPICS)}", "topic")
        if self.topic is not None and self.items is None:
            raise problem("'items' must be a list of items", "items")
        return self

"""The "your turn" exercises: the learner writes a short function, and `check_exercise` runs it against
PyTorch on a few sizes (the edge ones included: N = 1, H = 1, several layers, both directions).

In a lesson the learner completes

    def rnn_step(x_t, h_prev, rnn):
        ...                       # your code here

    check_exercise("rnn_step", rnn_step)

and reads, per size, right or what is wrong: the shape PyTorch gives against the shape returned, or the
first element that differs. A function still left as `...` (it returns None) is only "not tried yet": the
checker says nothing about the answer before a try. No solution lives in this package.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from rnn_course.selfcheck import RIGHT, UNTRIED, WRONG

TOLERANCE = 1e-5  # float32 sums done in another order round differently (lesson 1)


class Mismatch(Exception):
    """What is wrong with one answer, in the course's words."""


class ReturnedNone(Exception):
    """The learner's function returned None: its body is still `...`, or it forgot to return."""


def _returned(got):
    if got is None:
        raise ReturnedNone
    return got


@dataclass
class Case:
    """One size the learner's function is run on: a name, the arguments, and PyTorch's answer."""

    name: str
    args: tuple
    truth: object


@dataclass
class Outcome:
    name: str
    status: str
    message: str


def _first_difference(got: torch.Tensor, want: torch.Tensor) -> str:
    bad = ~torch.isclose(got.detach().float(), want.detach().float(), atol=TOLERANCE, rtol=TOLERANCE)
    index = tuple(int(i) for i in bad.nonzero()[0])
    count = int(bad.sum())
    return (
        f"{count} of {want.numel()} elements differ; the first is at index {index}: "
        f"you have {got[index].item():.4f}, PyTorch has {want[index].item():.4f}"
    )


def compare(got, want, what: str = "your result") -> None:
    """Raise Mismatch with the reason when `got` is not the tensor (or tuple of tensors) `want`."""
    if isinstance(want, tuple):
        if not isinstance(got, tuple) or len(got) != len(want):
            raise Mismatch(f"{what} should be a tuple of {len(want)} tensors, not {_kind(got)}")
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            compare(g, w, f"element {i} of {what}")
        return
    if not isinstance(got, torch.Tensor):
        raise Mismatch(f"{what} should be a tensor, not {_kind(got)}")
    if tuple(got.shape) != tuple(want.shape):
        raise Mismatch(f"{what}: shape expected {tuple(want.shape)}, got {tuple(got.shape)}")
    if want.dtype in (torch.long, torch.int, torch.bool) and got.dtype != want.dtype:
        raise Mismatch(f"{what}: dtype expected {want.dtype}, got {got.dtype}")
    if not torch.allclose(got.detach().float(), want.detach().float(), atol=TOLERANCE, rtol=TOLERANCE):
        if want.dim() == 0:
            raise Mismatch(f"{what}: you have {got.item():.4f}, PyTorch has {want.item():.4f}")
        raise Mismatch(f"{what}: {_first_difference(got, want)}")


def _kind(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


# --- lesson 1: one step of the recurrence ---------------------------------------------------------------


def _rnn_step_cases():
    cases = []
    for n, h_in, h, nonlinearity, bias in [
        (2, 3, 5, "tanh", True),
        (1, 4, 1, "tanh", True),  # N = 1 and H = 1
        (3, 2, 4, "relu", True),
        (2, 3, 5, "tanh", False),  # bias=False: no bias parameters at all
    ]:
        torch.manual_seed(n * 100 + h)
        rnn = nn.RNN(h_in, h, nonlinearity=nonlinearity, bias=bias)
        x_t, h_prev = torch.randn(n, h_in), torch.randn(n, h)  # (N, H_in), (N, H)
        with torch.no_grad():
            _, h_n = rnn(x_t[None], h_prev[None])  # one step: (1, N, H)
        name = f"N={n}, H_in={h_in}, H={h}, {nonlinearity}" + ("" if bias else ", bias=False")
        cases.append(Case(name, (x_t, h_prev, rnn), h_n[0]))
    return cases


# --- lesson 2: one prediction per sequence from h_n -------------------------------------------------------


def _per_sequence_cases():
    cases = []
    for n, h, layers, bidirectional, classes in [
        (3, 4, 1, False, 2),
        (3, 4, 2, True, 5),
        (1, 3, 3, True, 2),  # N = 1: a wrong reshape goes unnoticed here unless the values are checked
        (4, 1, 2, True, 3),  # H = 1
        (2, 5, 3, False, 4),
    ]:
        torch.manual_seed(n * 10 + layers)
        d = 2 if bidirectional else 1
        rnn = nn.RNN(3, h, num_layers=layers, bidirectional=bidirectional)
        head = nn.Linear(d * h, classes)
        with torch.no_grad():
            output, h_n = rnn(torch.randn(6, n, 3))  # (L=6, N, D*H), (num_layers*D, N, H)
            top = h_n.view(layers, d, n, h)[-1]  # (D, N, H): the top layer, each direction
            truth = head(torch.cat(list(top), dim=-1))  # (N, D*H) -> (N, classes)
        name = f"N={n}, H={h}, num_layers={layers}, bidirectional={bidirectional}, {classes} classes"
        cases.append(Case(name, (h_n, head, layers, bidirectional), truth))
    return cases


# --- lesson 3: a long sequence in chunks, the state carried and detached ------------------------------


def _chunk_cases():
    cases = []
    for length, n, h, chunk in [(12, 2, 4, 4), (10, 1, 1, 3), (9, 3, 5, 9), (8, 2, 3, 1)]:
        torch.manual_seed(length + chunk)
        rnn = nn.RNN(2, h)
        x = torch.randn(length, n, 2)  # (L, N, H_in)
        with torch.no_grad():
            truth = rnn(x)[0]  # (L, N, H): one run over the whole sequence
        cases.append(Case(f"L={length}, N={n}, H={h}, chunks of {chunk}", (rnn, x, chunk), truth))
    return cases


def _check_chunks(function, case: Case) -> None:
    rnn, x, chunk = case.args
    x = x.clone().requires_grad_()
    got = _returned(function(rnn, x, chunk))
    compare(got, case.truth, "the joined output")
    if chunk >= len(x):
        return
    rnn.zero_grad()
    got[-1].sum().backward()  # from the last step back: it must stop at the last chunk's start
    last_start = (len(x) - 1) // chunk * chunk
    if x.grad is not None and x.grad[:last_start].abs().sum() > 0:
        raise Mismatch(
            "the output is right, but the gradient of the last step reaches earlier chunks: "
            "detach the state you carry from one chunk to the next"
        )


# --- lesson 4: a padding collate_fn and a masked loss ------------------------------------------------------


def _collate_cases():
    cases = []
    for lengths, h_in in [([3, 1, 2], 2), ([4], 1), ([2, 5, 5, 1], 3)]:
        torch.manual_seed(sum(lengths))
        batch = [(torch.randn(n, h_in), i % 2) for i, n in enumerate(lengths)]  # (L_i, H_in), label
        padded = nn.utils.rnn.pad_sequence([s for s, _ in batch])  # (L_max, N, H_in), zeros after the end
        truth = (padded, torch.tensor(lengths), torch.tensor([y for _, y in batch]))
        cases.append(Case(f"lengths {lengths}, H_in={h_in}", (batch,), truth))
    return cases


def _check_collate(function, case: Case) -> None:
    got = _returned(function(*case.args))
    if isinstance(got, tuple) and len(got) == 3:
        names = ["the padded batch", "the lengths", "the labels"]
        for g, w, name in zip(got, case.truth, names, strict=True):
            compare(g, w, name)
    else:
        compare(got, case.truth, "what collate returns (padded, lengths, labels)")


def _masked_loss_cases():
    cases = []
    for lengths, vocab in [([4, 2, 3], 5), ([1], 3), ([3, 3], 4), ([5, 1, 2, 4], 2)]:
        torch.manual_seed(vocab * 10 + len(lengths))
        n, steps = len(lengths), max(lengths)
        logits = torch.randn(steps, n, vocab)  # (L_max, N, V)
        targets = torch.randint(0, vocab, (steps, n))  # (L_max, N); padding positions hold junk ids
        lengths_t = torch.tensor(lengths)  # (N,)
        real = torch.arange(steps)[:, None] < lengths_t[None, :]  # (L_max, N): True on real steps
        per_step = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), reduction="none")
        truth = per_step[real.reshape(-1)].mean()  # mean over the real steps only
        cases.append(Case(f"lengths {lengths}, V={vocab}", (logits, targets, lengths_t), truth))
    return cases


# --- lesson 5: one LSTM step from scratch ----------------------------------------------------------------


def _lstm_cases():
    cases = []
    for n, h_in, h in [(2, 3, 4), (1, 2, 1), (5, 4, 6)]:
        torch.manual_seed(n + h)
        cell = nn.LSTMCell(h_in, h)
        x_t, h_prev, c_prev = torch.randn(n, h_in), torch.randn(n, h), torch.randn(n, h)
        with torch.no_grad():
            truth = cell(x_t, (h_prev, c_prev))  # (h_t, c_t), (N, H) each
        cases.append(Case(f"N={n}, H_in={h_in}, H={h}", (x_t, h_prev, c_prev, cell), truth))
    return cases


@dataclass
class Exercise:
    lesson: str
    task: str
    cases: Callable[[], list[Case]]
    check: Callable | None = None  # (function, case) -> None or raise Mismatch; default: compare results


EXERCISES = {
    "rnn_step": Exercise(
        "lesson1",
        "one step h_t = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh) with rnn's own weights, (N, H)",
        _rnn_step_cases,
    ),
    "per_sequence_scores": Exercise(
        "lesson2",
        "scores (N, classes) from the top layer's final states, forward then backward side by side",
        _per_sequence_cases,
    ),
    "run_in_chunks": Exercise(
        "lesson3",
        "the output (L, N, H) of the sequence run chunk by chunk, h carried and detached",
        _chunk_cases,
        _check_chunks,
    ),
    "pad_collate": Exercise(
        "lesson4",
        "(padded (L_max, N, H_in), lengths (N,), labels (N,)) from a list of (sequence, label) pairs",
        _collate_cases,
        _check_collate,
    ),
    "masked_loss": Exercise(
        "lesson4",
        "the mean cross-entropy over the real steps only of a padded (L_max, N, V) batch",
        _masked_loss_cases,
    ),
    "lstm_step": Exercise(
        "lesson5",
        "(h_t, c_t) of one LSTM step from the cell's weights, as nn.LSTMCell computes it",
        _lstm_cases,
    ),
}


@dataclass
class ExerciseReport:
    """One line per size tried, then a summary; `passed` when every size is right."""

    exercise: str
    outcomes: list[Outcome]

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.status == RIGHT for o in self.outcomes)

    @property
    def tried(self) -> bool:
        return not any(o.status == UNTRIED for o in self.outcomes)

    def summary(self) -> str:
        if not self.tried:
            return f"{self.exercise}: not tried yet. Write the body in place of the ..., then run again."
        right = sum(o.status == RIGHT for o in self.outcomes)
        if self.passed:
            return f"{self.exercise}: right on all {right} sizes, as PyTorch computes it."
        return f"{self.exercise}: right on {right} of {len(self.outcomes)} sizes."

    def __repr__(self) -> str:
        if not self.tried:
            return self.summary()
        marks = {RIGHT: "✓ right", WRONG: "✗ wrong"}
        lines = [
            f"{marks[o.status]:<8} {o.name}" + (f": {o.message}" if o.message else "") for o in self.outcomes
        ]
        return "\n".join([*lines, self.summary()])


def _untried(function) -> bool:
    return function is Ellipsis or function is None


def check_exercise(name: str, function) -> ExerciseReport:
    """Run the learner's `function` on every size of exercise `name` and compare with PyTorch."""
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; known: {sorted(EXERCISES)}")
    exercise = EXERCISES[name]
    if _untried(function):
        return ExerciseReport(name, [Outcome(name, UNTRIED, "")])
    if not callable(function):
        return ExerciseReport(
            name, [Outcome(name, WRONG, f"pass your function itself, not {_kind(function)}")]
        )
    outcomes = []
    for case in exercise.cases():
        try:
            if exercise.check is not None:
                exercise.check(function, case)
            else:
                compare(_returned(function(*case.args)), case.truth)
        except ReturnedNone:  # the body is still `...` (not tried yet), or it forgot to return
            if not outcomes:
                return ExerciseReport(name, [Outcome(name, UNTRIED, "")])
            outcomes.append(
                Outcome(case.name, WRONG, "your function returned None: did it forget to return?")
            )
        except Mismatch as reason:
            outcomes.append(Outcome(case.name, WRONG, str(reason)))
        except Exception as error:  # the learner's code failed: say how, as PyTorch said it
            first = str(error).splitlines()[0] if str(error) else ""
            outcomes.append(
                Outcome(case.name, WRONG, f"your function raised {type(error).__name__}: {first}")
            )
        else:
            outcomes.append(Outcome(case.name, RIGHT, ""))
    return ExerciseReport(name, outcomes)

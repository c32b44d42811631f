"""Check a learner's predictions against what PyTorch did: right or wrong, with the reason, never the answer
before they have tried.

In a lesson the learner writes `predicted_x = ...`, fills in the `...`, and runs

    check_predictions("lesson1", predicted_x=(predicted_x, truth), ...)

The reasons live here, not in the notebook, so the notebook's source does not give the answers away.
"""

import math
import textwrap
from dataclasses import dataclass

import torch

RIGHT, WRONG, UNTRIED = "right", "wrong", "not tried yet"

# lesson -> prediction name -> why the truth is what it is (shown once the learner has tried).
REASONS = {
    "lesson1": {
        "predicted_output_shape": "With batch_first=True the output is (N, L, D*H): every step of every "
        "sequence, with the top layer's H features.",
        "predicted_h_n_shape": "h_n is (D*num_layers, N, H) whatever batch_first says: one row per layer "
        "and direction, then the batch.",
        "predicted_weight_ih_l1_shape": "Layer 1 reads layer 0's output, which has hidden_size features, "
        "so weight_ih_l1 is (H, H), not (H, input_size).",
    },
    "lesson2": {
        "predicted_output_shape": "batch_first=True puts N first; the last axis holds both directions side "
        "by side, D*H = 2*5.",
        "predicted_h_n_shape": "h_n is (num_layers*D, N, H) = (2*2, 4, 5): batch_first never moves its axes.",
        "predicted_backward_top": "The backward direction reads the sequence from its end, so it finishes at "
        "t = 0: its final state is output[:, 0, H:] (batch first, second half of the last axis).",
    },
    "lesson3": {
        "predicted_states_shape": "hidden_states keeps output of an unbatched run: one row per step (T), "
        "one column per unit (H).",
        "predicted_radius": "make_rnn rescales W_hh so that its largest absolute eigenvalue is the radius "
        "you ask for.",
        "predicted_memory_fades": "With a radius well below 1 the echo (the impulse run minus the silent "
        "run) shrinks geometrically: after 30 steps almost nothing of the input is left.",
        "predicted_gradient_vanishes": "Each step back multiplies by diag(tanh') W_hh, with tanh' <= 1 and "
        "a spectral radius of 0.5: over 39 steps the product shrinks geometrically, far below 1e-3.",
    },
    "lesson4": {
        "predicted_data": "data reads the sorted batch column by column: step 0 of all three (longest "
        "first), then step 1 of the two still running, then step 2 of the longest.",
        "predicted_batch_sizes": "batch_sizes[t] counts the sequences still running at step t: lengths "
        "3, 1, 2 give 3, 2, 1.",
        "predicted_sorted_indices": "sorted_indices lists the original index in each slot, longest first: "
        "the length-3 sequence (0), the length-2 one (2), the length-1 one (1).",
        "predicted_out_last_is_zero_for": "After pad_packed_sequence, position -1 is padding (zeros) for "
        "every sequence shorter than the longest: here the ones of lengths 1 and 2.",
    },
    "lesson5": {
        "predicted_logits_shape": "The head is applied at every step: (L, N, H) in, (L, N, vocab) out.",
        "predicted_loss_input_shape": "cross_entropy wants (examples, classes): every step of every "
        "sequence is one example, so (L*N, vocab).",
        "predicted_h_n_is_tuple": "nn.LSTM returns (output, (h_n, c_n)): its state is a pair, where nn.RNN "
        "and nn.GRU return one tensor.",
        "predicted_dropout_changes_eval": "Dropout between layers acts only in train(); in eval() two calls "
        "on the same input give the same output.",
    },
}


# Predictions that name a set of things ("which rows"): [2, 1] and {1, 2} are as right as [1, 2].
UNORDERED = {"predicted_out_last_is_zero_for"}
# Predictions of where a state sits in `output`: the same numbers read from h_n answer another question.
IN_OUTPUT = {"predicted_backward_top"}
WIDTH = 100  # the plain-text report wraps between words at this width


@dataclass
class Verdict:
    """One prediction judged: its name, right / wrong / not tried yet, and what to tell the learner."""

    name: str
    status: str
    message: str


def _show(value) -> str:
    if isinstance(value, torch.Size):
        return str(tuple(value))
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return repr(value)


def _is_shape(value) -> bool:
    return isinstance(value, (tuple, list, torch.Size)) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )


def _kind_problem(guess, truth) -> str | None:
    """Why `guess` cannot be compared with `truth` (a hint about the form, not the answer), or None."""
    if isinstance(truth, bool):
        return None if isinstance(guess, bool) else "answer True or False"
    if isinstance(truth, torch.Tensor):
        return None if isinstance(guess, torch.Tensor) else "answer with a tensor, e.g. output[...]"
    if isinstance(truth, (int, float)):
        ok = isinstance(guess, (int, float)) and not isinstance(guess, bool)
        return None if ok else "answer with a number"
    if isinstance(truth, list):  # a list of indices, before the shapes: [1, 2] is no shape
        return None if isinstance(guess, (list, tuple, set)) else "answer with a list such as [1, 2]"
    if isinstance(truth, torch.Size) or _is_shape(truth):
        return None if _is_shape(guess) else "answer with a shape, a tuple of whole numbers such as (2, 3)"
    return None


def same(guess, truth) -> bool:
    """Whether a prediction matches the truth: shapes and lists by value, numbers and tensors closely."""
    if isinstance(truth, torch.Tensor):
        return guess.shape == truth.shape and torch.allclose(guess.float(), truth.float(), atol=1e-6)
    if isinstance(truth, bool):
        return guess is truth
    if isinstance(truth, (int, float)):
        return math.isclose(guess, truth, rel_tol=1e-3, abs_tol=1e-9)
    if isinstance(guess, set) or isinstance(truth, set):
        return set(guess) == set(truth)
    if isinstance(truth, (tuple, list, torch.Size)):
        return list(guess) == list(truth)
    return guess == truth


def _same_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def judge(name: str, guess, truth, reason: str) -> Verdict:
    """Right or wrong with the reason; for an untouched `...`, only say it is not tried yet."""
    if guess is Ellipsis:
        return Verdict(name, UNTRIED, "replace the ... with your prediction, then run the cell again")
    problem = _kind_problem(guess, truth)
    if problem is not None:
        return Verdict(name, WRONG, f"you wrote {_show(guess)}: {problem}")
    if name in UNORDERED and isinstance(truth, list):
        guess, truth = set(guess), set(truth)
    if name in IN_OUTPUT and isinstance(guess, torch.Tensor) and _same_storage(guess, truth):
        return Verdict(name, WRONG, "that reads the state from h_n; say where it sits in output. " + reason)
    if same(guess, truth):
        return Verdict(name, RIGHT, reason)
    if isinstance(truth, torch.Tensor):
        return Verdict(name, WRONG, f"your tensor is not the one PyTorch computed. {reason}")
    return Verdict(name, WRONG, f"you said {_show(guess)}, PyTorch gives {_show(truth)}. {reason}")


@dataclass
class Report:
    """Every verdict of one self-check; shows itself as one line per prediction and a summary."""

    verdicts: list[Verdict]

    def count(self, status: str) -> int:
        return sum(v.status == status for v in self.verdicts)

    @property
    def all_right(self) -> bool:
        return self.count(RIGHT) == len(self.verdicts)

    def summary(self) -> str:
        n = len(self.verdicts)
        if self.all_right:
            return f"All {n} predictions right."
        if self.count(UNTRIED) == n:
            return f"{n} predictions to make: fill in each ... above, then run the cell again."
        parts = [f"{self.count(RIGHT)} of {n} right", f"{self.count(WRONG)} wrong"]
        if self.count(UNTRIED):
            parts.append(f"{self.count(UNTRIED)} not tried yet")
        return ", ".join(parts) + "."

    def __repr__(self) -> str:
        marks = {RIGHT: "✓ right", WRONG: "✗ wrong", UNTRIED: "… not tried yet"}
        lines = [
            textwrap.fill(f"{marks[v.status]:<16} {v.name}: {v.message}", WIDTH, subsequent_indent=" " * 17)
            for v in self.verdicts
        ]  # wrapped between words: the output area would otherwise cut lines anywhere
        return "\n".join([*lines, self.summary()])


def check_predictions(lesson: str, **predictions) -> Report:
    """Judge each `name=(your prediction, the truth)` with the reason kept here for that lesson."""
    if lesson not in REASONS:
        raise ValueError(f"unknown lesson {lesson!r}; known: {sorted(REASONS)}")
    verdicts = []
    for name, pair in predictions.items():
        if name not in REASONS[lesson]:
            raise ValueError(f"{lesson} has no prediction named {name!r}; known: {sorted(REASONS[lesson])}")
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"{name} must be given as (your prediction, the truth)")
        verdicts.append(judge(name, *pair, REASONS[lesson][name]))
    return Report(verdicts)

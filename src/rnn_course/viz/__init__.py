"""Computations, kept figures and ipywidgets explorers for the shape, hidden-state and packing lessons."""

from rnn_course.viz.hidden import gradient_norms, hidden_states, make_rnn, make_signal, spectral_radius
from rnn_course.viz.packing import last_states, packing_layout
from rnn_course.viz.shapes import ShapeConfig, shape_report

__all__ = [
    "ShapeConfig",
    "gradient_norms",
    "hidden_states",
    "last_states",
    "make_rnn",
    "make_signal",
    "packing_layout",
    "shape_report",
    "spectral_radius",
]

"""An open course on PyTorch's nn.RNN."""

__version__ = "0.1.0"

"""Run tiny tensor work on one thread: on a busy machine, extra threads for 32x32 matrices only wait."""

from contextlib import contextmanager

import torch


@contextmanager
def one_thread():
    """Use a single intra-op thread inside the block, then restore the previous setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

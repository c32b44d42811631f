"""Course-wide reports read from graded notebooks."""

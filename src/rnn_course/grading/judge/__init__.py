"""What a test cell checks and how it is judged: pure code that runs in the kernel and in the grader."""

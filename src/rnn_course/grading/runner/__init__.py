"""The parallel autograde runner: plan a run, grade in workers, record in one process."""

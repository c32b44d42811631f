"""The instructor workflow, one job per module: release, feedback, export, reset, demo."""

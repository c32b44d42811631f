"""The grading modules a learner's kernel imports: the sandbox mounts these, and no other grading code."""

KERNEL_SIDE = ("__init__", "checks", "cases", "encoding", "forbid", "sandbox_site", "fork_server", "syscalls")

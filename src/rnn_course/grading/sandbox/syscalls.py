"""The system calls a graded kernel may not make, as a seccomp filter built with libseccomp (pyseccomp).

A kernel runs Python and threads, and nothing else: it cannot start a program (`execve`), fork a process,
make or join a namespace, trace or read another process, mount anything, or make memory the sandbox cannot
see (memfd, SysV shared memory and semaphores, POSIX message queues). Such calls fail with EPERM, so the
learner's code gets an ordinary `PermissionError`. The fork server loads the filter into each kernel it
forks, after the kernel's own start-up and before the first cell; a filter cannot be removed. The start-up
has already made threads (ZeroMQ's, the kernel's I/O, heartbeat and control threads, any of which can be
handed Python to run), so the filter is loaded into every thread of the process at once (TSYNC), and every
thread made after inherits it.
"""

from __future__ import annotations

import errno

import pyseccomp as seccomp

CLONE_THREAD = 0x00010000
NAMESPACE_FLAGS = {  # clone() flags that make a new namespace
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
REFUSED = (
    # other programs and processes
    "execve", "execveat", "fork", "vfork",
    # namespaces, mounts and roots
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount", "fsconfig",
    "fspick", "move_mount", "open_tree", "mount_setattr",
    # other processes' memory and privileges
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "chmod", "fchmod",
    "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    # memory and state that outlive the kernel or escape its limits
    "memfd_create", "memfd_secret", "shmget", "shmat", "msgget", "msgsnd", "semget", "mq_open",
    "mq_timedsend",
    # the kernel's own machinery
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "keyctl", "add_key", "request_key",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "personality", "quotactl", "syslog",
)  # fmt: skip


def kernel_filter() -> seccomp.SyscallFilter:
    """The filter: allow everything but the calls above; threads may be made, processes may not."""
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    refuse = seccomp.ERRNO(errno.EPERM)
    for name in REFUSED:
        try:
            rules.add_rule(refuse, name)
        except (OSError, ValueError):
            pass  # a call this kernel or libseccomp does not know cannot be made either
    # clone() makes a thread when CLONE_THREAD is set; without it, a process. Namespaces never.
    rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    for flag in NAMESPACE_FLAGS.values():
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes the C library use clone().
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    return rules


def lock_down() -> None:
    """Load the filter into every thread of this process (no_new_privs must be set) and all made after."""
    rules = kernel_filter()
    rules.set_attr(seccomp.Attr.CTL_TSYNC, 1)  # every thread now, or the load fails: never half a process
    rules.load()

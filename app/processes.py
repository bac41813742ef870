"""Whether a process of this host is still running."""

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie counts as gone: it has exited, and only
    waits for a parent that may never reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True  # no /proc (macOS): the signal's answer stands

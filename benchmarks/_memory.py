"""This process's memory from /proc (Linux), for the benchmark scripts: the resident size now,
and the kernel's peak resident size (VmHWM), which can be reset before a step."""
from __future__ import annotations

import os

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Resident size of this process now, in MB (/proc/self/statm)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2 ** 20


def reset_hwm() -> bool:
    """Reset the kernel's peak resident size of this process (``VmHWM``, Linux >= 4.0);
    False where that is not possible (then a sampled peak has to do)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def hwm_mb() -> float | None:
    """The kernel's peak resident size of this process since start or the last
    :func:`reset_hwm`, in MB; None where /proc does not say."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None

"""Resident memory of a whole process tree, for the benchmarks (Linux /proc)."""

from __future__ import annotations

import os


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (KiB)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError, StopIteration):
            continue
    return total

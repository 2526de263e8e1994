"""Give image-sized buffers back to the operating system as soon as they are freed.

glibc's malloc raises its mmap threshold to the size of the largest mapped block freed so far (up
to 32 MiB). After the first image, image-sized buffers therefore come from malloc's arenas, one
per thread, and a freed one stays in its thread's arena: a bulk call's 32 download threads each
keep an image's worth, whatever bulk_max_bytes_held allows at once (make bench, 32 images of
24 MiB under a 128 MiB cap: 411 MiB peak, all of it still resident after the call). With the
threshold pinned, every block of PINNED_THRESHOLD or more is a mapping of its own, unmapped when
freed, so the backend's memory follows the bytes the batch really holds.

This sets a process-wide malloc option of the PostgreSQL backend (what MALLOC_MMAP_THRESHOLD_
does): PostgreSQL's own allocations of that size are rare (large sorts and hashes) and are
mapped the same way. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # <malloc.h>
PINNED_THRESHOLD = 1024 * 1024

_pinned: bool | None = None


def pin_mmap_threshold() -> bool:
    """Pin glibc's mmap threshold at PINNED_THRESHOLD once per process; True when it is."""
    global _pinned
    if _pinned is None:
        try:
            mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
        except (OSError, AttributeError):
            _pinned = False
        else:
            mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            mallopt.restype = ctypes.c_int
            _pinned = bool(mallopt(M_MMAP_THRESHOLD, PINNED_THRESHOLD))
    return _pinned

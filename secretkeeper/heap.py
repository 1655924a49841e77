"""The C heap's settings for a scan, which reads one buffer per file (or blob) and drops it.

glibc serves an allocation above its mmap threshold (128 KB, raised only as such blocks are freed) with a
fresh mapping, and gives the top of its heap back above the trim threshold: the kernel then zeroes new
pages on every read of a large file, then unmaps them. Keeping buffers up to the largest file scanned on
the heap lets each read reuse the memory the previous one freed (on the files benchmark: 10% fewer page
faults, a quarter less system time). Elsewhere (another libc, no libc found) nothing changes.
"""

from __future__ import annotations

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit
_applied = 0


def keep_buffers_on_heap(largest: int) -> None:
    """Serve buffers of up to `largest` bytes (capped at glibc's 32 MB) from the heap, and keep up to
    twice that free in it rather than returning it to the kernel after each file."""
    global _applied
    limit = min(max(largest, 128 * 1024), _MMAP_THRESHOLD_MAX)
    if limit <= _applied:
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no tunable mallopt), or no C library to load
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    if mallopt(_M_MMAP_THRESHOLD, limit) and mallopt(_M_TRIM_THRESHOLD, 2 * limit):
        _applied = limit

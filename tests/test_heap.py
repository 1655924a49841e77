"""The C heap settings a scan applies before reading files (secretkeeper.heap)."""

from __future__ import annotations

import platform

import pytest

from secretkeeper import heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt tuning applies to glibc only")
def test_buffers_up_to_the_largest_file_stay_on_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_applied", 0)
    heap.keep_buffers_on_heap(10 * 1024 * 1024 + 1)
    assert heap._applied == 10 * 1024 * 1024 + 1
    heap.keep_buffers_on_heap(1024)  # a later, smaller scan never lowers what an earlier one set
    assert heap._applied == 10 * 1024 * 1024 + 1
    heap.keep_buffers_on_heap(1 << 40)  # capped at glibc's ceiling: a larger value would be refused
    assert heap._applied == 32 * 1024 * 1024


def test_without_a_tunable_libc_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    def no_libc(_name: object) -> object:
        raise OSError("no C library")

    monkeypatch.setattr(heap, "_applied", 0)
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    heap.keep_buffers_on_heap(4 * 1024 * 1024)
    assert heap._applied == 0

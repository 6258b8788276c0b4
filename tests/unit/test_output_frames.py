"""A container's output as the Engine API frames it, read from bytes however they arrive."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from runners.docker.streams import FRAME_HEADER, OutputFrames

WRITES = st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=40)), max_size=12)


def framed(writes: list[tuple[int, bytes]]) -> bytes:
    return b"".join(FRAME_HEADER.pack(kind, len(data)) + data for kind, data in writes)


@given(writes=WRITES, cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=8))
def test_frames_come_out_whole_wherever_the_bytes_are_cut(
    writes: list[tuple[int, bytes]], cuts: list[int]
) -> None:
    data = framed(writes)
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    frames = OutputFrames()
    got = [frame for a, b in itertools.pairwise(points) for frame in frames.feed(data[a:b])]
    assert got == writes


def test_a_burst_of_frames_in_one_chunk_comes_out_at_once() -> None:
    writes = [(1, b"START RequestId: 1\n"), (2, b"[INFO] (rapid) ...\n"), (1, b"END RequestId: 1\n")]
    assert OutputFrames().feed(framed(writes)) == writes

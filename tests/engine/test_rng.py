"""Random streams: partitioning, chunk invariance, independence and reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.engine import BatchGenerator, Block, RandomStreams, partition


def _draw_all(streams: RandomStreams, name: str = "x", month: int = 3) -> dict[str, np.ndarray]:
    """random, binomial and poisson draws, in that order, from one monthly generator."""
    R = streams.replicates
    g = streams.month(name, month)
    rows = np.arange(R, dtype=float)[:, None]
    n = (np.arange(R * 3).reshape(R, 3) % 7).astype(np.int64)  # row-dependent trial counts
    p = 0.1 + 0.8 * (rows / max(R, 1))  # [R, 1], broadcast against n
    lam = 0.5 + rows + np.arange(4)  # [R, 4]
    return {"random": g.random(5), "binomial": g.binomial(n, p), "poisson": g.poisson(lam)}


@given(st.integers(1, 5000), st.integers(1, 2000))
def test_partition_covers_every_replicate_once(replicates: int, block_size: int) -> None:
    """partition() tiles 0..R-1 with consecutive blocks of block_size, only the last shorter."""
    blocks = partition(replicates, block_size)
    covered = np.concatenate([np.arange(b.start, b.start + b.size) for b in blocks])
    np.testing.assert_array_equal(covered, np.arange(replicates))
    assert [b.index for b in blocks] == list(range(len(blocks)))
    assert all(b.size == block_size for b in blocks[:-1])
    assert 1 <= blocks[-1].size <= block_size


@pytest.mark.parametrize("replicates, block_size", [(0, 10), (-3, 10), (10, 0), (10, -1)])
def test_partition_rejects_empty_runs_and_blocks(replicates: int, block_size: int) -> None:
    """partition() refuses fewer than one replicate or a block size below one."""
    with pytest.raises(ValueError):
        partition(replicates, block_size)


def test_batch_rows_match_single_blocks_with_identical_parameters() -> None:
    """A two-block batch yields exactly each block's own rows (random, binomial, poisson)."""
    blocks = [Block(index=0, start=0, size=5), Block(index=1, start=5, size=2)]
    R = 7
    n = (np.arange(R * 3).reshape(R, 3) % 9).astype(np.int64)
    p = np.linspace(0.05, 0.95, R)[:, None]
    lam = np.linspace(0.2, 30.0, R * 4).reshape(R, 4)

    g = RandomStreams(5, blocks).month("workforce", 7)
    batch = (g.random(2, 3), g.binomial(n, p), g.poisson(lam))

    parts = []
    for b in blocks:
        s = slice(b.start, b.start + b.size)
        gb = RandomStreams(5, [b]).month("workforce", 7)
        parts.append((gb.random(2, 3), gb.binomial(n[s], p[s]), gb.poisson(lam[s])))
    for k in range(3):
        np.testing.assert_array_equal(batch[k], np.concatenate([part[k] for part in parts]))


def test_block_rows_do_not_depend_on_neighbouring_blocks() -> None:
    """Block 1's rows are the same whether it is batched with block 0, with block 2, or alone."""
    b0, b1, b2 = (Block(index=i, start=3 * i, size=3) for i in range(3))
    alone = RandomStreams(2, [b1]).month("uptake", 0).random(4)
    with_left = RandomStreams(2, [b0, b1]).month("uptake", 0).random(4)[3:]
    with_right = RandomStreams(2, [b1, b2]).month("uptake", 0).random(4)[:3]
    np.testing.assert_array_equal(alone, with_left)
    np.testing.assert_array_equal(alone, with_right)


def test_random_shape_has_replicate_axis_first() -> None:
    """random(*tail) returns shape (R, *tail) for a multi-block batch."""
    g = RandomStreams(0, partition(10, 4)).month("x", 0)
    assert g.random().shape == (10,)
    assert g.random(3, 2).shape == (10, 3, 2)


def test_same_key_gives_same_numbers() -> None:
    """Two independently built streams with the same seed, blocks, name and month agree exactly."""
    blocks = partition(9, 4)
    a = _draw_all(RandomStreams(123, blocks), "portfolio", 17)
    b = _draw_all(RandomStreams(123, partition(9, 4)), "portfolio", 17)
    for kind in a:
        np.testing.assert_array_equal(a[kind], b[kind])


def test_streams_differ_across_month_name_block_and_seed() -> None:
    """Changing any one of month, stream name, block index or seed changes the uniforms."""
    block = Block(index=0, start=0, size=50)

    def draws(seed: int = 1, name: str = "uptake", month: int = 4, index: int = 0) -> np.ndarray:
        return RandomStreams(seed, [Block(index, 0, block.size)]).month(name, month).random(8)

    reference = draws()
    for changed in (draws(month=5), draws(name="workforce"), draws(index=1), draws(seed=2)):
        assert not np.array_equal(reference, changed)
        # independent uniforms agree only by coincidence: no element should match
        assert not np.any(reference == changed)


def test_stream_key_is_stable_and_name_specific() -> None:
    """A stream's key depends only on its name (adding streams never shifts others)."""
    assert RandomStreams.stream_key("uptake") == RandomStreams.stream_key("uptake")
    assert RandomStreams.stream_key("uptake") != RandomStreams.stream_key("workforce")


def test_negative_seed_is_rejected() -> None:
    """A negative run seed is an error, not a silently different stream."""
    with pytest.raises(ValueError):
        RandomStreams(-1, partition(3))


def test_copies_give_every_copy_the_rows_the_blocks_give_alone() -> None:
    """A batch of three copies of two blocks: each copy's uniforms, binomials and Poisson
    counts are exactly those of the blocks drawn alone, even with different parameters."""
    blocks = partition(7, 4)
    alone = RandomStreams(11, blocks).month("workforce", 3)
    batch = RandomStreams(11, blocks, copies=3).month("workforce", 3)
    assert batch.replicates == 21
    u = batch.random(2)
    np.testing.assert_array_equal(u, np.tile(alone.random(2), (3, 1)))
    n = np.arange(21)[:, None] % 5 + np.array([[0, 3]])
    p = np.linspace(0.1, 0.9, 21)[:, None] * np.ones((1, 2))
    lam = np.linspace(0.5, 3.0, 21)
    got_n, got_lam, got_u = batch.binomial(n, p), batch.poisson(lam), batch.random(3)
    for c in range(3):
        rows = slice(7 * c, 7 * c + 7)
        g = RandomStreams(11, blocks).month("workforce", 3)
        g.random(2)
        np.testing.assert_array_equal(got_n[rows], g.binomial(n[rows], p[rows]))
        np.testing.assert_array_equal(got_lam[rows], g.poisson(lam[rows]))
        np.testing.assert_array_equal(got_u[rows], g.random(3))


@pytest.mark.parametrize("copies", [1, 3])
def test_skipped_draws_leave_the_later_draws_unchanged(copies: int) -> None:
    """skip(*tail) moves a stream past exactly the uniforms random(*tail) would draw, whether
    the stream is still unopened, already drawn from, or (copies) split into per-copy twins."""
    blocks = partition(7, 4)

    def stream() -> BatchGenerator:
        return RandomStreams(11, blocks, copies=copies).month("workforce", 3)

    R = 7 * copies
    n = np.arange(R)[:, None] % 5 + np.array([[0, 3]])
    p = np.linspace(0.1, 0.9, R)[:, None] * np.ones((1, 2))
    drawn, skipped = stream(), stream()
    drawn.random(2, 3)
    skipped.skip(2, 3)  # unopened: the generators open already moved on
    np.testing.assert_array_equal(drawn.random(4), skipped.random(4))
    drawn.random()
    skipped.skip()  # opened
    np.testing.assert_array_equal(drawn.binomial(n, p), skipped.binomial(n, p))
    drawn.random(5)
    skipped.skip(5)  # after a binomial: per-copy twins when copies > 1
    np.testing.assert_array_equal(drawn.random(3), skipped.random(3))
    skipped.skip(0)  # nothing to skip
    np.testing.assert_array_equal(drawn.poisson(p[:, 0]), skipped.poisson(p[:, 0]))


def test_a_skip_keeps_a_half_used_32_bit_value() -> None:
    """A generator holding half of a 64-bit output for its next 32-bit draw still holds it
    after a skip, as it would after drawing doubles."""
    drawn, skipped = (RandomStreams(4, partition(3)).month("x", 1) for _ in range(2))
    for g in (drawn, skipped):
        g._generators[0].integers(0, 2**31, dtype=np.int32)  # leaves half an output held
    drawn.random(6)
    skipped.skip(6)
    for g in (drawn, skipped):
        assert g._generators[0].bit_generator.state["has_uint32"] == 1
    np.testing.assert_array_equal(drawn._generators[0].integers(0, 2**31, size=4, dtype=np.int32),
                                  skipped._generators[0].integers(0, 2**31, size=4,
                                                                  dtype=np.int32))

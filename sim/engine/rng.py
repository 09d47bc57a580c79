"""Chunk-invariant random streams.

Every draw of a run comes from a numpy ``Generator`` whose ``SeedSequence`` is keyed by
``(run seed, replicate block, stream name, month)`` — optionally preceded by a key prefix, which
sweeps use to give each design point its own streams. Consequences:

* a replicate's numbers depend on the seed, its block and the month, never on which process
  or machine simulated the block, nor on which other blocks shared its arrays;
* each named stream (one per mechanism) is fresh every month, so two scenarios run with the
  same seed share common random numbers mechanism by mechanism even when one of them draws
  more numbers than the other in some month.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np

__all__ = ["Block", "BatchGenerator", "MonthStreams", "RandomStreams", "partition",
           "DEFAULT_BLOCK_SIZE"]

DEFAULT_BLOCK_SIZE = 1000
"""Replicates per random-stream block; fixed so results do not depend on how work is split."""


@dataclass(frozen=True)
class Block:
    """A contiguous run of replicates that shares one random stream per mechanism.

    Attributes
    ----------
    index : int
        Block number, 0-based; part of every stream key.
    start : int
        Index of the block's first replicate in the run.
    size : int
        Number of replicates in the block.
    """

    index: int
    start: int
    size: int


def partition(replicates: int, block_size: int = DEFAULT_BLOCK_SIZE) -> list[Block]:
    """Split ``replicates`` into blocks of ``block_size`` (the last may be shorter)."""
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, got {block_size}")
    return [
        Block(index=i, start=start, size=min(block_size, replicates - start))
        for i, start in enumerate(range(0, replicates, block_size))
    ]


_Opener = Callable[[], list[np.random.Generator]]
"""Opens a stream's generators, one per block (called once, on the stream's first draw)."""


def _advance(g: np.random.Generator, draws: int) -> None:
    """Move ``g`` on by ``draws`` 64-bit steps, as that many double-precision uniforms would,
    keeping any half-used 32-bit value it holds (drawing doubles does not touch it)."""
    bit = g.bit_generator
    assert isinstance(bit, np.random.PCG64)  # the streams' bit generator (RandomStreams.month)
    held = bit.state
    bit.advance(draws)
    if held["has_uint32"]:
        bit.state = {**bit.state, "has_uint32": held["has_uint32"], "uinteger": held["uinteger"]}


class BatchGenerator:
    """Draws for a batch of one or more blocks, concatenated along the replicate axis.

    Each block's rows come from that block's own generator, so a batch of several blocks
    yields exactly the rows that the blocks would yield one at a time. With ``copies`` > 1 the
    batch holds that many copies of the blocks one after another (sweep design points sharing
    common random numbers): every copy gets exactly the rows the blocks would give alone.
    """

    def __init__(self, generators: Sequence[np.random.Generator] | _Opener,
                 sizes: Sequence[int], copies: int = 1):
        # A callable opens the generators when they are first drawn from: a stream whose
        # draws are all skipped (:meth:`skip`) is never opened.
        self._opener = generators if callable(generators) else None
        self._opened: list[np.random.Generator] | None = (
            None if callable(generators) else list(generators))
        self._skipped = 0  # draws per row skipped before the generators were opened
        self._sizes = [int(size) for size in sizes]
        self._bounds = [0, *accumulate(self._sizes)]
        self.copies = int(copies)
        self.replicates = self._bounds[-1] * self.copies
        self._twins: list[list[np.random.Generator]] | None = None  # per copy, once diverged

    @property
    def _generators(self) -> list[np.random.Generator]:
        """The blocks' generators, opened (and moved past any skipped draws) on first use."""
        if self._opened is None:
            assert self._opener is not None
            self._opened = self._opener()
            if self._skipped:
                for g, size in zip(self._opened, self._sizes, strict=True):
                    _advance(g, size * self._skipped)
        return self._opened

    def skip(self, *tail: int) -> None:
        """Move past the draws ``random(*tail)`` would make, without making them: for uniforms
        nobody would read. Later draws are exactly those that follow the skipped ones: each
        uniform is one 64-bit step of the generator, and the steps are jumped over at once."""
        per_row = int(np.prod(tail, dtype=np.int64))
        if per_row == 0:
            return
        if self._opened is None and self._twins is None:
            self._skipped += per_row
            return
        for generators in (self._twins if self._twins is not None else [self._generators]):
            for g, size in zip(generators, self._sizes, strict=True):
                _advance(g, size * per_row)

    def _slices(self) -> list[slice]:
        return [slice(int(a), int(b))
                for a, b in zip(self._bounds[:-1], self._bounds[1:], strict=True)]

    def random(self, *tail: int) -> np.ndarray:
        """Uniform [0, 1) draws of shape ``(R, *tail)``: drawn once and repeated per copy while
        the copies' generators are in step."""
        if self._twins is not None:
            return self._per_copy(lambda g, rows: g.random((rows, *tail)))
        rows = int(self._bounds[-1])
        if len(self._generators) == 1:
            one = self._generators[0].random((rows, *tail))
        else:
            one = np.empty((rows, *tail))
            for g, s in zip(self._generators, self._slices(), strict=True):
                g.random(out=one[s])  # row slices of a C-ordered array are contiguous
        if self.copies == 1:
            return one
        return np.tile(one, (self.copies,) + (1,) * len(tail))

    def _draw_blocks(self, generators: Sequence[np.random.Generator], draw: Any,
                     *arrays: np.ndarray) -> np.ndarray:
        """``draw(generator, rows, *row slices)`` for every block, concatenated."""
        if len(generators) == 1:
            return draw(generators[0], self._sizes[0], *arrays)
        return np.concatenate([draw(g, s.stop - s.start, *(a[s] for a in arrays))
                               for g, s in zip(generators, self._slices(), strict=True)])

    def _per_copy(self, draw: Any, *arrays: np.ndarray) -> np.ndarray:
        """Draws whose use of the generator differs by row: from here on every copy draws from
        its own twin of the generators (a copy of their state now), so each copy still gets the
        rows it would get alone."""
        if self._twins is None:
            self._twins = [self._generators]
            for _ in range(self.copies - 1):
                twins = []
                for g in self._generators:
                    bit = type(g.bit_generator)()
                    bit.state = g.bit_generator.state
                    twins.append(np.random.Generator(bit))
                self._twins.append(twins)
        rows = int(self._bounds[-1])
        return np.concatenate([
            self._draw_blocks(twins, draw, *(a[c * rows:(c + 1) * rows] for a in arrays))
            for c, twins in enumerate(self._twins)])

    def binomial(self, n: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Binomial counts; ``n`` and ``p`` broadcast to a shape whose first axis is R."""
        n, p = np.broadcast_arrays(n, p)
        if self.copies == 1:
            return self._draw_blocks(self._generators, lambda g, rows, n_, p_: g.binomial(n_, p_),
                                     n, p)
        return self._per_copy(lambda g, rows, n_, p_: g.binomial(n_, p_), n, p)

    def poisson(self, lam: np.ndarray) -> np.ndarray:
        """Poisson counts; ``lam`` has the replicate axis first."""
        if self.copies == 1:
            return self._draw_blocks(self._generators, lambda g, rows, lam_: g.poisson(lam_), lam)
        return self._per_copy(lambda g, rows, lam_: g.poisson(lam_), lam)


class RandomStreams:
    """Named, monthly, per-block random streams for one batch of a run.

    Parameters
    ----------
    seed : int
        The run's seed (non-negative).
    blocks : sequence of Block
        The blocks this batch simulates, in replicate order.
    key_prefix : sequence of int, optional
        Non-negative integers put before ``(block, stream, month)`` in every spawn key. Empty
        (the default) gives the streams of a plain run; a sweep passes ``(point index,)`` so
        that each design point has streams of its own, whoever simulates it.
    copies : int, optional
        The batch holds this many copies of ``blocks`` one after another, all with the same
        streams (sweep design points under common random numbers simulated together).
    """

    def __init__(self, seed: int, blocks: Sequence[Block], key_prefix: Sequence[int] = (),
                 copies: int = 1):
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if any(int(k) < 0 for k in key_prefix):
            raise ValueError(f"key_prefix must hold non-negative integers, got {tuple(key_prefix)}")
        self.seed = int(seed)
        self.blocks = list(blocks)
        self.key_prefix = tuple(int(k) for k in key_prefix)
        if copies < 1:
            raise ValueError(f"copies must be at least 1, got {copies}")
        self.copies = int(copies)
        self.replicates = sum(b.size for b in self.blocks) * self.copies

    @staticmethod
    def stream_key(name: str) -> int:
        """A stable integer for a stream name (so adding a stream never shifts the others)."""
        return zlib.crc32(name.encode("utf-8"))

    def month(self, name: str, month: int) -> BatchGenerator:
        """The generator set for stream ``name`` in ``month`` across this batch's blocks (its
        generators are opened when first drawn from)."""
        key = self.stream_key(name)

        def open_generators() -> list[np.random.Generator]:
            return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(
                        self.seed, spawn_key=(*self.key_prefix, b.index, key, month))))
                    for b in self.blocks]

        return BatchGenerator(open_generators, [b.size for b in self.blocks], self.copies)

    def at(self, month: int) -> MonthStreams:
        """The streams of ``month``: each named stream is opened once and shared by every
        use in that month (e.g. by each sub-step of a mechanism)."""
        return MonthStreams(self, month)


class MonthStreams:
    """One month's named streams of a batch (see :meth:`RandomStreams.at`)."""

    def __init__(self, streams: RandomStreams, month: int):
        self.streams = streams
        self.month = int(month)
        self.replicates = streams.replicates
        self._open: dict[str, BatchGenerator] = {}

    def __call__(self, name: str) -> BatchGenerator:
        """The generator set of stream ``name`` this month (the same object at every call)."""
        if name not in self._open:
            self._open[name] = self.streams.month(name, self.month)
        return self._open[name]

"""Weighted choice by table lookup: one random() call and one index per draw.

A table holds each item in proportion to its weight (largest-remainder rounding, every item with
a positive weight at least once), so `table[int(random() * len(table))]` draws from the weights
at about a tenth of the cost of `random.choices`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

TABLE_BITS = 12
TABLE_SIZE = 1 << TABLE_BITS  # a power of two: an index is one getrandbits(TABLE_BITS)


def weighted_table(items: Sequence[T], weights: Sequence[float], size: int = TABLE_SIZE) -> list[T]:
    if len(items) != len(weights):
        raise ValueError("items and weights differ in length")
    chosen = [(item, float(w)) for item, w in zip(items, weights, strict=True) if w > 0]
    if not chosen:
        raise ValueError("no item has a positive weight")
    size = max(size, len(chosen))
    total = sum(w for _, w in chosen)
    exact = [w / total * size for _, w in chosen]
    counts = [max(1, int(x)) for x in exact]
    # hand out the remaining slots by largest remainder; take back surplus from the largest counts
    missing = size - sum(counts)
    if missing > 0:
        order = sorted(range(len(chosen)), key=lambda i: (-(exact[i] - int(exact[i])), i))
        for i in order[:missing]:
            counts[i] += 1
    while sum(counts) > size:
        i = max(range(len(counts)), key=lambda j: (counts[j], -j))
        counts[i] -= 1
    table: list[T] = []
    for (item, _), count in zip(chosen, counts, strict=True):
        table.extend([item] * count)
    return table


def mapping_table(weights: dict, size: int = TABLE_SIZE) -> list:
    """Table from a {item: weight} mapping (as read from YAML)."""
    return weighted_table(list(weights), list(weights.values()), size)

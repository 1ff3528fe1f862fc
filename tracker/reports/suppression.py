"""Small-cell suppression for the tables given to partners.

A table is a set of cells. Each cell counts children in one combination of categories (for
example "female, unaccompanied"), and a category may also be "all" (a total along that
dimension), so a table carries its own row totals, column totals and grand total.

1. Primary suppression. A cell is withheld when any of its counts (say the children enrolled,
   or the children attending out of those enrolled) is below the threshold k, zero included.
2. Secondary suppression. A total is the sum of the cells of its row (or column). If exactly one
   value of that sum is withheld - one cell, or the total itself - it could be worked out by
   subtraction. So whenever a row or column has exactly one withheld value, one more of its
   published cells is withheld as well: the one with the fewest children (ties are broken by a
   fixed order of the categories). A cell whose value is already public anyway, because it is
   the only cell under a published total, is only chosen when there is nothing else; hiding it
   would not protect anything. This is repeated until every row and column either hides nothing
   or hides at least two values.
3. Coarse before fine. The grand total is decided first, then the totals by one category, then
   by two, and so on. A finer breakdown never changes the decision made for a coarser one: the
   same totals are published or withheld whatever breakdown a partner asks for, and a total
   withheld in one request is never published in another. Finer cells are withheld instead.

A category with no children at all is simply absent from the table: it is a known zero.

What this does not promise. The rule looks at one row or column at a time; combining several
rows and columns (and the fact that no count is negative) can sometimes narrow down, or in rare
cases work out, a withheld value. And when a row has one small cell and each of its published
cells is alone in its column (so its value equals a published column total, because the rest of
that column has nobody), hiding one of them does not help. Protecting the small cell would mean
withholding a coarser total, which step 3 forbids, so such a row is left as it is.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from numbers import Integral

__all__ = ["SMALL", "SECONDARY", "suppress", "withheld"]

SMALL = "small"          # primary suppression: a count below k
SECONDARY = "secondary"  # hidden so that a small count cannot be worked out by subtraction


def withheld(status: str | None) -> bool:
    """True when a cell's status means its counts must not be shown."""
    return status in (SMALL, SECONDARY)


def _order(key: tuple) -> tuple:
    """A total order on keys that does not depend on dict order or on comparing mixed types."""
    return tuple((0, "", "") if value is None else (1, type(value).__name__, repr(value)) for value in key)


def _validate(cells: Mapping[tuple, Sequence[int]], k: int) -> int | None:
    """Check the input; return the common key length (None for an empty table)."""
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"k must be an integer >= 1, not {k!r}")
    length = None
    for key, counts in cells.items():
        if not isinstance(key, tuple):
            raise ValueError(f"cell keys must be tuples, not {key!r}")
        if length is None:
            length = len(key)
        elif len(key) != length:
            raise ValueError(f"all cell keys must have the same length: {key!r} has {len(key)} positions, "
                             f"others have {length}")
        if isinstance(counts, (str, bytes)) or not isinstance(counts, Sequence) or len(counts) == 0:
            raise ValueError(f"cell {key!r}: counts must be a non-empty sequence of integers, not {counts!r}")
        for count in counts:
            if isinstance(count, bool) or not isinstance(count, Integral):
                raise ValueError(f"cell {key!r}: counts must be integers, not {count!r}")
            if count < 0:
                raise ValueError(f"cell {key!r}: counts cannot be negative, "
                             f"got {count!r} in {list(counts)!r}")
    return length


def suppress(cells: Mapping[tuple, Sequence[int]], k: int) -> dict[tuple, str | None]:
    """Return the status of every cell: None (published), SMALL or SECONDARY.

    ``cells`` maps keys of one common length to lists of counts; a None position in a key means
    "all values" along that dimension. A cell is SMALL when any of its counts is below ``k``.
    Cells are then decided level by level (level = number of concrete positions in the key), from
    the grand total down, and at each level published cells are marked SECONDARY until no line
    (the cells under one present total, along one dimension) has exactly one withheld value.
    The statuses of keys at levels <= L depend only on the cells at levels <= L.
    """
    depth = _validate(cells, k)
    if depth is None:
        return {}

    by_level: dict[int, list[tuple]] = defaultdict(list)
    for key in cells:
        by_level[sum(value is not None for value in key)].append(key)

    status: dict[tuple, str | None] = {}
    for level in range(depth + 1):
        keys = by_level.get(level, [])
        for key in keys:
            status[key] = SMALL if any(count < k for count in cells[key]) else None
        if level == 0 or not keys:
            continue
        _secondary(keys, cells, status)
    return status


def _secondary(keys: list[tuple], cells: Mapping[tuple, Sequence[int]],
               status: dict[tuple, str | None]) -> None:
    """Secondary suppression among the cells ``keys`` of one level (coarser statuses are fixed)."""
    # A line is identified by (marginal key, position). Only lines whose marginal is present count.
    lines: dict[tuple, list[tuple]] = defaultdict(list)
    lines_of: dict[tuple, list[tuple]] = defaultdict(list)
    for key in keys:
        for i, value in enumerate(key):
            if value is None:
                continue
            marginal = key[:i] + (None,) + key[i + 1:]
            if marginal in cells:
                line = (marginal, i)
                lines[line].append(key)
                lines_of[key].append(line)

    # A cell alone under a published marginal has a public value already: hiding it protects nothing.
    public_anyway = {members[0] for (marginal, _), members in lines.items()
                     if len(members) == 1 and not withheld(status[marginal])}
    rank = {key: (key in public_anyway, sum(cells[key]), _order(key)) for key in keys}
    # Lines are visited in a fixed order (not dict order), so the result is deterministic.
    ordered = sorted(lines, key=lambda line: (_order(line[0]), line[1]))
    position = {line: n for n, line in enumerate(ordered)}

    queue = list(range(len(ordered)))  # already a heap: sorted
    queued = set(queue)
    while queue:
        n = heapq.heappop(queue)
        queued.discard(n)
        line = ordered[n]
        marginal, _ = line
        members = lines[line]
        unknowns = sum(withheld(status[key]) for key in members) + withheld(status[marginal])
        if unknowns != 1:
            continue
        candidates = [key for key in members if not withheld(status[key])]
        if not candidates:
            continue  # nothing left to hide in this line
        chosen = min(candidates, key=rank.__getitem__)
        status[chosen] = SECONDARY
        for other in lines_of[chosen]:
            m = position[other]
            if m not in queued:
                queued.add(m)
                heapq.heappush(queue, m)

"""Small-cell suppression: hand-worked examples, bad input, and properties on random populations."""
from __future__ import annotations

import itertools
import random
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.reports.suppression import SECONDARY, SMALL, suppress, withheld

ALL = None
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


def level(key: tuple) -> int:
    return sum(value is not None for value in key)


def with_marginals(finest: dict[tuple, list[int]]) -> dict[tuple, list[int]]:
    """Every finest cell plus every marginal, built by summing (position by position)."""
    cells: dict[tuple, list[int]] = {}
    for key, counts in finest.items():
        for hidden in itertools.product((False, True), repeat=len(key)):
            marginal = tuple(None if h else value for h, value in zip(hidden, key))
            total = cells.setdefault(marginal, [0] * len(counts))
            for n, count in enumerate(counts):
                total[n] += count
    return cells


def lines(cells) -> dict[tuple, list[tuple]]:
    """(marginal, position) -> the keys of that line, for every marginal present in ``cells``."""
    found: dict[tuple, list[tuple]] = defaultdict(list)
    for key in cells:
        for i, value in enumerate(key):
            if value is not None:
                marginal = key[:i] + (None,) + key[i + 1:]
                if marginal in cells:
                    found[(marginal, i)].append(key)
    return found


def unknowns(status, marginal, members) -> int:
    return sum(withheld(status[key]) for key in members) + withheld(status[marginal])


# --- hand-worked examples -------------------------------------------------------------------------

def test_one_dimension_small_cell_gets_a_secondary():
    # male = 3 < 5 is SMALL. Publishing female = 27 next to the total 30 would give male = 30 - 27,
    # so female is withheld too (SECONDARY). The total is decided first and 30 >= 5: published.
    cells = {(ALL,): [30], ("female",): [27], ("male",): [3]}
    assert suppress(cells, 5) == {(ALL,): None, ("female",): SECONDARY, ("male",): SMALL}


def test_one_dimension_two_small_cells_need_no_secondary():
    # other = 3 and male = 3 are SMALL. The total line has two unknowns: 30 - 24 = 6 is only their
    # sum, so neither can be worked out and female = 24 stays published.
    cells = {(ALL,): [30], ("female",): [24], ("male",): [3], ("other",): [3]}
    assert suppress(cells, 5) == {(ALL,): None, ("female",): None, ("male",): SMALL, ("other",): SMALL}


def test_two_dimensions_rows_and_columns_are_protected():
    #              AF   SY   IQ | all
    #   female      2   30    8 |  40
    #   male        9   25   12 |  46
    #   all        11   55   20 |  86
    # k = 5. Every total is >= 5: published. (female, AF) = 2 is SMALL.
    # Row female has one unknown: its smallest published cell (female, IQ) = 8 becomes SECONDARY.
    # Column AF has one unknown: (male, AF) = 9, the only other cell, becomes SECONDARY.
    # That leaves row male with one unknown: its smallest published cell (male, IQ) = 12 is hidden.
    # Column IQ now has two unknowns (8 and 12), column SY none: done. (female, SY) and (male, SY)
    # stay published.
    finest = {
        ("female", "AF"): [2], ("female", "SY"): [30], ("female", "IQ"): [8],
        ("male", "AF"): [9], ("male", "SY"): [25], ("male", "IQ"): [12],
    }
    cells = with_marginals(finest)
    assert cells[(ALL, ALL)] == [86] and cells[("female", ALL)] == [40] and cells[(ALL, "AF")] == [11]
    status = suppress(cells, 5)
    assert {key: s for key, s in status.items() if s} == {
        ("female", "AF"): SMALL,
        ("female", "IQ"): SECONDARY,
        ("male", "AF"): SECONDARY,
        ("male", "IQ"): SECONDARY,
    }
    for (marginal, _), members in lines(cells).items():
        assert unknowns(status, marginal, members) != 1


def test_withheld_marginal_with_published_cells_gets_one_of_them_hidden():
    # Level 1: male = 3 is SMALL, so female = 40 is SECONDARY (else female = 43 - 3).
    # Level 2: the female row (10 + 30) has no small cell, but its total is withheld: publishing
    # both cells would give female = 10 + 30. So the smaller one, (female, yes) = 10, is hidden.
    # The male row has two SMALL cells (1 and 2): two unknowns, nothing more to do.
    # There are no uasc column totals here, so there are no column lines.
    cells = {
        (ALL, ALL): [43],
        ("female", ALL): [40], ("male", ALL): [3],
        ("female", "yes"): [10], ("female", "no"): [30],
        ("male", "yes"): [1], ("male", "no"): [2],
    }
    assert suppress(cells, 5) == {
        (ALL, ALL): None,
        ("female", ALL): SECONDARY, ("male", ALL): SMALL,
        ("female", "yes"): SECONDARY, ("female", "no"): None,
        ("male", "yes"): SMALL, ("male", "no"): SMALL,
    }


def test_several_counts_per_cell():
    # Cells hold [enrolled, attending]. Boys: 20 enrolled but only 4 attending, and 4 < 5, so the
    # boys' cell is SMALL even though 20 is not. Girls are then hidden too (else 30 - 20, 12 - 4).
    cells = {(ALL,): [30, 12], ("girl",): [10, 8], ("boy",): [20, 4]}
    assert suppress(cells, 5) == {(ALL,): None, ("girl",): SECONDARY, ("boy",): SMALL}


def test_zero_is_small_and_smallest_sum_is_chosen_with_a_fixed_tie_break():
    # (c) = 0 is SMALL (zero is below k). The total line then has one unknown; of the published
    # cells a = 6 and b = 6 have the same sum, the tie is broken by the key: "a" before "b".
    cells = {(ALL,): [20], ("a",): [6], ("b",): [6], ("c",): [0], ("d",): [8]}
    assert suppress(cells, 5) == {(ALL,): None, ("a",): SECONDARY, ("b",): None, ("c",): SMALL, ("d",): None}


def test_absent_marginal_carries_no_relation():
    # No total is given, so nothing can be subtracted: male is SMALL and female is published.
    assert suppress({("female",): [27], ("male",): [3]}, 5) == {("female",): None, ("male",): SMALL}


def test_coarser_levels_do_not_depend_on_the_finer_breakdown():
    # Levels 0..1 alone: total 43 published, male 3 SMALL, female 40 SECONDARY. Adding the level-2
    # breakdown by uasc (with its column totals) hides more level-2 cells but must not change any of
    # these three statuses: a partner asking both questions sees the same totals treated the same way.
    finest = {("female", "yes"): [10], ("female", "no"): [30], ("male", "yes"): [1], ("male", "no"): [2]}
    cells = with_marginals(finest)
    coarse = {key: counts for key, counts in cells.items() if level(key) <= 1}
    coarse_status = suppress(coarse, 5)
    assert coarse_status == {
        (ALL, ALL): None, ("female", ALL): SECONDARY, ("male", ALL): SMALL,
        (ALL, "yes"): None, (ALL, "no"): None,
    }
    full_status = suppress(cells, 5)
    assert {key: full_status[key] for key in coarse} == coarse_status
    # Level 2: (male, yes) = 1 and (male, no) = 2 are SMALL; the female row total is withheld, so
    # (female, yes) = 10 (smaller than 30) is hidden; then column "no" has one unknown (male, no),
    # so (female, no) is hidden as well.
    assert {key: full_status[key] for key in finest} == {
        ("female", "yes"): SECONDARY, ("female", "no"): SECONDARY,
        ("male", "yes"): SMALL, ("male", "no"): SMALL,
    }


def test_a_cell_whose_value_is_public_anyway_is_not_chosen_when_another_will_do():
    # Nobody is (male, yes): that cell is absent, a known zero. So (female, yes) is the only cell
    # of column "yes" and equals the published column total 12: hiding it would protect nothing.
    # (female, no) = 3 is SMALL; the female row then has one unknown and the published candidates
    # are (female, yes) = 12 and (female, other) = 20. The smaller sum would be 12, but that value
    # is public anyway, so (female, other) is hidden instead, which really protects the 3.
    finest = {("female", "yes"): [12], ("female", "no"): [3], ("female", "other"): [20],
              ("male", "no"): [30], ("male", "other"): [40]}
    cells = with_marginals(finest)
    status = suppress(cells, 5)
    assert {key: s for key, s in status.items() if s} == {
        ("female", "no"): SMALL,
        ("female", "other"): SECONDARY,
        ("male", "no"): SECONDARY,      # column "no" had one unknown; (male, no) is its only other cell
        ("male", "other"): SECONDARY,   # then the male row had one unknown; its only other cell
    }


def test_known_limit_when_the_only_candidate_equals_a_published_total():
    # Documented limitation. Nobody is (male, yes), so (female, yes) = the published column total 12.
    # (female, no) = 3 is SMALL; the female row has one unknown and the only candidate is
    # (female, yes). It is hidden (SECONDARY), yet its value is public through the column total, and
    # then (female, no) = 15 - 12. Only withholding a coarser total would help, and coarser totals
    # are never changed by a finer breakdown. The rule still holds line by line as far as it can:
    # the column "yes" line has one unknown and no published cell left.
    finest = {("female", "yes"): [12], ("female", "no"): [3], ("male", "no"): [30]}
    cells = with_marginals(finest)
    status = suppress(cells, 5)
    assert status[(ALL, "yes")] is None and status[("female", ALL)] is None
    assert status[("female", "no")] == SMALL and status[("female", "yes")] == SECONDARY
    assert unknowns(status, (ALL, "yes"), [("female", "yes")]) == 1


def test_empty_table_and_zero_dimensions():
    assert suppress({}, 5) == {}
    # d = 0: only the grand total, with no relations.
    assert suppress({(): [3]}, 5) == {(): SMALL}
    assert suppress({(): [30]}, 5) == {(): None}


def test_withheld():
    assert withheld(SMALL) and withheld(SECONDARY)
    assert not withheld(None)


@pytest.mark.parametrize("k", [0, -1, 2.5, "5", True, None])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        suppress({(ALL,): [30]}, k)


def test_negative_count():
    with pytest.raises(ValueError, match="negative"):
        suppress({(ALL,): [30], ("female",): [33], ("male",): [-3]}, 5)


def test_mixed_key_lengths():
    with pytest.raises(ValueError, match="same length"):
        suppress({(ALL,): [30], ("female", "yes"): [30]}, 5)


@pytest.mark.parametrize("cells", [
    {"female": [3]},                 # key not a tuple
    {("female",): []},               # no counts
    {("female",): 3},                # counts not a sequence
    {("female",): [2.5]},            # count not an integer
])
def test_other_malformed_input(cells):
    with pytest.raises(ValueError):
        suppress(cells, 5)


# --- properties on random populations -------------------------------------------------------------

COUNT = st.one_of(st.integers(0, 7), st.integers(0, 7), st.integers(8, 60), st.integers(100, 5000))


@st.composite
def populations(draw, dims=st.sampled_from([1, 2, 3]), drop=True):
    """(cells, k, complete): finest cells with random counts, some dropped, plus every marginal."""
    d = draw(dims)
    sizes = [draw(st.integers(2, 4)) for _ in range(d)]
    # Mixed hashables: strings in most dimensions, integers in the last one.
    categories = [[f"d{i}v{j}" if i < d - 1 else j for j in range(size)] for i, size in enumerate(sizes)]
    width = draw(st.sampled_from([1, 2, 4]))  # [count], [numerator, denominator], [cohort, ...]
    finest = {}
    complete = True
    for key in itertools.product(*categories):
        if drop and draw(st.integers(0, 4)) == 0:
            complete = False
            continue  # absent: nobody in this cell
        finest[key] = [draw(COUNT) for _ in range(width)]
    if not finest:  # keep at least one child, so the table is not empty
        finest[tuple(values[0] for values in categories)] = [draw(COUNT) for _ in range(width)]
    k = draw(st.integers(2, 10))
    return with_marginals(finest), k, complete


@PROPERTY_SETTINGS
@given(populations())
def test_published_cells_have_every_count_at_least_k(population):
    cells, k, _ = population
    status = suppress(cells, k)
    assert status.keys() == cells.keys()
    for key, s in status.items():
        assert s in (None, SMALL, SECONDARY)
        if s is None:
            assert all(count >= k for count in cells[key]), key
        # SMALL means a count really is below k; SECONDARY cells are not small.
        assert (s == SMALL) == any(count < k for count in cells[key]), key


@PROPERTY_SETTINGS
@given(populations())
def test_no_line_has_exactly_one_unknown(population):
    cells, k, complete = population
    status = suppress(cells, k)
    for (marginal, i), members in lines(cells).items():
        n = unknowns(status, marginal, members)
        if complete:
            # Every category is present, so every line has at least two cells and can always be fixed.
            assert n != 1, (marginal, i, {key: status[key] for key in members}, status[marginal])
        elif n == 1:
            # Only possible when nothing in the line was left to hide: a single cell under a published
            # total (see test_known_limit_when_the_only_candidate_equals_a_published_total).
            assert len(members) == 1 and not withheld(status[marginal]), (marginal, i)


@PROPERTY_SETTINGS
@given(populations(drop=False))
def test_no_line_has_exactly_one_unknown_on_complete_tables(population):
    cells, k, _ = population
    status = suppress(cells, k)
    for (marginal, _), members in lines(cells).items():
        assert unknowns(status, marginal, members) != 1


@PROPERTY_SETTINGS
@given(populations())
def test_coarser_levels_are_decided_by_coarser_cells_only(population):
    cells, k, _ = population
    full = suppress(cells, k)
    depth = len(next(iter(cells)))
    for top in range(depth + 1):
        part = {key: counts for key, counts in cells.items() if level(key) <= top}
        assert suppress(part, k) == {key: full[key] for key in part}, top


@PROPERTY_SETTINGS
@given(populations(), st.randoms(use_true_random=False))
def test_insertion_order_does_not_matter(population, rnd: random.Random):
    cells, k, _ = population
    keys = list(cells)
    rnd.shuffle(keys)
    shuffled = {key: list(cells[key]) for key in keys}
    assert suppress(shuffled, k) == suppress(cells, k)


def solve_from_line(cells, status, target, marginal, members):
    """What subtraction reveals about ``target`` from one line, or None when another value is missing."""
    others = [key for key in (marginal, *members) if key != target]
    if any(withheld(status[key]) for key in others):
        return None
    width = len(cells[target])
    if target == marginal:
        return [sum(cells[key][n] for key in members) for n in range(width)]
    return [cells[marginal][n] - sum(cells[key][n] for key in members if key != target) for n in range(width)]


@PROPERTY_SETTINGS
@given(populations(dims=st.just(2)))
def test_no_suppressed_cell_can_be_solved_from_a_single_line(population):
    # The claim itself on 2-D tables: take any withheld cell and any line it is part of (its row with
    # the row total, its column with the column total, or a total with the grand total and the other
    # totals) and try "total minus the published cells". That must fail: another value is missing.
    cells, k, complete = population
    status = suppress(cells, k)
    everything_published = dict.fromkeys(cells)
    for target in cells:
        for (marginal, i), members in lines(cells).items():
            if target != marginal and target not in members:
                continue
            # The solver is not vacuous: with nothing withheld it does reveal the true counts.
            assert solve_from_line(cells, everything_published, target, marginal, members) == cells[target]
            if not withheld(status[target]):
                continue
            solved = solve_from_line(cells, status, target, marginal, members)
            if solved is not None and not complete:
                # The documented limit: the cell is alone under a published total, its value was public
                # before anything was hidden at its level.
                assert members == [target] and not withheld(status[marginal]), (target, marginal, i)
                continue
            assert solved is None, (target, marginal, i, status[target])

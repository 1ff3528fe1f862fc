"""Disclosure control for every figure a partner sees: cell-key perturbation, rounding and a threshold.

This is the one protected function behind the partner dashboard, the report page, its PDF, CSV
and XLSX files and the API (docs/reports.md explains the method to a partner's data officer).

1. **Record keys.** Every child carries a fixed random record key (``Child.record_key``, below
   ``RECORD_KEY_MODULUS``), drawn when the child is registered. It never leaves the database.
2. **Cell keys.** A count of children in a cell comes with the sum of the record keys of those
   children, modulo the modulus (tracker.indicators.compute puts it in the row's ``_keys``). The
   same children always give the same cell key, whatever request the cell appears in; one more
   or one fewer child gives an unrelated one.
3. **Perturbation.** The published count is the true count plus a perturbation between
   ``-DISCLOSURE_MAX_PERTURBATION`` and ``+DISCLOSURE_MAX_PERTURBATION``, looked up from
   (count, cell key) in the perturbation table ``DISCLOSURE_PERTURBATION`` (the chance of each
   perturbation; perturbations that would make a count negative are left out for small counts).
   The same cell gets the same value in every request, so asking again and averaging gains
   nothing; two overlapping cells get unrelated perturbations, so their difference is not the
   difference of their true counts.
4. **Rounding.** The perturbed count is rounded to the nearest multiple of ``DISCLOSURE_ROUNDING``.
   With a base of at least the threshold (the default: 5 and 5), the difference of any two
   published counts is a multiple of the base, so it can never be a number of 1-4 children.
   With the defaults (at most 2, base 5) the two steps act as a random rounding to 5 that is
   consistent: a count that is a multiple of 5 is published as it is, any other goes to one of
   its two neighbouring multiples, chosen by its cell key, the same way in every request.
5. **Threshold.** A count below ``SUPPRESSION_K``, before or after perturbation, is withheld
   (shown as "<5"); a group with no children at all is shown the same way, so a withheld cell may
   hold 0 children or a few, and a published one always rests on at least the threshold. A rate is published only when its published denominator is at least the threshold, and
   it is computed from the published counts (so it tells nothing the counts do not), capped at
   100% and rounded to ``DISCLOSURE_RATE_DECIMALS`` decimals of a fraction (2: whole percent).
   Day-based rates (attendance, register completeness) need the published number of children
   they come from to clear the threshold; their days are not published to partners at all.

Staff (admins, liaison officers) see exact figures for their scope unless they prepare a report
for sharing, which applies exactly this.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.children.models import RECORD_KEY_MODULUS

SMALL = "small"  # withheld: the published count (or a rate's denominator) is below the threshold

# Which counts of a tidy indicator row are children (perturbed), and which one decides whether the row is
# published. Day-based rates have only "children"; their numerator and denominator are days.
DAY_RATES = ("attendance_rate", "register_completeness")
RETENTION_COUNTS = ("cohort", "retained", "moved_onward", "dropped_out")
# A fixed odd step (2^20 / golden ratio, rounded to odd) that moves the lookup position with the count, so a
# cell key met with two different counts does not give the same perturbation.
_COUNT_STEP = 648_055


class DisclosureConfigError(ValueError):
    """The deployment's disclosure parameters are not usable (raised when the app starts)."""


@dataclass(frozen=True)
class Rules:
    threshold: int = 5
    max_perturbation: int = 2
    probabilities: tuple[float, ...] = (0.05, 0.2, 0.5, 0.2, 0.05)  # of -max .. +max
    rounding: int = 5
    rate_decimals: int = 2
    school_min_children: int = 20

    def __post_init__(self):
        for name in ("threshold", "rounding", "school_min_children"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DisclosureConfigError(f"{name} must be an integer >= 1, not {value!r}")
        d = self.max_perturbation
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise DisclosureConfigError(f"the maximum perturbation must be an integer >= 0, not {d!r}")
        if len(self.probabilities) != 2 * d + 1:
            raise DisclosureConfigError(f"the perturbation table needs {2 * d + 1} chances (for -{d} .. +{d}), "
                                        f"not {len(self.probabilities)}")
        if any(not isinstance(p, (int, float)) or p < 0 for p in self.probabilities):
            raise DisclosureConfigError("the perturbation table's chances must be numbers >= 0")
        if not math.isclose(sum(self.probabilities), 1.0, abs_tol=1e-9):
            raise DisclosureConfigError(f"the perturbation table's chances must add up to 1, not "
                                        f"{sum(self.probabilities)}")
        if not isinstance(self.rate_decimals, int) or not 0 <= self.rate_decimals <= 4:
            raise DisclosureConfigError("rate decimals must be an integer from 0 to 4")

    @classmethod
    def from_config(cls, config: Mapping) -> "Rules":
        return cls(threshold=int(config.get("SUPPRESSION_K", 5)),
                   max_perturbation=config.get("DISCLOSURE_MAX_PERTURBATION", 2),
                   probabilities=tuple(config.get("DISCLOSURE_PERTURBATION", (0.05, 0.2, 0.5, 0.2, 0.05))),
                   rounding=config.get("DISCLOSURE_ROUNDING", 5),
                   rate_decimals=config.get("DISCLOSURE_RATE_DECIMALS", 2),
                   school_min_children=config.get("DISCLOSURE_MIN_SCHOOL_CHILDREN", 20))

    @property
    def error_bound(self) -> int:
        """The most a published count differs from the true count."""
        return self.max_perturbation + self.rounding // 2

    # --- counts ---------------------------------------------------------------------------------

    def perturbation(self, count: int, cell_key: int) -> int:
        """The perturbation of a count with a cell key: always the same for the same (count, cell key)."""
        if count <= 0:
            return 0
        d = self.max_perturbation
        chances = [(e, p) for e, p in zip(range(-d, d + 1), self.probabilities) if count + e >= 0]
        total = sum(p for _e, p in chances)
        if total <= 0:
            return 0
        position = ((int(cell_key) + count * _COUNT_STEP) % RECORD_KEY_MODULUS) / RECORD_KEY_MODULUS * total
        running = 0.0
        for e, p in chances:
            running += p
            if position < running:
                return e
        return chances[-1][0]

    def rounded(self, value: int) -> int:
        """To the nearest multiple of the rounding base (halves up)."""
        b = self.rounding
        return ((value + b // 2) // b) * b if b > 1 else value

    def publish(self, count: int | None, cell_key: int | None) -> int | None:
        """The published value of a count of children: perturbed, rounded; None when withheld.

        A count is withheld when it is below the threshold, before or after the perturbation: a published
        value always rests on at least ``threshold`` children (a "5" is never one child), and "<5" means
        what it says.
        """
        count = int(count or 0)
        if count < self.threshold:
            return None
        value = self.rounded(count + self.perturbation(count, int(cell_key or 0)))
        return value if value >= self.threshold else None

    def rate(self, numerator: int | None, denominator: int | None) -> float | None:
        """A rate from published counts (a withheld numerator counts as 0): None unless the denominator is published."""
        if denominator is None or denominator < self.threshold:
            return None
        return round(min(1.0, (numerator or 0) / denominator), self.rate_decimals)

    def day_rate(self, value: float | None) -> float | None:
        return None if value is None else round(min(1.0, float(value)), self.rate_decimals)


def rules() -> Rules:
    from flask import current_app

    return Rules.from_config(current_app.config)


# --- indicator rows -------------------------------------------------------------------------------

def protect_row(row: dict, r: Rules) -> dict:
    """A tidy indicator row (with its ``_keys``) as partners see it: published counts and rates, or withheld.

    The row keeps its indicator and dimensions; ``suppressed`` is SMALL when it is withheld (then every
    figure is None) and ``withheld`` lists the counts of a published row that are below the threshold
    (each None). ``_keys`` is dropped.
    """
    name = row["indicator"]
    keys = row.get("_keys") or {}
    out = {k: v for k, v in row.items() if k != "_keys"}
    below: list[str] = []

    def pub(field: str, key_name: str | None = None) -> int | None:
        value = r.publish(row.get(field), keys.get(key_name or field))
        out[field] = value
        if value is None:
            below.append(field)
        return value

    if name in DAY_RATES:
        children = pub("children")
        out["numerator"] = out["denominator"] = None  # days: not published to partners
        out["value"] = r.day_rate(row.get("value")) if children is not None else None
        decisive = children
    elif row.get("denominator") is None and not name.startswith("retention_"):  # a count
        out["numerator"] = decisive = r.publish(row.get("numerator"), keys.get("numerator"))
        out["value"] = decisive
    else:
        num, den = pub("numerator"), pub("denominator")
        if name.startswith("retention_"):
            for field in RETENTION_COUNTS:
                pub(field)
        out["value"] = r.rate(num, den)
        decisive = den
    if decisive is None:
        return withhold(out)
    out["suppressed"] = None
    if below:
        out["withheld"] = below
    return out


def withhold(row: dict) -> dict:
    """A row withheld whole: its marker, and no figure at all."""
    out = {k: (None if k in NUMBER_KEYS else v) for k, v in row.items() if k not in ("_keys", "withheld")}
    out["suppressed"] = SMALL
    return out


NUMBER_KEYS = ("numerator", "denominator", "value", *RETENTION_COUNTS, "children")


def gpi(female: float | None, male: float | None) -> float | None:
    """The adjusted gender parity index of two published rates (None unless both are published)."""
    if female is None or male is None or male == 0:
        return None
    ratio = female / male
    value = ratio if ratio <= 1 else (2 - (male / female) if female else None)
    return None if value is None else round(value, 2)


# --- tables ---------------------------------------------------------------------------------------

NONE = "\x00none"  # a real "no value" in a breakdown (e.g. level for out of school), not a total


def protect_tables(tables: dict[tuple[str, ...], list[dict]], r: Rules, dimensions: Iterable[str],
                   groups_of: Any, names: Iterable[str] = (), rates: Iterable[str] = ()) -> None:
    """Replace every row of every table (breakdown -> rows) by what partners see.

    Groups a breakdown can have but that have no row (no children) are added, withheld: a partner
    cannot tell a group of nobody from a group of a few. ``groups_of(indicator, dimension, seen)``
    gives the groups of a dimension for an indicator (``seen``: the values met in any row); ``names``
    are the indicators every table shows, whether or not any row has them, and ``rates`` those with a parity
    index (shown withheld too where there is none).
    A parity index is recomputed from the published rates of girls and boys.
    """
    order = [d for d in dimensions if any(d in by for by in tables)]
    names = list(names)
    position = {name: i for i, name in enumerate(names)}
    seen: dict[str, set] = {d: set() for d in order}
    present: dict[tuple[str, ...], set] = {}
    names: set[str] = set(names)
    for by, rows in tables.items():
        for row in rows:
            if row["indicator"].startswith("gpi_"):
                continue
            names.add(row["indicator"])
            present.setdefault(by, set()).add((row["indicator"], tuple(_norm(row.get(d)) for d in by)))
            for d in by:
                if row.get(d) is not None:  # "no value" (level of out of school) is the indicator's own
                    seen[d].add(_norm(row.get(d)))
    for by, rows in tables.items():
        protected = [protect_row(row, r) for row in rows if not row["indicator"].startswith("gpi_")]
        have = present.get(by, set())
        for name in sorted(names):
            for combo in itertools.product(*(sorted(groups_of(name, d, seen[d]), key=repr) for d in by)):
                if (name, combo) not in have:
                    zero = {"indicator": name, **{d: (None if v == NONE else v) for d, v in zip(by, combo)},
                            "numerator": None, "denominator": None, "value": None}
                    if name.startswith("retention_"):
                        zero.update({k: None for k in RETENTION_COUNTS})
                    elif name in DAY_RATES:
                        zero["children"] = None
                    protected.append(withhold(zero))
        gpis = [row for row in rows if row["indicator"].startswith("gpi_")]
        others = tuple(d for d in by if d != "sex")
        have_gpi = {(row["indicator"], tuple(_norm(row.get(d)) for d in others)) for row in gpis}
        for name in rates:
            for combo in itertools.product(*(sorted(groups_of(name, d, seen[d]), key=repr) for d in others)):
                if (f"gpi_{name}", combo) not in have_gpi:
                    protected.append(withhold({"indicator": f"gpi_{name}", **{d: None for d in by},
                                               **{d: (None if v == NONE else v) for d, v in zip(others, combo)},
                                               "numerator": None, "denominator": None, "value": None}))
        rows[:] = protected + [{"_gpi": True, **row} for row in gpis]
    # Parity indices from the published rates of the same groups by sex.
    published: dict[tuple, float | None] = {}  # (breakdown, indicator, sex, the other groups) -> published rate
    for by, rows in tables.items():
        if "sex" in by:
            for x in rows:
                if not x["indicator"].startswith("gpi_") and not x.get("_gpi"):
                    others = tuple(x.get(d) for d in by if d != "sex")
                    published[(by, x["indicator"], x.get("sex"), others)] = None if x.get("suppressed") else x["value"]
    for by, rows in tables.items():
        with_sex = tuple(d for d in order if d in by or d == "sex")
        for i, row in enumerate(rows):
            if not row.pop("_gpi", False):
                continue
            others = tuple(row.get(d) for d in with_sex if d != "sex")
            female, male = (published.get((with_sex, row["indicator"][4:], sex, others)) for sex in ("female", "male"))
            value = gpi(female, male)
            rows[i] = {**{k: v for k, v in row.items() if k != "_keys"}, "numerator": female,
                       "denominator": male, "value": value, "suppressed": None if value is not None else SMALL}
            if value is None:
                rows[i] = withhold(rows[i])
    for by, rows in tables.items():  # the order of the indicators, then of the groups; parity indices last
        rows.sort(key=lambda row: (row["indicator"].startswith("gpi_"),
                                   position.get(row["indicator"].removeprefix("gpi_"), len(position)),
                                   row["indicator"], [str(row.get(d)) for d in by]))


def _norm(value):
    return NONE if value is None else getattr(value, "value", value)


def strip_keys(tables: dict[tuple[str, ...], list[dict]]) -> None:
    """Exact figures (staff): the same rows without their cell keys, which never leave tracker.reports."""
    for rows in tables.values():
        for row in rows:
            row.pop("_keys", None)


def publish_counts(counts: Mapping[str, tuple[int, int]], r: Rules) -> dict[str, int | None]:
    """Published values of several counts of children, each given as (count, cell key)."""
    return {name: r.publish(count, key) for name, (count, key) in counts.items()}

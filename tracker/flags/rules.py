"""What a risk rule is, and the plumbing to load the rules that plugins register."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app

from tracker.plugins import PluginError, collect


class RiskRule:
    """A risk rule. Subclass it and return the class from ``register_risk_rules``.

    ``slug`` names the rule in flags and config; ``label`` is shown to users; ``severity`` (1 low
    to 3 high) orders the follow-up list; ``defaults`` are the thresholds, which deployments
    override with ``RISK_RULES = {slug: {name: value}}`` in instance/config.py.
    """

    slug: str = ""
    label: str = ""
    severity: int = 1
    defaults: dict = {}

    def __init__(self, thresholds: dict | None = None, shared: dict | None = None):
        self.thresholds = {**self.defaults, **(thresholds or {})}
        # Intermediate results that rules evaluated in the same refresh may share (keyed by the rule's choice).
        self.shared = shared if shared is not None else {}

    def evaluate(self, children: sa.Select, as_of: dt.date) -> Iterable[tuple[int, dict]]:
        """(child id, evidence) for each child of ``children`` (a SELECT of ids) the rule flags on ``as_of``.

        Evidence is a small JSON-able dict, shown through ``describe``. Evaluate in SQL over the
        whole set at once, never child by child.
        """
        raise NotImplementedError

    def describe(self, evidence: dict) -> str:
        """The reason in words, for the follow-up list."""
        return str(self.label)


def load_rules() -> dict[str, RiskRule]:
    """Every registered rule, instantiated with its configured thresholds, by slug."""
    pm = current_app.extensions["tracker_plugins"]
    configured = current_app.config.get("RISK_RULES", {})
    rules: dict[str, RiskRule] = {}
    owners: dict[str, str] = {}
    shared: dict = {}
    for plugin, cls in collect(pm, "register_risk_rules"):
        if not (isinstance(cls, type) and issubclass(cls, RiskRule)):
            raise PluginError(f"plugin {plugin!r}: register_risk_rules returned {cls!r}, not a RiskRule subclass")
        if not cls.slug or not cls.label:
            raise PluginError(f"plugin {plugin!r}: risk rule {cls.__name__} needs a slug and a label")
        if cls.slug in rules:
            raise PluginError(f"plugin {plugin!r}: risk rule slug {cls.slug!r} is taken (by {owners[cls.slug]!r})")
        unknown = set(configured.get(cls.slug, {})) - set(cls.defaults)
        if unknown:
            raise PluginError(f"RISK_RULES[{cls.slug!r}]: unknown threshold {sorted(unknown)[0]!r}")
        rules[cls.slug] = cls(configured.get(cls.slug), shared)
        owners[cls.slug] = plugin
    return rules

"""Collecting the report's sections from the ``report_sections`` hook."""
from __future__ import annotations

import copy

from tracker.plugins import PluginError, collect, get_pm
from tracker.reports.data import Section


def collect_sections() -> list[Section]:
    """Every plugin's sections, checked, in order (a fresh copy for each report)."""
    sections: list[Section] = []
    seen: dict[str, str] = {}
    for plugin, item in collect(get_pm(), "report_sections"):
        if not isinstance(item, Section):
            raise PluginError(f"plugin {plugin!r}: report_sections must return Section objects, got {type(item).__name__}")
        if not item.slug or not item.template:
            raise PluginError(f"plugin {plugin!r}: a report section needs a slug and a template")
        if item.slug in seen:
            raise PluginError(f"plugin {plugin!r}: report section {item.slug!r} is already defined by {seen[item.slug]!r}")
        seen[item.slug] = plugin
        section = copy.copy(item)
        section.plugin = plugin
        section.breakdowns = tuple(tuple(b) for b in section.breakdowns)
        sections.append(section)
    return sorted(sections, key=lambda s: (s.order, s.slug))

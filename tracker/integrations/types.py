"""Integration types: what a plugin declares through ``register_integrations``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from flask import g

from tracker.plugins import PluginError, collect, get_pm

# Personal fields an admin may allow in a school's exports; everything else personal stays out.
PERSONAL_FIELDS = ("names", "birth_date", "sex", "country")


@dataclass
class Scope:
    """What one run may touch: one school, as one user (None: the command line), with the school's settings."""

    school: object  # tracker.schools.models.School
    user: object | None
    settings: dict = field(default_factory=dict)
    allowed_fields: frozenset = frozenset()  # a subset of PERSONAL_FIELDS

    def allows(self, name: str) -> bool:
        return name in self.allowed_fields


@dataclass
class RunResult:
    """What an import did (or, in a dry run, would do)."""

    ok: bool
    dry_run: bool
    counts: dict = field(default_factory=dict)  # e.g. {"created": 3, "updated": 1, "unchanged": 20}
    errors: list = field(default_factory=list)  # [{"file": ..., "line": ..., "column": ..., "message": ...}]
    pending: list = field(default_factory=list)  # keys left for a person (IntegrationPending rows)
    message: str = ""
    after_commit: list = field(default_factory=list)  # callables run once the import is saved (e.g. firing hooks)

    def error(self, message: str, *, file: str | None = None, line: int | None = None, column: str | None = None):
        self.errors.append({"file": file, "line": line, "column": column, "message": message})
        self.ok = False


class Integration:
    """Subclass this in a plugin and return the class from ``register_integrations``.

    ``export(scope, params) -> (filename, mimetype, bytes)`` and ``import_file(stream, scope,
    dry_run) -> RunResult``; an import writes everything or nothing (and nothing on a dry run).
    """

    slug: str = ""
    label: str = ""
    description: str = ""
    can_import: bool = False
    can_export: bool = False
    settings_form: type | None = None  # a Flask-WTF form for the per-school settings, or None
    personal_fields: tuple[str, ...] = ()  # which of PERSONAL_FIELDS its exports can carry when allowed

    def export(self, scope: Scope, params: dict) -> tuple[str, str, bytes]:  # pragma: no cover - per plugin
        raise NotImplementedError

    def import_file(self, stream: BinaryIO, scope: Scope, dry_run: bool) -> RunResult:  # pragma: no cover
        raise NotImplementedError


def all_integrations() -> dict[str, Integration]:
    cached = g.get("_integrations")
    if cached is not None:
        return cached
    out: dict[str, Integration] = {}
    owners: dict[str, str] = {}
    for plugin, item in collect(get_pm(), "register_integrations"):
        kind = item if isinstance(item, type) else type(item)
        if not (isinstance(kind, type) and issubclass(kind, Integration)):
            raise PluginError(f"plugin {plugin!r}: register_integrations must return Integration subclasses, got {item!r}")
        instance = item() if isinstance(item, type) else item
        if not instance.slug or not instance.label or not (instance.can_import or instance.can_export):
            raise PluginError(f"plugin {plugin!r}: integration {kind.__name__} needs a slug, a label and something to do")
        if instance.slug in out:
            raise PluginError(f"plugin {plugin!r}: integration {instance.slug!r} is already defined by "
                              f"{owners[instance.slug]!r}")
        unknown = set(instance.personal_fields) - set(PERSONAL_FIELDS)
        if unknown:
            raise PluginError(f"plugin {plugin!r}: unknown personal field {sorted(unknown)[0]!r}")
        instance.plugin = plugin
        out[instance.slug] = instance
        owners[instance.slug] = plugin
    g._integrations = out
    return out

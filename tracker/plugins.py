"""The plugin manager: one per application, holding default, bundled and third-party plugins."""
from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from typing import Any

import pluggy
from flask import current_app

from tracker import hookspecs

log = logging.getLogger(__name__)

PROJECT = "tracker"

# Core features, registered exactly as any other plugin is.
DEFAULT_PLUGINS = [
    "tracker.auth.default_auth",
    "tracker.dashboard.default_menu",
    "tracker.schools.default_schools",
    "tracker.children.default_children",
    "tracker.attendance.default_attendance",
    "tracker.imports.default_imports",
    "tracker.indicators.default_indicators",
    "tracker.flags.default_rules",
    "tracker.flags.default_flags",
    "tracker.reports.default_sections",
    "tracker.assessments.default_assessments",
    "tracker.api.default_api",
    "tracker.integrations.default_integrations",
    "tracker.demo.default_demo",
    "tracker.default_commands",
]


class PluginError(RuntimeError):
    """A plugin broke the hook contract; the message names the plugin."""


def make_plugin_manager(config: dict) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in config.get("BLOCKED_PLUGINS", []):
        pm.set_blocked(name)
    for modname in [*DEFAULT_PLUGINS, *config.get("PLUGINS", [])]:
        if pm.is_blocked(modname):
            continue
        try:
            module = importlib.import_module(modname)
        except ImportError as exc:
            raise PluginError(f"plugin {modname!r} could not be imported: {exc}") from exc
        pm.register(module, name=modname)
    pm.load_setuptools_entrypoints(PROJECT)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from exc
    return pm


def get_pm() -> pluggy.PluginManager:
    return current_app.extensions["tracker_plugins"]


def plugin_name(pm: pluggy.PluginManager, plugin: Any) -> str:
    return pm.get_name(plugin) or repr(plugin)


def collect(pm: pluggy.PluginManager, hook: str, **kwargs) -> Iterator[tuple[str, Any]]:
    """Call a collecting hook plugin by plugin, yielding (plugin name, each item it returned)."""
    caller = getattr(pm.hook, hook)
    for impl in reversed(caller.get_hookimpls()):
        result = impl.function(**{a: kwargs[a] for a in impl.argnames})
        if result is None:
            continue
        if not isinstance(result, (list, tuple)):
            raise PluginError(f"plugin {impl.plugin_name!r}: {hook} must return a list, got {type(result).__name__}")
        for item in result:
            yield impl.plugin_name, item


def fire(hook: str, **kwargs) -> None:
    """Call an event hook after a commit; a failing plugin is logged and does not undo anything."""
    pm = get_pm()
    caller = getattr(pm.hook, hook)
    for impl in reversed(caller.get_hookimpls()):
        try:
            impl.function(**{a: kwargs[a] for a in impl.argnames})
        except Exception:  # noqa: BLE001 - a plugin's failure must not turn a committed save into an error page
            log.exception("plugin %s failed in %s", impl.plugin_name, hook)


def describe(pm: pluggy.PluginManager) -> list[dict]:
    """Each loaded plugin: name, where it came from, the hooks it implements."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    out = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda np: (np[0] not in DEFAULT_PLUGINS, np[0])):
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        if name in DEFAULT_PLUGINS:
            source = "default"
        elif dist is not None and dist.project_name == "tracker":
            source = "bundled"
        elif dist is not None:
            source = f"entry point ({dist.project_name} {dist.version})"
        else:
            source = "config PLUGINS"
        out.append({
            "name": name,
            "source": source,
            "module": getattr(plugin, "__name__", repr(plugin)),
            "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or []),
        })
    return out

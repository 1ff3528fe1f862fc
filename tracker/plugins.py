"""The plugin manager: one per application, holding default, bundled and third-party plugins.

Every hook is called through pluggy (``pm.hook.<name>(**kwargs)``), so hook wrappers
(``hookwrapper=True`` / ``wrapper=True``) and tracing (``pm.trace``, ``pm.enable_tracing()``)
see every call. What a plugin returns is checked once, at start-up (``check_hooks``), where a
broken plugin stops the application with a message naming it; requests then use the results
without checking them again.
"""
from __future__ import annotations

import contextvars
import functools
import importlib
import logging
from collections.abc import Callable
from typing import Any

import pluggy
from flask import Flask, current_app

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
    "tracker.admin.default_admin",
    "tracker.integrations.default_integrations",
    "tracker.demo.default_demo",
    "tracker.language.default_language",
    "tracker.health.default_health",
    "tracker.default_commands",
    "tracker.backup",
]

# Default plugins the rest cannot do without: blocking one stops the start, saying who needs it.
# Every other plugin, default or not, can be blocked.
ESSENTIAL_PLUGINS = {
    "tracker.auth.default_auth": "the core needs it: every page other than sign-in asks for a signed-in user "
                                 "(login view 'auth.login', the sign-out button of every page)",
    "tracker.dashboard.default_menu": "'tracker.auth.default_auth' needs it: signing in leads to its home page "
                                      "('dashboard.index')",
}

# Hooks that announce a committed change. A failing implementation is logged and the others still run.
EVENT_HOOKS = frozenset({"child_registered", "enrolment_changed", "attendance_saved", "assessment_submitted"})

# Collecting hooks checked once at start-up by calling the code that uses them (module:function, called with
# no arguments inside a request context); register_blueprints and register_commands are checked as create_app
# wires them.
STARTUP_CHECKS = {
    "menu_items": "tracker.web:check_menu_items",
    "register_risk_rules": "tracker.flags.rules:load_rules",
    "report_sections": "tracker.reports.sections:collect_sections",
    "register_assessment_types": "tracker.assessments.types:all_types",
    "register_integrations": "tracker.integrations.types:all_integrations",
}

# While collect() calls a hook: (plugin name, what its implementation returned), to say who returned what.
_returned: contextvars.ContextVar[list[tuple[str, Any]] | None] = contextvars.ContextVar("tracker_hook_returns",
                                                                                        default=None)


class PluginError(RuntimeError):
    """A plugin broke the hook contract; the message names the plugin."""


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, guarding each implementation (not wrapper) as its plugin is registered.

    The guard is what lets a normal ``pm.hook`` call name the plugin behind a result or a failure:
    it records what each implementation returned while ``collect`` listens, turns an exception in a
    collecting hook into a ``PluginError`` naming the plugin, and logs an exception in an event
    hook so that the other plugins still hear of the change.
    """

    def register(self, plugin: object, name: str | None = None) -> str | None:
        name = super().register(plugin, name)
        if name is not None:
            for caller in self.get_hookcallers(plugin) or ():
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                        # pluggy calls impl.function with the arguments named by impl.argnames, which
                        # it read from the plugin's own function; the guard passes them on unchanged.
                        impl.function = _guard(impl.function, impl.plugin_name, caller.name)  # type: ignore[misc]
        return name


def _guard(function: Callable, plugin: str, hook: str) -> Callable:
    @functools.wraps(function)
    def guarded(*args):
        try:
            result = function(*args)
        except Exception as exc:
            if hook in EVENT_HOOKS:
                log.exception("plugin %s failed in %s", plugin, hook)
                return None
            if isinstance(exc, PluginError):
                raise
            raise PluginError(f"plugin {plugin!r} failed in {hook}: {exc!r}") from exc
        listening = _returned.get()
        if listening is not None and result is not None:
            listening.append((plugin, result))
        return result

    return guarded


def make_plugin_manager(config: dict) -> pluggy.PluginManager:
    pm = PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in config.get("BLOCKED_PLUGINS", []):
        if name in ESSENTIAL_PLUGINS:
            raise PluginError(f"plugin {name!r} cannot be blocked: {ESSENTIAL_PLUGINS[name]}")
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


def collect(pm: pluggy.PluginManager, hook: str, **kwargs) -> list[tuple[str, Any]]:
    """Call collecting hook ``hook`` through pluggy; (plugin name, item) for each item of each result.

    One ordinary ``pm.hook.<hook>(**kwargs)`` call, so wrappers and tracing see it; a list a wrapper
    put into the results is credited to the wrapper's plugin.
    """
    caller = getattr(pm.hook, hook)
    returned: list[tuple[str, Any]] = []
    token = _returned.set(returned)
    try:
        results = caller(**kwargs)
    finally:
        _returned.reset(token)
    out = []
    for result in results:
        owner = next((i for i, (_name, r) in enumerate(returned) if r is result), None)
        plugin = returned.pop(owner)[0] if owner is not None else _wrappers(caller)
        if not isinstance(result, (list, tuple)):
            raise PluginError(f"plugin {plugin!r}: {hook} must return a list, got {type(result).__name__}")
        out.extend((plugin, item) for item in result)
    return out


def _wrappers(caller) -> str:
    names = [impl.plugin_name for impl in caller.get_hookimpls() if impl.wrapper or impl.hookwrapper]
    return " or ".join(names) or "(unknown)"


def fire(hook: str, **kwargs) -> None:
    """Deliver event hook ``hook`` (after a commit) through pluggy; nothing a plugin does undoes the change.

    An implementation that raises is logged with its plugin's name and the other plugins still get
    the event (see ``PluginManager``); an exception from a wrapper is logged and ends this delivery.
    """
    caller = getattr(get_pm().hook, hook)
    try:
        caller(**kwargs)
    except Exception:  # noqa: BLE001 - a plugin's failure must not turn a committed save into an error page
        log.exception("hook wrapper %s failed in %s", _wrappers(caller), hook)


def check_hooks(app: Flask) -> None:
    """Call every collecting hook once with the checks of the code that uses it (``STARTUP_CHECKS``).

    Called by ``create_app`` once the blueprints are registered; a plugin breaking a hook's
    contract raises ``PluginError`` naming it, so the application does not start.
    """
    with app.test_request_context():
        for target in STARTUP_CHECKS.values():
            module, _, function = target.partition(":")
            getattr(importlib.import_module(module), function)()


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

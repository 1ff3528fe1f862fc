"""Locale selection: the user's choice, else the browser's, with Serbian mapped to a script."""
from babel import Locale, negotiate_locale
from flask import current_app, has_request_context, request
from flask_login import current_user

# Serbian without a script means Cyrillic; "sr-Latn" and "sr-RS" browsers still need a mapping.
# Each language is named in itself, so it can be found whatever language the page is in.
NAMES = {"en": "English", "sr_Latn": "Srpski (latinica)", "sr_Cyrl": "Српски (ћирилица)"}

ALIASES = {"sr": "sr_Cyrl", "sr_RS": "sr_Cyrl", "sr_Latn_RS": "sr_Latn", "sr_Cyrl_RS": "sr_Cyrl"}


def environment_locale(available) -> str | None:
    """A command's language, from TRACKER_LOCALE, else the POSIX locale (LC_ALL, LC_MESSAGES, LANG):
    ``sr_RS.UTF-8@latin`` is Serbian in Latin script, ``sr_RS.UTF-8`` in Cyrillic (glibc's names)."""
    import os

    for var in ("TRACKER_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if not value or value in ("C", "POSIX") or value.startswith("C."):
            continue
        tag, _dot, rest = value.partition(".")
        modifier = rest.partition("@")[2] if "@" in rest else tag.partition("@")[2]
        tag = tag.partition("@")[0].replace("-", "_")
        if tag in available:
            return tag
        language = tag.split("_")[0]
        if language == "sr":
            return "sr_Latn" if modifier == "latin" or "Latn" in tag else "sr_Cyrl"
        if language in available:
            return language
        return None
    return None


def select_locale() -> str:
    available = current_app.config["LANGUAGES"]
    if not has_request_context():  # a command: the environment's language
        return environment_locale(available) or current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in available:
        return current_user.locale
    chosen = request.cookies.get("tracker_locale") if request else None
    if chosen in available:  # chosen on this device before signing in (tracker.language.views)
        return chosen
    preferred = [lang.replace("-", "_") for lang, _q in request.accept_languages] if request else []
    choice = negotiate_locale(preferred, available, sep="_", aliases=ALIASES)
    if choice:
        return choice
    for lang in preferred:  # "sr_Latn_RS" and the like: match on language and script
        try:
            loc = Locale.parse(lang)
        except (ValueError, TypeError):
            continue
        key = f"{loc.language}_{loc.script}" if loc.script else ALIASES.get(loc.language, loc.language)
        if key in available:
            return key
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def language_choices() -> list[tuple[str, str]]:
    """(locale, its name in itself) for the language switch."""
    return [(code, NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]]


# Serbian dates end with a dot ("1. 12. 2026."): at the end of a sentence that dot is also the full stop, so a
# message "... do %(d)s." must not show "2026..". Applied to the HTML of Serbian pages and documents.
_DOUBLE_STOP = __import__("re").compile(r"(?<=\d)\.\.(?!\.)")


def one_full_stop(html: str) -> str:
    return _DOUBLE_STOP.sub(".", html)

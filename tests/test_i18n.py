"""Every user-facing string goes through Flask-Babel."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted([*ROOT.glob("templates/**/*.html"), *ROOT.glob("plugins/*/templates/**/*.html")])
ALLOWED = {"tracker"}  # the product's name


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_untranslated_text(path):
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    words = [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in ALLOWED]
    assert not words, f"text outside gettext: {words[:10]}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_attributes_shown_to_users_are_translated(path):
    text = path.read_text(encoding="utf-8")
    for attr in re.findall(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"', text):
        assert not re.search(r"[A-Za-z]{2,}", re.sub(r"\{\{.*?\}\}", "", attr)), attr


def test_serbian_browser_gets_cyrillic_by_default(app):
    from tracker.i18n import select_locale

    for header, expected in [("sr", "sr_Cyrl"), ("sr-RS", "sr_Cyrl"), ("sr-Latn-RS", "sr_Latn"), ("sr-Latn", "sr_Latn"),
                             ("de-DE,en;q=0.5", "en"), ("", "en")]:
        with app.test_request_context(headers={"Accept-Language": header}):
            assert select_locale() == expected, header

"""Serbian everywhere: every page each role can reach, in Latin and in Cyrillic, shows no English string that has
a Serbian translation (a label, an option, a button, a heading, a message).

The walk signs in as each demo role, follows every link and GET form of the pages it reaches (one URL per page
kind), and reads the visible text: text between tags, option labels, button values, placeholders and
aria-labels. A piece of text that is exactly a translated English message, or one with its placeholders
filled in, means a page forgot to translate it.
"""
from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po

from tests.conftest import base_config
from tracker import create_app
from tracker.demo.builder import email
from tracker.extensions import db

ROLES = ("admin", "liaison", "teacher", "partner")
LOCALES = {"sr_Latn": "sr-Latn", "sr_Cyrl": "sr-Cyrl"}
CATALOGUE = Path(__file__).resolve().parent.parent / "tracker/translations/sr_Latn/LC_MESSAGES/messages.po"
SKIP_ENDPOINTS = {"auth.logout", "static"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{\w+\}")


def translated_messages() -> tuple[set[str], list[re.Pattern]]:
    """English messages whose Serbian differs: exact texts, and patterns for those with placeholders."""
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    exact, patterns = set(), []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not any(strings) or all(s == ids[0] for s in strings):
            continue
        for msgid in ids:
            text = " ".join(msgid.split())
            literal = PLACEHOLDER.sub("", text)
            if sum(ch.isalpha() for ch in literal) < 4 or "<" in text:
                continue
            if PLACEHOLDER.search(text):
                regex = ".+?".join(re.escape(piece) for piece in PLACEHOLDER.sub("\0", text).split("\0"))
                if sum(ch.isalpha() for ch in literal) >= 8:
                    patterns.append(re.compile(f"^{regex}$"))
            else:
                exact.add(text)
    return exact, patterns


class VisibleText(HTMLParser):
    """The texts a user sees or hears on a page, each piece on its own."""

    HIDDEN = {"script", "style", "code", "pre", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.HIDDEN:
            self._hidden += 1
        for name in ("placeholder", "aria-label", "title", "alt"):
            if attrs.get(name):
                self.pieces.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.pieces.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.pieces.append(data)


def visible_pieces(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return [" ".join(p.split()) for p in parser.pieces]


@pytest.fixture(scope="module")
def demo_app(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("walk") / "tracker.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(base_config(f"sqlite:///{path}"))
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--children", "60", "--seed", "3"])
        assert result.exit_code == 0, result.output
        assert app.test_cli_runner().invoke(args=["flags", "refresh"]).exit_code == 0
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def walk(app, role: str, accept: str):
    """(url, html) of one page per endpoint the role reaches from its pages."""
    client = app.test_client()
    signed_in = client.post("/login", data={"email": email(role), "password": app.config["DEMO_PASSWORD"]},
                            headers={"Accept-Language": accept})
    assert signed_in.status_code == 302, f"{role} could not sign in"
    adapter = app.url_map.bind("localhost")
    queue = ["/"] + [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    seen = set()
    while queue:
        url = queue.pop(0)
        try:
            endpoint, _args = adapter.match(urlsplit(url).path, method="GET")
        except Exception:
            continue
        if endpoint in seen or endpoint in SKIP_ENDPOINTS:
            continue
        seen.add(endpoint)
        response = client.get(url, headers={"Accept-Language": accept})
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        yield url, html
        for href in re.findall(r'(?:href|action)="([^"#]+)"', html):
            href = href.replace("&amp;", "&")
            if href.startswith("/") and not href.startswith("//"):
                queue.append(href)


@pytest.mark.xdist_group("walk")
@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_no_page_shows_english_that_has_a_translation(demo_app, locale):
    exact, patterns = translated_messages()
    found, pages = [], 0
    for role in ROLES:
        for url, html in walk(demo_app, role, LOCALES[locale]):
            pages += 1
            assert f'<html lang="{LOCALES[locale]}"' in html, (role, url)
            for piece in visible_pieces(html):
                if piece in exact or any(p.match(piece) for p in patterns):
                    found.append(f"{role} {url}: {piece!r}")
    assert pages >= 40, pages  # the walk reached the pages of every role
    assert not found, f"{len(found)} English strings on Serbian pages:\n" + "\n".join(sorted(set(found))[:80])

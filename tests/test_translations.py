"""The Serbian catalogues: complete, placeholders intact, Cyrillic really Cyrillic, and served.

sr_Latn is translated by hand; sr_Cyrl is generated from it by scripts/translit_po.py.
See docs/translating.md.
"""
from __future__ import annotations

import html
import importlib.util
import io
import os
import re
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "tracker" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LOCALES = ["sr_Latn", "sr_Cyrl"]

# printf conversions as Python's % operator reads them, "%%" included.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")
# Parts of a Cyrillic message that may be in Latin letters.
NOT_TEXT = re.compile(
    r"""%%[A-Za-z] | %[A-Za-z](?![\w(])                   # date format codes: %%d.%%m.%%Y, %d
      | %(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]   # placeholders
      | \{[A-Za-z_][^{}]*\}                          # str.format fields
      | </?[A-Za-z][^<>]*> | &\#?\w+;                 # HTML tags and entities
      | (?:https?|ftp)://\S+ | www\.\S+              # URLs
      | [\w.+-]+@[\w-]+(?:\.[\w-]+)+                 # email addresses
      | (?<=[(„"“])tracker(?:\ [a-z][a-z0-9-]*)+(?=[)“"”])   # commands: (tracker flags refresh)
      | \b\w*_\w*\b                                  # identifiers: child_code
      | \b[a-z]+(?:[A-Z][a-z]*)+\b                    # camelCase names from file formats: sourcedId
      | \b[\w-]*\.(?:csv|pdf|xlsx?|json|txt)\b       # file names and extensions
      | \b[A-Z0-9]*[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b   # codes: C-7K3M9Q, UTF-8, YYYY-MM-DD
      | \b[A-Z]+-(?!\w)                              # a code prefix: "C-"
      | \b(?=[A-Z0-9]*\d)[A-Z0-9]{2,}\b              # codes with digits
    """,
    re.VERBOSE,
)


def _load_translit():
    spec = importlib.util.spec_from_file_location("translit_po", ROOT / "scripts" / "translit_po.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


translit = _load_translit()


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read(path: Path, locale=None):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


@pytest.fixture(scope="module")
def template():
    return _read(TEMPLATE)


@pytest.fixture(scope="module", params=LOCALES)
def catalog(request):
    return request.param, _read(_po_path(request.param), locale=request.param)


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def _is_latin(ch: str) -> bool:
    return "LATIN" in unicodedata.name(ch, "")


def _is_cyrillic(ch: str) -> bool:
    return "CYRILLIC" in unicodedata.name(ch, "")


# (a) complete -------------------------------------------------------------------------------

def test_template_is_not_empty(template):
    assert len([m for m in template if m.id]) > 100


def test_every_message_is_translated(template, catalog):
    locale, cat = catalog
    if locale.startswith("sr"):
        assert cat.num_plurals == 3, "Serbian has three plural forms"
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = cat.get(message.id)
        if translated is None:
            problems.append(f"missing: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif message.pluralizable and len(_strings(translated)) != cat.num_plurals:
            problems.append(f"{len(_strings(translated))} plural forms: {message.id!r}")
        elif not all(s and s.strip() for s in _strings(translated)):
            problems.append(f"empty: {message.id!r}")
    assert not problems, f"{locale}: {len(problems)} problems:\n" + "\n".join(problems[:30])


def test_header_is_not_fuzzy(catalog):
    locale, cat = catalog
    assert not cat.fuzzy, f"{locale}: the header is marked fuzzy"
    assert str(cat.locale) == locale


# (b) placeholders ---------------------------------------------------------------------------

def _sample_values(text: str) -> dict:
    values = {}
    for name, conv in re.findall(r"%\(([^)]*)\)[-#0 +]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa])", text):
        values[name] = 3 if conv in "diouxXeEfFgGc" else "x"
    return values


def test_placeholders_match(template, catalog):
    locale, cat = catalog
    problems = []
    for message in template:
        translated = cat.get(message.id) if message.id else None
        if translated is None or not translated.string:
            continue
        if message.pluralizable:
            singular, plural = message.id
            # Every Serbian plural form also serves numbers other than one (21, 2, 5...), so
            # each form carries the placeholders of the English plural (and of the singular).
            expected = set(_placeholders(plural)) | set(_placeholders(singular))
            for i, form in enumerate(_strings(translated)):
                if set(_placeholders(form)) != expected:
                    problems.append(f"form {i} of {plural!r}: {form!r}")
        else:
            if _placeholders(translated.string) != _placeholders(message.id):
                problems.append(f"{message.id!r}: {translated.string!r}")
        # Templates format every message with %, so a translation must format cleanly.
        for form in _strings(translated):
            source = " ".join(message.id) if message.pluralizable else message.id
            try:
                form % _sample_values(source + " " + form)
            except (KeyError, ValueError, TypeError) as exc:
                problems.append(f"{form!r} cannot be formatted: {exc}")
    assert not problems, f"{locale}:\n" + "\n".join(problems[:30])


# (c) scripts --------------------------------------------------------------------------------

def test_cyrillic_catalogue_has_no_latin_text():
    cat = _read(_po_path("sr_Cyrl"), locale="sr_Cyrl")
    problems = []
    for message in cat:
        if not message.id:
            continue
        for form in _strings(message):
            text = NOT_TEXT.sub(" ", form)
            words = [w for w in re.findall(r"[^\W\d_]+", text) if w not in translit.KEEP]
            latin = [w for w in words if any(_is_latin(ch) for ch in w)]
            if latin:
                problems.append(f"{form!r}: {latin}")
    assert not problems, "Latin letters in the Cyrillic catalogue:\n" + "\n".join(problems[:30])


def test_latin_catalogue_has_no_cyrillic_text():
    cat = _read(_po_path("sr_Latn"), locale="sr_Latn")
    mixed = [form for message in cat if message.id for form in _strings(message)
             if any(_is_cyrillic(ch) for ch in form)]
    assert not mixed, mixed[:10]


def _messages(cat) -> dict:
    """What a catalogue says, keyed by (context, msgid): its translations and flags, obsolete entries apart.

    The header (Generated-By, dates, tool versions) and line wrapping are left out: a newer Babel writes them
    differently without changing a single translation."""
    def entries(messages, obsolete):
        return {(obsolete, m.context, m.id): (m.string, tuple(sorted(m.flags)))
                for m in messages if m.id}
    return {**entries(cat, False), **entries(cat.obsolete.values(), True)}


def test_cyrillic_catalogue_is_generated_from_the_latin_one():
    expected = read_po(io.BytesIO(translit.build(_po_path("sr_Latn"))), locale="sr_Cyrl")
    actual = _read(_po_path("sr_Cyrl"), locale="sr_Cyrl")
    stale = "sr_Cyrl is out of date: run `make messages` (or scripts/translit_po.py)"
    assert (str(actual.locale), actual.plural_forms) == (str(expected.locale), expected.plural_forms), stale
    want, have = _messages(expected), _messages(actual)
    missing = sorted(map(repr, want.keys() - have.keys()))
    extra = sorted(map(repr, have.keys() - want.keys()))
    differ = sorted(f"{key!r}: {have[key]!r} instead of {want[key]!r}"
                    for key in want.keys() & have.keys() if want[key] != have[key])
    assert not (missing or extra or differ), "\n".join(
        [stale] + [f"missing: {k}" for k in missing[:10]] + [f"not in sr_Latn: {k}" for k in extra[:10]]
        + differ[:20])


def test_catalogue_comparison_ignores_the_header_but_not_a_translation():
    """The comparison above must not depend on the Babel version, and must still see a changed msgstr."""
    text = _po_path("sr_Cyrl").read_text(encoding="utf-8")
    assert re.search(r'"Generated-By: [^"]*\\n"', text)
    other_tool = re.sub(r'"Generated-By: [^"]*\\n"', r'"Generated-By: Babel 99.0.0\\n"', text)
    rewrapped = read_po(io.BytesIO(other_tool.encode()), locale="sr_Cyrl")
    original = _read(_po_path("sr_Cyrl"), locale="sr_Cyrl")
    assert _messages(rewrapped) == _messages(original)
    changed = next(m for m in rewrapped if m.id and isinstance(m.string, str) and m.string)
    changed.string += " (измењено)"
    assert _messages(rewrapped) != _messages(original)


@pytest.mark.parametrize("latin, cyrillic", [
    ("Ljubica, LJUBICA, ljubav", "Љубица, ЉУБИЦА, љубав"),
    ("Njegoš NJIVA džep Džep DŽEP Đorđe Ćuprija Čačak", "Његош ЊИВА џеп Џеп ЏЕП Ђорђе Ћуприја Чачак"),
    ("nadživeti injekcija", "надживети инјекција"),
    ("Dete %(name)s ima %(n)d dana; 100%%.", "Дете %(name)s има %(n)d дана; 100%%."),
    ("<b>Škola</b> &amp; <a href=\"https://example.org/upis\">upis</a>",
     "<b>Школа</b> &amp; <a href=\"https://example.org/upis\">упис</a>"),
    ("Pišite na ana.petrovic@example.org ili https://example.org/pomoc.",
     "Пишите на ana.petrovic@example.org или https://example.org/pomoc."),
    ("Status UASC-a, CSV i PDF, ID broj, ISO 3166, tracker",
     "Статус UASC-а, CSV и PDF, ID број, ISO 3166, tracker"),
    ("šifra C-7K3M9Q, kolona child_code, academic_years.csv, YYYY-MM-DD, UTF-8",
     "шифра C-7K3M9Q, колона child_code, academic_years.csv, YYYY-MM-DD, UTF-8"),
    ("P prisutan, K kasni", "П присутан, К касни"),
    ("provere (tracker flags refresh); tracker vodi", "провере (tracker flags refresh); tracker води"),
])
def test_transliteration(latin, cyrillic):
    assert translit.transliterate(latin) == cyrillic


# (d) served ---------------------------------------------------------------------------------

def _compile_if_needed() -> None:
    """The app compiles nothing at runtime and .mo files are not in git: compile missing or stale ones."""
    for locale in LOCALES:
        po = _po_path(locale)
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = _read(po, locale=locale)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                write_mo(fh, catalog)
            os.replace(tmp, mo)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


@pytest.fixture
def compiled(app):
    _compile_if_needed()
    # Flask-Babel caches loaded catalogues on its (process-wide) domain: drop what an earlier
    # test may have loaded before the .mo files existed.
    from tracker.extensions import babel

    babel.domain_instance.cache.clear()


def _visible_words(page: str) -> list[str]:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]*>", " ", page))
    return [w for w in re.findall(r"[^\W\d_]+", text) if w != "tracker"]


def _without_language_names(page: str) -> str:
    """The page without the language switch's options: each language is named in itself (English, Српски)."""
    return re.sub(r'<option [^>]*lang="[^"]*"[^>]*>[^<]*</option>', "", page)


def test_serbian_browser_gets_the_login_page_in_cyrillic(compiled, client):
    page = client.get("/login", headers={"Accept-Language": "sr"}).get_data(as_text=True)
    assert "Пријава" in page and "Лозинка" in page
    words = _visible_words(_without_language_names(page))
    assert words and all(all(_is_cyrillic(ch) for ch in w) for w in words), words


def test_serbian_latin_browser_gets_the_login_page_in_latin(compiled, client):
    page = client.get("/login", headers={"Accept-Language": "sr-Latn"}).get_data(as_text=True)
    assert "Prijava" in page and "Lozinka" in page
    words = _visible_words(_without_language_names(page))
    assert words and not any(_is_cyrillic(ch) for w in words for ch in w), words

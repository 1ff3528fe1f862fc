#!/usr/bin/env python3
"""Generate the Serbian Cyrillic catalogue from the Serbian Latin one.

Serbian is written in both scripts and the two map letter for letter, so only
tracker/translations/sr_Latn/LC_MESSAGES/messages.po is translated by hand;
this script writes sr_Cyrl/LC_MESSAGES/messages.po from it.  Run it after every
change to the Latin catalogue (``make messages`` does).

Only the msgstr values are transliterated.  These parts of them stay as they are:

* printf placeholders (``%(name)s``, ``%(n)d``, ``%s``, ``%%``) and ``{name}`` fields,
* HTML tags and entities, URLs and email addresses,
* commands of the product in brackets or quotes: ``(tracker flags refresh)``,
* technical tokens: codes with digits or hyphens (``C-7K3M9Q``, ``UTF-8``,
  ``YYYY-MM-DD``), identifiers with underscores or file extensions
  (``child_code``, ``academic_years.csv``),
* the words in KEEP: the product name "tracker", abbreviations used in Latin letters
  (``UASC``, ``CSV``, ``PDF``, ``ID``, ``ISO``...) and ISO codes written in messages.
  Other words in capitals are Serbian and are transliterated (``LJUBAV`` -> ``ЉУБАВ``,
  ``MUP`` -> ``МУП``); add a Latin abbreviation or code to KEEP before using it.

A Latin letter with no Serbian Cyrillic counterpart (q, w, x, y) outside those
parts is reported; add the word to KEEP or reword the Latin translation.

Usage: scripts/translit_po.py [--source LATIN.po] [--output CYRILLIC.po] [--check]
"""
from __future__ import annotations

import argparse
import copy
import io
import re
import sys
import unicodedata
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "tracker" / "translations"
SOURCE = TRANSLATIONS / "sr_Latn" / "LC_MESSAGES" / "messages.po"
OUTPUT = TRANSLATIONS / "sr_Cyrl" / "LC_MESSAGES" / "messages.po"

# Words written in Latin letters in Cyrillic text too, matched as whole words, case-sensitively
# ("UASC-a" keeps "UASC" and transliterates the Serbian ending).
KEEP = frozenset({
    "tracker", "Tracker", "TRACKER",                        # the product's name
    "UASC", "CSV", "PDF", "ID", "ISO", "UTF", "URL", "HTML", "XLSX", "JSON", "SMS", "QR",
    "YYYY", "MM", "DD",                                     # the date format of the imports
    "Windows", "Excel", "OneRoster", "UTC",                 # names of software, formats and standards
    "x",                                                    # the mark of a withheld cell, as the tables print it
})

# Serbian Latin to Serbian Cyrillic.  The digraphs come first; each is one Cyrillic letter.
_LOWER = {
    "dž": "џ", "lj": "љ", "nj": "њ",
    "a": "а", "b": "б", "c": "ц", "č": "ч", "ć": "ћ", "d": "д", "đ": "ђ", "e": "е", "f": "ф",
    "g": "г", "h": "х", "i": "и", "j": "ј", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о",
    "p": "п", "r": "р", "s": "с", "š": "ш", "t": "т", "u": "у", "v": "в", "z": "з", "ž": "ж",
}
# The single-character digraph letters of Unicode (ǅ, ǈ, ǋ and their cases).
_LIGATURES = {"ǆ": "dž", "ǅ": "Dž", "Ǆ": "DŽ", "ǉ": "lj", "ǈ": "Lj", "Ǉ": "LJ", "ǌ": "nj", "ǋ": "Nj", "Ǌ": "NJ"}

# Words in which d+ž, l+j or n+j are two letters, not a digraph: a prefix ending in d or n
# before a stem starting with ž or j (nadživeti, podžanr, injekcija, konjunkcija, vanjezički).
# Matched at the start of a lower-cased word; the value shows where the letters split.
_SPLIT = {
    "nadž": "nad|ž", "podž": "pod|ž", "odžal": "od|žal", "odživ": "od|živ", "predž": "pred|ž",
    "injek": "in|jek", "konjunk": "kon|junk", "vanjez": "van|jez", "tanjug": "tan|jug",
    "konjug": "kon|jug", "injunk": "in|junk",
}

_LETTERS = re.compile(r"[A-Za-zČčĆćĐđŠšŽž]+")

# Parts of a message that are never transliterated, tried in this order.
_PROTECTED = re.compile(
    r"""
      %%[A-Za-z]                                 # a date format code in a formatted message: %%d.%%m.%%Y
    | %%                                         # a literal percent sign
    | %(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa]   # printf
    | %[A-Za-z]                                  # a date format code: %d.%m.%Y
    | \{[A-Za-z_][\w.\[\]]*(?:![rsa])?(?::[^{}]*)?\}   # str.format fields
    | </?[A-Za-z][^<>]*>                         # HTML tags
    | &(?:[A-Za-z][A-Za-z0-9]*|\#\d+|\#[xX][0-9A-Fa-f]+);   # HTML entities
    | (?:https?|ftp)://[^\s<>"“”„]+[^\s<>"“”„.,;:!?)]  # URLs
    | www\.[^\s<>"“”„]+[^\s<>"“”„.,;:!?)]
    | [\w.+-]+@[\w-]+(?:\.[\w-]+)+               # email addresses
    | (?<=[(„"“])tracker(?:\ [a-z][a-z0-9-]*)+(?=[)“"”])   # a command in brackets or quotes
    | \b\w*_\w*\b                                # identifiers: child_code, end_date
    | \b[a-z]+(?:[A-Z][a-z]*)+\b                  # camelCase names from file formats: sourcedId, givenName
    | \b[\w-]*\.(?:csv|pdf|xlsx?|json|txt|po|pot|mo)\b   # file names: academic_years.csv
    | (?<![\w-])\.(?:csv|pdf|xlsx?|json|txt)\b   # extensions after a placeholder
    | \b[A-Z0-9]*[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b  # hyphenated codes: C-7K3M9Q, UTF-8, YYYY-MM-DD
    | \b[A-Z]+-(?![\w])                          # a code prefix: "C-"
    | \b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{2,}\b  # codes with digits: SA001, 7K3M9Q
    """,
    re.VERBOSE,
)


def _word_case(src: str, out: str) -> str:
    """Give out the case of the Latin letter(s) src it replaces."""
    return out.upper() if src[:1].isupper() else out


def kept(word: str) -> bool:
    """Whether a whole word stays in Latin letters."""
    return word in KEEP


def _transliterate_word(word: str) -> str:
    if kept(word):
        return word
    lower = word.lower()
    for stem, split in _SPLIT.items():
        if lower.startswith(stem):
            cut = split.index("|")
            return _transliterate_word(word[:cut]) + _transliterate_word(word[cut:])
    out, i = [], 0
    while i < len(word):
        pair = word[i:i + 2]
        if len(pair) == 2 and pair.lower() in _LOWER:
            out.append(_word_case(pair, _LOWER[pair.lower()]))
            i += 2
            continue
        ch = word[i]
        mapped = _LOWER.get(ch.lower())
        out.append(_word_case(ch, mapped) if mapped else ch)
        i += 1
    return "".join(out)


def _transliterate_plain(text: str) -> str:
    for lig, letters in _LIGATURES.items():
        text = text.replace(lig, letters)
    return _LETTERS.sub(lambda m: _transliterate_word(m.group()), text)


def transliterate(text: str) -> str:
    """Serbian Latin text in Serbian Cyrillic, with protected parts left as they are."""
    text = unicodedata.normalize("NFC", text)
    out, pos = [], 0
    for m in _PROTECTED.finditer(text):
        out.append(_transliterate_plain(text[pos:m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(_transliterate_plain(text[pos:]))
    return "".join(out)


def leftover_latin(text: str) -> list[str]:
    """Latin words still in transliterated text outside the protected parts (for reports)."""
    words = []
    for part in _PROTECTED.split(text):
        for word in re.findall(r"[^\W\d_]+", part):
            if not kept(word) and any("LATIN" in unicodedata.name(ch, "") for ch in word):
                words.append(word)
    return words


def _convert(value):
    if isinstance(value, (tuple, list)):
        return tuple(transliterate(v) for v in value)
    return transliterate(value) if value else value


def _header(catalog, latin) -> None:
    catalog.locale = "sr_Cyrl"
    catalog.language_team = "sr_Cyrl (generated from sr_Latn by scripts/translit_po.py)"
    catalog.header_comment = (
        "# Serbian (Cyrillic) translations for tracker.\n"
        "# GENERATED from sr_Latn/LC_MESSAGES/messages.po by scripts/translit_po.py:\n"
        "# do not edit; change the Latin catalogue and run `make messages`.\n#"
    )
    catalog.revision_date = latin.revision_date
    catalog.last_translator = latin.last_translator


def build(source: Path) -> bytes:
    with source.open("rb") as fh:
        latin = read_po(fh, locale="sr_Latn")
    cyrillic = copy.deepcopy(latin)
    _header(cyrillic, latin)
    problems = []
    for message in list(cyrillic) + list(cyrillic.obsolete.values()):
        if not message.id:
            continue
        message.string = _convert(message.string)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for s in strings:
            left = leftover_latin(s or "")
            if left:
                problems.append(f"{message.id!r}: Latin left in {s!r}: {', '.join(left)}")
    for p in problems:
        print(f"translit_po: warning: {p}", file=sys.stderr)
    buf = io.BytesIO()
    write_po(buf, cyrillic, width=76, include_previous=True)
    return buf.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="the Serbian Latin catalogue")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the Serbian Cyrillic catalogue to write")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the Cyrillic catalogue is not up to date")
    args = parser.parse_args(argv)
    data = build(args.source)
    if args.check:
        current = args.output.read_bytes() if args.output.exists() else b""
        if current != data:
            print(f"{args.output} is out of date: run scripts/translit_po.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

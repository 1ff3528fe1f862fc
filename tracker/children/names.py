"""Names across scripts and spellings: a search key and a possible-duplicate check.

Children's names reach tracker in Arabic, Persian, Cyrillic and several Latin spellings of
each (Mohammad, Muhamed, Мухамед, محمد). Everything is brought to lower-case ASCII (Serbian
Cyrillic by the official Serbian Latin mapping, other scripts by anyascii), then to a
consonant skeleton that survives the usual transliteration differences.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata

from anyascii import anyascii

SERBIAN_CYRILLIC = dict(zip(
    "абвгдђежзијклљмнњопрстћуфхцчџш",
    ["a", "b", "v", "g", "d", "dj", "e", "z", "z", "i", "j", "k", "l", "lj", "m", "n", "nj", "o", "p", "r", "s",
     "t", "c", "u", "f", "h", "c", "c", "dz", "s"],
))
# Spelling variants that transliterations of the same name produce; applied in order.
VARIANTS = [("kh", "h"), ("gh", "g"), ("ph", "f"), ("sh", "s"), ("ch", "c"), ("zh", "z"), ("dh", "d"), ("th", "t"),
            ("q", "k"), ("ck", "k"), ("c", "k"), ("w", "v"), ("x", "ks"), ("y", "i"), ("j", "i"), ("ee", "i"),
            ("oo", "u"), ("ou", "u")]


def to_ascii(text: str) -> str:
    """Lower-case ASCII letters, digits and single spaces."""
    text = unicodedata.normalize("NFC", text or "").lower()
    text = "".join(SERBIAN_CYRILLIC.get(ch, ch) for ch in text)
    text = anyascii(text).lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def skeleton(word: str) -> str:
    """The consonant skeleton of one ASCII word: first letter kept, vowels dropped, doubles collapsed."""
    if not word:
        return ""
    for a, b in VARIANTS:
        word = word.replace(a, b)
    head, tail = word[0], re.sub(r"[aeiou]", "", word[1:])
    return re.sub(r"(.)\1+", r"\1", head + tail)


def name_key(given: str, family: str, original: str = "") -> str:
    """The stored search key: Latin names and the original-script name, all in ASCII."""
    return " ".join(p for p in (to_ascii(given), to_ascii(family), to_ascii(original)) if p)[:200]


def skeletons(text: str) -> list[str]:
    return [skeleton(w) for w in to_ascii(text).split() if w]


def name_similarity(a_given: str, a_family: str, a_original: str, b_given: str, b_family: str, b_original: str) -> float:
    """0..1: how alike two children's names are, across scripts, spellings and word order."""
    a_forms = [" ".join(skeletons(f"{a_given} {a_family}"))]
    b_forms = [" ".join(skeletons(f"{b_given} {b_family}"))]
    a_forms.append(" ".join(skeletons(f"{a_family} {a_given}")))
    if a_original:
        a_forms.append(" ".join(skeletons(a_original)))
    if b_original:
        b_forms.append(" ".join(skeletons(b_original)))
    best = 0.0
    for x in a_forms:
        for y in b_forms:
            if x and y:
                best = max(best, difflib.SequenceMatcher(None, x, y).ratio())
    return best


def birth_dates_close(a: dt.date, a_estimated: bool, b: dt.date, b_estimated: bool) -> bool:
    """Same or close: within a month, or within a year when either date is estimated."""
    limit = 366 if (a_estimated or b_estimated) else 31
    return abs((a - b).days) <= limit


SIMILAR = 0.8

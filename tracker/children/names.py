"""Names across scripts and spellings: a search key and a possible-duplicate check.

Children's names reach tracker in Arabic, Persian, Cyrillic and several Latin spellings of
each (Mohammad, Muhamed, Мухамед, محمد). Everything is brought to lower-case ASCII (Serbian
Cyrillic by the official Serbian Latin mapping, other scripts by anyascii), then to a
consonant skeleton that survives the usual transliteration differences. Two children's names
match when both the given and the family name are alike (``names_match``).
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


def birth_dates_close(a: dt.date, a_estimated: bool, b: dt.date, b_estimated: bool) -> bool:
    """Same or close: within a month, or within a year when either date is estimated."""
    limit = 366 if (a_estimated or b_estimated) else 31
    return abs((a - b).days) <= limit


# --- the possible-duplicate check ------------------------------------------------------------------------
#
# Arabic and Persian script write long vowels with the letters alef, waw and yeh, and often leave short vowels
# out. anyascii turns waw and yeh into the consonants w and y, so "يوسف" kept a w that "Yusuf" and "Јусуф"
# do not have. Read inside a word, they are vowels; at the start of a word, consonants.
# Dad, dhal and za are read z, as in Persian (Reza, رضا): most children writing in Arabic script here are Afghan
# or Iranian.
ARABIC_LETTERS = {"\u0627": "a", "\u0623": "a", "\u0625": "a", "\u0622": "a", "\u0671": "a", "\u0621": "a",
                  "\u0624": "a", "\u0626": "a", "\u0639": "a", "\u0649": "a", "\u0629": "a",
                  "\u0636": "z", "\u0630": "z", "\u0638": "z"}
ARABIC_SEMIVOWELS = {"\u0648": ("w", "u"), "\u064a": ("y", "i"), "\u06cc": ("y", "i")}
PART_SIMILAR = 0.75


def _romanise(text: str) -> str:
    """Like to_ascii, with Arabic-script vowel letters read as vowels inside a word."""
    text = unicodedata.normalize("NFC", text or "").lower()
    out, previous = [], " "
    for ch in text:
        if ch in ARABIC_LETTERS:
            out.append(ARABIC_LETTERS[ch])
        elif ch in ARABIC_SEMIVOWELS:
            at_start, inside = ARABIC_SEMIVOWELS[ch]
            out.append(at_start if not previous.isalpha() else inside)
        else:
            out.append(ch)
        previous = ch
    return to_ascii("".join(out))


def match_key(text: str) -> str:
    """One name (given or family, one or more words) as consonant skeletons, a leading vowel written "a".

    A word that starts with a vowel is written with different vowels in each script (Omar, Umar, عمر), so only
    the fact that it starts with one is kept.
    """
    words = []
    for word in _romanise(text).split():
        sk = skeleton(word)
        if sk and sk[0] in "aeiou":
            sk = "a" + sk[1:]
        words.append(sk)
    return " ".join(w for w in words if w)


def name_splits(given: str, family: str, original: str) -> list[tuple[str, str]]:
    """The (given, family) readings of a child's names: the Latin fields, and each split of the original."""
    out = [(match_key(given), match_key(family))]
    words = (original or "").split()
    for at in range(1, len(words)):
        out.append((match_key(" ".join(words[:at])), match_key(" ".join(words[at:]))))
    return [(g, f) for g, f in out if g and f]


def _part_similarity(a: str, b: str) -> float:
    """How alike two keys of one name are; 0 unless they start with the same letter."""
    if not a or not b or a[0] != b[0]:
        return 0.0
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio()


def names_match(a_given: str, a_family: str, a_original: str, b_given: str, b_family: str, b_original: str) -> float:
    """0..1 for two children's names: both the given and the family name must be alike (in either order).

    The score is the lower of the two names' similarities; below PART_SIMILAR it is 0. Comparing the whole
    name as one string matched different children whose names share consonants in another order
    (Yusuf Haddad, Wahid Safi).
    """
    best = 0.0
    for ag, af in name_splits(a_given, a_family, a_original):
        for bg, bf in name_splits(b_given, b_family, b_original):
            for x, y in (((ag, bg), (af, bf)), ((ag, bf), (af, bg))):
                score = min(_part_similarity(*x), _part_similarity(*y))
                if score >= PART_SIMILAR:
                    best = max(best, score)
    return best

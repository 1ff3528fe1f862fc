#!/usr/bin/env python3
"""Fill the Serbian Latin catalogue from JSON files of translations.

Each JSON file maps a msgid to its Serbian Latin msgstr; for a message with a plural, the value is a
list of the three Serbian forms; a message with a context is keyed "context::msgid". Only messages without a translation are filled, unless --overwrite.
Run ``make messages`` first (so the catalogue has the new msgids), then this script, then
``scripts/translit_po.py`` and ``pybabel compile``.

Usage: scripts/fill_po.py FILE.json [FILE.json ...] [--overwrite]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent.parent / "tracker/translations/sr_Latn/LC_MESSAGES/messages.po"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f, locale="sr_Latn")
    filled = unknown = 0
    for path in args.files:
        for key, msgstr in json.loads(path.read_text(encoding="utf-8")).items():
            context, _sep, msgid = key.rpartition("::")
            message = next((m for m in catalogue if (m.id[0] if isinstance(m.id, tuple) else m.id) == msgid
                            and (m.context or "") == context), None)
            if message is None or not msgid:
                unknown += 1
                print(f"{path.name}: not in the catalogue: {msgid[:70]!r}", file=sys.stderr)
                continue
            empty = not any(message.string) if isinstance(message.string, tuple) else not message.string
            if not empty and not args.overwrite:
                continue
            if isinstance(message.id, tuple):
                forms = msgstr if isinstance(msgstr, list) else [msgstr] * 3
                message.string = tuple(forms)
            else:
                message.string = msgstr if isinstance(msgstr, str) else msgstr[0]
            message.flags.discard("fuzzy")
            filled += 1
    with CATALOGUE.open("wb") as f:
        write_po(f, catalogue)
    missing = sum(1 for m in catalogue if m.id
                  and (not any(m.string) if isinstance(m.string, tuple) else not m.string))
    print(f"filled {filled}, not in the catalogue {unknown}, still untranslated {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

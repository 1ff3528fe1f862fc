"""Cells that a spreadsheet would run as a formula, neutralised: the one helper for every CSV and XLSX tracker writes.

A text cell starting with ``=``, ``+``, ``-``, ``@``, ``%``, ``|``, a tab or a line break is written with a
leading apostrophe (``'=HYPERLINK(...)``), so Excel, LibreOffice and Google Sheets show it as text
instead of running it. School, class and child names come from users and imported files, so every
text cell goes through ``cell``.

Numbers stay numbers. A Python ``int``, ``float`` or ``Decimal`` is never prefixed: in XLSX it is
written as a number cell (a -3 stays the number -3), and in CSV its text (``-3``, ``-0.25``) is a
plain number that spreadsheets read as a number, never as a formula. Text that merely looks like a
number (``"-3"`` typed into a name field) is text, and is neutralised like any other text: only the
writer knows which columns hold numbers, and passes them as numbers.
"""
from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

DANGEROUS = ("=", "+", "-", "@", "%", "|", "\t", "\r", "\n")


def cell(value: Any) -> Any:
    """The value to write: numbers, dates, booleans and None as they are; text made safe."""
    if value is None or isinstance(value, (bool, int, float, Decimal, dt.date, dt.datetime, dt.time)):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(DANGEROUS):
        return "'" + text
    return text


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


class Writer:
    """``csv.writer`` with every cell passed through ``cell`` (header rows too)."""

    def __init__(self, f, *args, **kwargs):
        self._writer = csv.writer(f, *args, **kwargs)
        self.dialect = self._writer.dialect

    def writerow(self, values: Iterable[Any]):
        return self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(f, *args, **kwargs) -> Writer:
    """Like ``csv.writer``: the same arguments, every cell neutralised."""
    return Writer(f, *args, **kwargs)


class DictWriter(csv.DictWriter):
    """``csv.DictWriter`` with every value passed through ``cell``."""

    def writerow(self, rowdict: dict):
        return super().writerow({k: cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[dict]) -> None:
        for rowdict in rowdicts:
            self.writerow(rowdict)

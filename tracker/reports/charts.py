"""Server-rendered SVG charts for the partner report (HTML page and WeasyPrint PDF).

Every chart function returns a ``markupsafe.Markup`` holding exactly one ``<svg>`` element
that can be dropped into a Jinja template as is. The same markup is used in the page and in
the PDF, so the charts look the same in both. No JavaScript, no external resources.

Design notes
------------
* All text that comes from the caller is cleaned (characters that XML forbids and invisible
  bidirectional controls are removed, whitespace collapsed) and XML-escaped. Markup is only
  ever built by ``_el``, which escapes every attribute value and every text child.
* A value of ``None`` (or NaN/infinity) means "withheld": no bar is drawn and an en dash is
  shown in its place, so a suppressed cell is never mistaken for zero.
* WeasyPrint does not lay out right-to-left text inside SVG, so any label containing
  right-to-left characters is replaced by a short key such as "[1]". ``rtl_keys`` returns the
  mapping so the caller can print the real labels in the HTML next to the chart. Each chart
  numbers its keys with ``rtl_keys`` over the labels in a documented order (see the functions).
* Text widths are estimated from a table of DejaVu Sans advance widths (the font the PDF
  uses), with a small safety margin, so wrapping and ellipses are deterministic and do not
  depend on fonts installed on the machine that renders the chart.
* Output is deterministic: the same input gives the same bytes. Element ids are derived from
  a hash of the inputs; pass ``chart_id`` when the same chart appears twice on one page.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from markupsafe import Markup, escape

__all__ = [
    "FONT_FAMILY",
    "PALETTE",
    "WITHHELD",
    "bar_chart",
    "format_value",
    "hbar_chart",
    "month_chart",
    "rtl_keys",
]

SVG_NS = "http://www.w3.org/2000/svg"
# A chart shrinks to the width of a phone screen, keeping its proportions, by the stylesheets'
# rule for svg.chart (tracker.css, report-print.css): the pages' Content-Security-Policy allows no
# inline style attribute, so the SVG carries none.
FONT_FAMILY = "DejaVu Sans, Noto Sans, sans-serif"
WITHHELD = "\u2013"  # en dash: the value is withheld or missing
ELLIPSIS = "\u2026"

# Series colours, ordered so that neighbours differ strongly in lightness (CIE L* about
# 24, 74, 51, 85, 36, 62) and stay distinguishable when printed in greyscale. Every bar
# and legend swatch also gets a dark outline, so light colours keep a visible edge on white.
PALETTE = ("#0b3c5d", "#f0a830", "#1f8a70", "#bfd7ea", "#6b3fa0", "#e07a5f")
OUTLINE = "#333333"
INK = "#222222"  # titles and labels
MUTED = "#555555"  # tick labels and withheld marks
GRID = "#dddddd"
AXIS = "#666666"

PAD = 12
TITLE_SIZE = 15
TITLE_LINE = 19
LABEL_SIZE = 12
LABEL_LINE = 14
VALUE_SIZE = 11
MIN_VALUE_SIZE = 7
TICK_SIZE = 11
PLOT_HEIGHT = 200
MIN_WIDTH = 200

# Advance widths of DejaVu Sans (Book) for U+0020..U+007E, in thousandths of an em.
_ASCII_WIDTHS = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531,
    1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
    603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500,
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)
_OTHER_WIDTHS = {WITHHELD: 500, ELLIPSIS: 1000, "\u00a0": 318, "\u2014": 1000}
_DEFAULT_WIDTH = 760  # Cyrillic and other scripts: a little above the Cyrillic average
_BOLD_FACTOR = 1.1
_SAFETY = 1.04

# Invisible characters that change the display order of text. Browsers obey them but
# WeasyPrint's SVG text does not, so they are removed to keep page and PDF identical.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_RTL_CLASSES = frozenset({"R", "AL"})
_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


# --------------------------------------------------------------------------- text helpers


def _clean(value: object) -> str:
    """Return ``value`` as plain text that is safe to put in XML: no forbidden characters,
    no bidirectional controls, whitespace collapsed to single spaces."""
    text = "" if value is None else str(value)
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _BIDI_CONTROLS:
            continue
        if ch in "\t\n\r":
            out.append(" ")
        elif code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in text)


def rtl_keys(labels: Iterable[object]) -> dict[object, str]:
    """Map each label that contains right-to-left characters to a short key ("[1]", "[2]", ...).

    Keys are numbered in the order the labels first appear; repeated labels share a key.
    Labels without right-to-left characters are not in the result. The charts use exactly
    this function, over the labels listed in each chart's docstring, so the caller can print
    the same mapping in the HTML around the chart.
    """
    keys: dict[object, str] = {}
    for label in labels:
        if label not in keys and _is_rtl(_clean(label)):
            keys[label] = f"[{len(keys) + 1}]"
    return keys


def _char_width(ch: str) -> float:
    """Estimated advance width of one character, in em."""
    code = ord(ch)
    if 0x20 <= code < 0x7F:
        return _ASCII_WIDTHS[code - 0x20] / 1000
    if ch in _OTHER_WIDTHS:
        return _OTHER_WIDTHS[ch] / 1000
    if unicodedata.combining(ch):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    base = unicodedata.normalize("NFD", ch)[0]
    if base != ch and 0x20 <= ord(base) < 0x7F:  # Latin letters with diacritics: č, ć, š, ž, é ...
        return _ASCII_WIDTHS[ord(base) - 0x20] / 1000
    return _DEFAULT_WIDTH / 1000


def _text_width(text: str, size: float, bold: bool = False) -> float:
    width = sum(_char_width(ch) for ch in text) * size * _SAFETY
    return width * _BOLD_FACTOR if bold else width


def _ellipsize(text: str, max_width: float, size: float, bold: bool = False) -> str:
    """Shorten ``text`` with an ellipsis so that it fits in ``max_width``."""
    if _text_width(text, size, bold) <= max_width:
        return text
    text = text[:300]
    room = max_width - _text_width(ELLIPSIS, size, bold)
    used, cut = 0.0, 0
    for i, ch in enumerate(text):
        used += _char_width(ch) * size * _SAFETY * (_BOLD_FACTOR if bold else 1)
        if used > room:
            break
        cut = i + 1
    return text[:cut].rstrip() + ELLIPSIS


def _wrap(text: str, max_width: float, size: float, max_lines: int = 2, bold: bool = False) -> list[str]:
    """Greedy word wrap into at most ``max_lines`` lines; what does not fit ends in an ellipsis."""
    words = text.split()
    lines: list[str] = []
    current = ""
    i = 0
    while i < len(words):
        candidate = f"{current} {words[i]}" if current else words[i]
        if _text_width(candidate, size, bold) <= max_width:
            current = candidate
            i += 1
            continue
        if len(lines) == max_lines - 1:  # last line: squeeze the rest in with an ellipsis
            rest = " ".join([current, *words[i:]]).strip()
            lines.append(_ellipsize(rest, max_width, size, bold))
            return lines
        if current:
            lines.append(current)
            current = ""
            continue
        lines.append(_ellipsize(words[i], max_width, size, bold))  # one word longer than a line
        i += 1
    if current:
        lines.append(current)
    return lines


def _two_line_width(text: str, size: float) -> float:
    """Narrowest width in which ``text`` fits on at most two lines without an ellipsis."""
    words = text.split()
    best = _text_width(" ".join(words), size)
    for k in range(1, len(words)):
        best = min(best, max(_text_width(" ".join(words[:k]), size), _text_width(" ".join(words[k:]), size)))
    return best


# --------------------------------------------------------------------------- numbers


def _number(value: object) -> float | None:
    """A finite float, or None for withheld/missing (None, NaN, infinity)."""
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"chart values must be numbers or None, not {value!r}") from None
    return number if math.isfinite(number) else None


def _round_half_up(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def format_value(value: float | None, percent: bool = True) -> str:
    """Format a value the way the charts label it.

    Percentages (value is a fraction, 0.87 -> "87%") are whole percent, rounded half up,
    except below 1% where one decimal is shown ("0.4%", "<0.1%"). Counts have no decimals; other
    numbers (mean scores) one decimal.
    None (withheld) gives an en dash.
    """
    number = _number(value)
    if number is None:
        return WITHHELD
    try:
        exact = Decimal(repr(number))
        if percent:
            pct = exact * 100
            if pct == 0:
                return "0%"
            if abs(pct) < 1:
                tenth = _round_half_up(pct, "0.1")
                if tenth == 0:
                    return "<0.1%" if pct > 0 else ">-0.1%"
                if abs(tenth) < 1:
                    return f"{tenth}%"
            return f"{int(_round_half_up(pct, '1'))}%"
        if exact == exact.to_integral_value():
            return str(int(exact))
        return str(_round_half_up(exact, "0.1"))  # a mean score (3.3), not a count
    except InvalidOperation:  # beyond Decimal precision: astronomically large numbers
        return f"{number * 100:.0f}%" if percent else f"{number:.0f}"


def _fmt(x: float) -> str:
    """Coordinate for an attribute: at most two decimals, no trailing zeros, never '-0'."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _nice_step(raw: float, integer: bool) -> float:
    """Smallest 'round' step (1, 2, 2.5 or 5 times a power of ten) not below ``raw``."""
    if raw <= 0:
        return 1.0
    exponent = math.floor(math.log10(raw))
    for exp in (exponent, exponent + 1):
        for mantissa in (1, 2, 2.5, 5):
            step = mantissa * 10.0**exp
            if step >= raw * (1 - 1e-9) and (not integer or float(step).is_integer()):
                return max(step, 1.0) if integer else step
    return 10.0 ** (exponent + 1)


def _dividing_step(top: float) -> float:
    """A round step that divides ``top`` into 3 to 6 intervals, if there is one."""
    step = _nice_step(top / 6, integer=False)
    for _ in range(4):
        intervals = top / step
        if 3 - 1e-9 <= intervals and abs(intervals - round(intervals)) < 1e-9:
            return step
        step = _nice_step(step * 1.01, integer=False)
    return _nice_step(top / 4, integer=top >= 4)


def _scale(data_max: float, percent: bool, max_value: float | None) -> tuple[float, list[float]]:
    """Top of the value axis and the tick values, both in data units (fractions for percent)."""
    factor = 100.0 if percent else 1.0
    top_value = _number(max_value)
    if top_value is not None and top_value > 0:
        top = top_value * factor
        step = 25.0 if percent and top == 100 else _dividing_step(top)
    elif percent and data_max <= 1:
        top, step = 100.0, 25.0
    else:
        largest = data_max * factor
        step = _nice_step(largest / 4 if largest > 0 else 0.25, integer=True)
        top = max(step, math.ceil(largest / step - 1e-9) * step)
    count = int(math.floor(top / step + 1e-9))
    ticks = [round(k * step, 10) / factor for k in range(count + 1)]
    return top / factor, ticks


def _tick_label(tick: float, percent: bool) -> str:
    value = tick * 100 if percent else tick
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    return f"{text}%" if percent else text


# --------------------------------------------------------------------------- markup


def _el(tag: str, attrs: dict[str, object] | None = None, content: object = None) -> Markup:
    """One element. Attribute values and text content are always escaped; content may be a
    list of already built elements (Markup) which is joined as is."""
    parts = [tag]
    for name, value in (attrs or {}).items():
        if value is None:
            continue
        if isinstance(value, float):
            value = _fmt(value)
        parts.append(f'{name}="{escape(value)}"')
    start = "<" + " ".join(parts)
    if content is None:
        return Markup(start + "/>")
    if isinstance(content, (list, tuple)):
        inner = Markup("").join(content)  # plain strings in the list get escaped
    else:
        inner = escape(content)
    return Markup(f"{start}>{inner}</{tag}>")


def _text(x: float, y: float, text: str, *, size: float, anchor: str = "middle", bold: bool = False,
          fill: str = INK, cls: str | None = None, transform: str | None = None) -> Markup:
    return _el("text", {
        "class": cls,
        "x": float(x),
        "y": float(y),
        "font-size": float(size),
        "font-weight": "bold" if bold else None,
        "text-anchor": anchor,
        "fill": fill,
        "transform": transform,
    }, text)


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, cls: str | None = None) -> Markup:
    return _el("line", {"class": cls, "x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2),
                        "stroke": stroke, "stroke-width": "1"})


def _rect(x: float, y: float, w: float, h: float, fill: str, cls: str | None = None) -> Markup:
    return _el("rect", {"class": cls, "x": float(x), "y": float(y), "width": float(w), "height": float(h),
                        "fill": fill, "stroke": OUTLINE, "stroke-width": "0.8"})


def _chart_id(chart_id: str | None, *inputs: object) -> str:
    if chart_id is not None:
        if not isinstance(chart_id, str) or not _ID_RE.fullmatch(chart_id):
            raise ValueError("chart_id must start with a letter and hold only letters, digits, '-' and '_'")
        return chart_id
    blob = json.dumps(inputs, ensure_ascii=False, default=str, separators=(",", ":"))
    return "chart-" + hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _svg(cid: str, title: str, desc: str, width: int, height: float, body: list[Markup]) -> Markup:
    height_px = int(math.ceil(height))
    return _el("svg", {
        "xmlns": SVG_NS,
        "id": cid,
        "class": "chart",
        "width": str(width),
        "height": str(height_px),
        "viewBox": f"0 0 {width} {height_px}",
        "role": "img",
        "aria-labelledby": f"{cid}-title",
        "aria-describedby": f"{cid}-desc" if desc else None,
        "font-family": FONT_FAMILY,
    }, [
        _el("title", {"id": f"{cid}-title"}, title),
        *([_el("desc", {"id": f"{cid}-desc"}, desc)] if desc else []),
        *body,
    ])


def _title_block(shown_title: str, width: int) -> tuple[list[Markup], float]:
    """Visible title, left aligned, on up to two lines. Returns elements and the y below it."""
    lines = _wrap(shown_title, width - 2 * PAD, TITLE_SIZE, 2, bold=True)
    elements = [
        _text(PAD, PAD + TITLE_SIZE + k * TITLE_LINE, line, size=TITLE_SIZE, anchor="start", bold=True,
              cls="chart-title")
        for k, line in enumerate(lines)
    ]
    return elements, PAD + len(lines) * TITLE_LINE


def _check_width(width: object) -> int:
    value = int(width)  # type: ignore[call-overload]
    if value < MIN_WIDTH:
        raise ValueError(f"chart width must be at least {MIN_WIDTH}")
    return value


def _empty(cid: str, title: str, shown_title: str, empty_text: str, width: int) -> Markup:
    elements, y = _title_block(shown_title, width)
    box_top = y + 8
    box_height = 56
    elements.append(_el("rect", {"x": float(PAD), "y": float(box_top), "width": float(width - 2 * PAD),
                                 "height": float(box_height), "fill": "#f4f4f4", "stroke": GRID}))
    message = _ellipsize(_clean(empty_text), width - 4 * PAD, LABEL_SIZE)
    elements.append(_text(width / 2, box_top + box_height / 2 + 4, message, size=LABEL_SIZE, fill=MUTED,
                          cls="empty"))
    return _svg(cid, title, _clean(empty_text), width, box_top + box_height + PAD, elements)


def _labeller(labels: Sequence[object]):
    keys = rtl_keys(labels)

    def shown(label: object) -> str:
        return keys.get(label) or _clean(label)

    return shown


# --------------------------------------------------------------------------- vertical bars


def _vertical_chart(*, kind: str, title: str, categories: Sequence[object],
                    series: Sequence[tuple[object, Sequence[float | None]]], percent: bool,
                    max_value: float | None, width: int, empty_text: str, withheld_text: str,
                    chart_id: str | None, thin_labels: bool) -> Markup:
    width = _check_width(width)
    categories = list(categories)
    series = [(name, list(values)) for name, values in series]
    for name, values in series:
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
    cid = _chart_id(chart_id, kind, title, categories, series, percent, max_value, width, empty_text,
                    withheld_text)
    names = [name for name, _ in series]
    shown = _labeller([*categories, *names, title])
    plain_title = _clean(title)
    if not categories or not series:
        return _empty(cid, plain_title, shown(title), empty_text, width)

    data = [[_number(v) for v in values] for _, values in series]
    present = [v for values in data for v in values if v is not None]
    top, ticks = _scale(max(present, default=0.0), percent, max_value)

    body, y = _title_block(shown(title), width)
    if len(series) > 1:
        legend, y = _legend([shown(n) for n in names], y + 8, width)
        body += legend

    tick_labels = [_tick_label(t, percent) for t in ticks]
    left = PAD + max(_text_width(t, TICK_SIZE) for t in tick_labels) + 6
    right = width - PAD
    plot_w = right - left
    n, ns = len(categories), len(series)
    group_w = plot_w / n
    gap = 2.0 if ns > 1 else 0.0
    fill_share = 0.62 if ns == 1 else 0.8
    bar_w = max(1.0, min(48.0 if ns == 1 else 36.0, (group_w * fill_share - gap * (ns - 1)) / ns))
    pitch = bar_w + gap

    # Value labels: one font size for the whole chart, shrunk to fit the space between bars,
    # turned vertical when even the smallest size would overlap the neighbours.
    value_texts = [[format_value(v, percent) if v is not None else WITHHELD for v in values] for values in data]
    widest = max(_text_width(t, VALUE_SIZE) for texts in value_texts for t in texts)
    room = (pitch if ns > 1 else group_w) - 2
    value_size = min(VALUE_SIZE, VALUE_SIZE * room / widest) if widest > 0 else VALUE_SIZE
    rotate = value_size < MIN_VALUE_SIZE
    if rotate:
        value_size = max(6.0, min(VALUE_SIZE, room))
    value_size = math.floor(value_size * 2) / 2
    headroom = (widest * value_size / VALUE_SIZE if rotate else value_size) + 6

    plot_top = y + 8 + headroom
    plot_bottom = plot_top + PLOT_HEIGHT

    for tick, label in zip(ticks, tick_labels):
        ty = plot_bottom - tick / top * PLOT_HEIGHT
        if tick > 0:
            body.append(_line(left, ty, right, ty, GRID, cls="grid"))
        body.append(_text(left - 6, ty + TICK_SIZE * 0.35, label, size=TICK_SIZE, anchor="end", fill=MUTED,
                          cls="tick"))

    if ticks[-1] < top * (1 - 1e-9):  # explicit max_value that is not on a tick: still mark the top
        body.append(_line(left, plot_top, right, plot_top, GRID, cls="grid"))

    for i in range(n):
        group_x = left + i * group_w + (group_w - (ns * bar_w + (ns - 1) * gap)) / 2
        for j, values in enumerate(data):
            x = group_x + j * pitch
            cx = x + bar_w / 2
            value = values[i]
            if value is None:
                body.append(_text(cx, plot_bottom - 4, WITHHELD, size=max(value_size, VALUE_SIZE) + 1, bold=True,
                                  fill=MUTED, cls="withheld"))
                continue
            height = min(max(value, 0.0) / top, 1.0) * PLOT_HEIGHT
            if height > 0:
                body.append(_rect(x, plot_bottom - height, bar_w, height, PALETTE[j % len(PALETTE)], cls="bar"))
            label_y = plot_bottom - height - 4
            if rotate:
                body.append(_text(cx + value_size * 0.35, label_y, value_texts[j][i], size=value_size,
                                  anchor="start", cls="value",
                                  transform=f"rotate(-90 {_fmt(cx + value_size * 0.35)} {_fmt(label_y)})"))
            else:
                body.append(_text(cx, label_y, value_texts[j][i], size=value_size, cls="value"))

    body.append(_line(left, plot_bottom, right, plot_bottom, AXIS, cls="axis"))

    # Category labels under the axis. Month charts show every k-th label when they are crowded.
    shown_categories = [shown(c) for c in categories]
    step = 1
    if thin_labels:
        need = max(_two_line_width(c, LABEL_SIZE) for c in shown_categories) + 4
        step = max(1, math.ceil(need / group_w))
        if step > 1:
            for i in range(n):
                mx = left + (i + 0.5) * group_w
                body.append(_line(mx, plot_bottom, mx, plot_bottom + 4, AXIS, cls="tick-mark"))
    label_w = max(step * group_w - 4, 8)
    max_lines = 0
    for i in range(0, n, step):
        lines = _wrap(shown_categories[i], label_w, LABEL_SIZE, 2)
        if not lines:
            continue
        max_lines = max(max_lines, len(lines))
        half = max(_text_width(line, LABEL_SIZE) for line in lines) / 2
        cx = min(max(left + (i + 0.5) * group_w, half + 2), width - half - 2)
        for k, line in enumerate(lines):
            body.append(_text(cx, plot_bottom + 6 + LABEL_SIZE + k * LABEL_LINE, line, size=LABEL_SIZE,
                              cls="category"))
    height = plot_bottom + 6 + max(max_lines, 1) * LABEL_LINE + PAD

    desc = _describe_vertical(categories, names, data, percent, withheld_text)
    return _svg(cid, plain_title, desc, width, height, body)


def _legend(names: list[str], y: float, width: int) -> tuple[list[Markup], float]:
    elements: list[Markup] = []
    x, row_y = float(PAD), y
    for j, name in enumerate(names):
        label = _ellipsize(name, min(220.0, width - 2 * PAD - 18), LABEL_SIZE)
        item_w = 18 + _text_width(label, LABEL_SIZE)
        if x > PAD and x + item_w > width - PAD:
            x, row_y = float(PAD), row_y + 18
        elements.append(_rect(x, row_y, 12, 12, PALETTE[j % len(PALETTE)], cls="swatch"))
        elements.append(_text(x + 18, row_y + 10.5, label, size=LABEL_SIZE, anchor="start", cls="legend"))
        x += item_w + 16
    return elements, row_y + 14


def _describe_vertical(categories: list[object], names: list[object], data: list[list[float | None]],
                       percent: bool, withheld_text: str) -> str:
    def value(v: float | None) -> str:
        return format_value(v, percent) if v is not None else _clean(withheld_text)

    if len(names) == 1:
        return "; ".join(f"{_clean(c)}: {value(v)}" for c, v in zip(categories, data[0]))
    return "; ".join(
        f"{_clean(name)}: " + ", ".join(f"{_clean(c)} {value(v)}" for c, v in zip(categories, values))
        for name, values in zip(names, data)
    )


def bar_chart(title: str, categories: list[str], series: list[tuple[str, list[float | None]]], *,
              percent: bool = True, max_value: float | None = None, width: int = 640,
              empty_text: str = "No data", withheld_text: str = "withheld",
              chart_id: str | None = None) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series.

    ``percent=True``: values are fractions 0..1, labelled "87%", on a 0..100% axis (or up to
    ``max_value``; larger values are clipped at the top and keep their true label). Otherwise
    values are counts on an axis with round ticks. None means withheld: no bar, an en dash.
    A legend is drawn for two or more series. ``empty_text`` is shown when there are no
    categories or no series; ``withheld_text`` is used in the non-visual description.
    Right-to-left labels are replaced by the keys of ``rtl_keys([*categories, *series names, title])``.
    """
    return _vertical_chart(kind="bar", title=title, categories=categories, series=series, percent=percent,
                           max_value=max_value, width=width, empty_text=empty_text,
                           withheld_text=withheld_text, chart_id=chart_id, thin_labels=False)


def month_chart(title: str, months: list[str], values: list[float | None], *, percent: bool = True,
                width: int = 640, empty_text: str = "No data", withheld_text: str = "withheld",
                chart_id: str | None = None) -> Markup:
    """One bar per month (for example the attendance rate), month labels under the axis.

    When there are too many months for every label to fit, every second (third, ...) month is
    labelled, with a tick mark under each month. Right-to-left labels are replaced by the keys of
    ``rtl_keys([*months, title])``.
    """
    months = list(months)
    values = list(values)
    if len(values) != len(months):
        raise ValueError(f"{len(values)} values for {len(months)} months")
    return _vertical_chart(kind="month", title=title, categories=months, series=[("", values)],
                           percent=percent, max_value=None, width=width, empty_text=empty_text,
                           withheld_text=withheld_text, chart_id=chart_id, thin_labels=True)


# --------------------------------------------------------------------------- horizontal bars


def hbar_chart(title: str, items: list[tuple[str, float | None]], *, percent: bool = False, width: int = 640,
               empty_text: str = "No data", withheld_text: str = "withheld",
               chart_id: str | None = None) -> Markup:
    """Horizontal bars, one per (label, value) item, with the value written after each bar.

    Counts by default (``percent=True`` for fractions). None means withheld: no bar, an en dash.
    Right-to-left labels are replaced by the keys of ``rtl_keys([*item labels, title])``.
    """
    width = _check_width(width)
    items = [(label, value) for label, value in items]
    cid = _chart_id(chart_id, "hbar", title, items, percent, width, empty_text, withheld_text)
    labels = [label for label, _ in items]
    shown = _labeller([*labels, title])
    plain_title = _clean(title)
    if not items:
        return _empty(cid, plain_title, shown(title), empty_text, width)

    values = [_number(v) for _, v in items]
    present = [v for v in values if v is not None]
    top, ticks = _scale(max(present, default=0.0), percent, None)
    value_texts = [format_value(v, percent) if v is not None else WITHHELD for v in values]
    value_room = max(_text_width(t, VALUE_SIZE) for t in value_texts) + 6

    body, y = _title_block(shown(title), width)
    shown_labels = [shown(label) for label in labels]
    # Labels stay on one line when the widest fits in 40% of the chart; otherwise they wrap.
    widest_label = max(_text_width(label, LABEL_SIZE) for label in shown_labels)
    label_w = max(40.0, min(widest_label, width * 0.4))
    left = PAD + label_w + 8
    right = width - PAD - value_room
    plot_w = right - left
    if plot_w < 60:  # very narrow chart: give the bars room at the labels' expense
        left = PAD + max(20.0, label_w - (60 - plot_w))
        label_w = left - PAD - 8
        plot_w = right - left
    wrapped = [_wrap(label, label_w, LABEL_SIZE, 2) for label in shown_labels]
    row_h = 32.0 if any(len(lines) > 1 for lines in wrapped) else 24.0
    bar_h = 16.0

    plot_top = y + 10
    plot_bottom = plot_top + len(items) * row_h

    tick_labels = [_tick_label(t, percent) for t in ticks]
    every = 1  # on a narrow chart, label every second (third, ...) gridline so labels do not collide
    spacing = plot_w / max(len(ticks) - 1, 1)
    while every < len(ticks) and max(_text_width(t, TICK_SIZE) for t in tick_labels) + 6 > spacing * every:
        every += 1
    for index, (tick, label) in enumerate(zip(ticks, tick_labels)):
        tx = left + tick / top * plot_w
        if tick > 0:
            body.append(_line(tx, plot_top, tx, plot_bottom, GRID, cls="grid"))
        if index % every == 0:
            body.append(_text(tx, plot_bottom + 6 + TICK_SIZE, label, size=TICK_SIZE, fill=MUTED, cls="tick"))

    for k, (lines, value, text) in enumerate(zip(wrapped, values, value_texts)):
        cy = plot_top + (k + 0.5) * row_h
        first = cy - (len(lines) - 1) * LABEL_LINE / 2 + LABEL_SIZE * 0.35
        for m, line in enumerate(lines):
            body.append(_text(left - 8, first + m * LABEL_LINE, line, size=LABEL_SIZE, anchor="end",
                              cls="category"))
        if value is None:
            body.append(_text(left + 4, cy + VALUE_SIZE * 0.35, WITHHELD, size=VALUE_SIZE + 1, anchor="start",
                              bold=True, fill=MUTED, cls="withheld"))
            continue
        length = min(max(value, 0.0) / top, 1.0) * plot_w
        if length > 0:
            body.append(_rect(left, cy - bar_h / 2, length, bar_h, PALETTE[0], cls="bar"))
        body.append(_text(left + length + 4, cy + VALUE_SIZE * 0.35, text, size=VALUE_SIZE, anchor="start",
                          cls="value"))

    body.append(_line(left, plot_top, left, plot_bottom, AXIS, cls="axis"))
    height = plot_bottom + 6 + TICK_SIZE + PAD

    def described(v: float | None) -> str:
        return format_value(v, percent) if v is not None else _clean(withheld_text)

    desc = "; ".join(f"{_clean(label)}: {described(v)}" for label, v in zip(labels, values))
    return _svg(cid, plain_title, desc, width, height, body)

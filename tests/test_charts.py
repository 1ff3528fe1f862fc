"""The report charts: well-formed, accessible, escaped SVG that WeasyPrint renders as real text."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from tracker.reports import charts
from tracker.reports.charts import bar_chart, format_value, hbar_chart, month_chart, rtl_keys

NS = "{http://www.w3.org/2000/svg}"
NASTY = '<b>&"x"'
AFGHANISTAN = "أفغانستان"
GIRLS_CYRILLIC = "Девојчице"


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))
    assert root.tag == f"{NS}svg"
    return root


def texts(root: ET.Element, cls: str | None = None) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text") if cls is None or t.get("class") == cls]


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{NS}rect") if r.get("class") == "bar"]


def sample_bar(**kw) -> Markup:
    return bar_chart("Retention by sex", ["90 days", "180 days", "365 days"],
                     [("Girls", [0.87, 0.8, None]), ("Boys", [0.9, 0.0, 1.0])], **kw)


def sample_hbar(**kw) -> Markup:
    return hbar_chart("Exits by reason", [("Moved abroad", 12), ("Other", 3), ("Unknown", None)], **kw)


def sample_month(**kw) -> Markup:
    return month_chart("Attendance by month", ["Sep 2024", "Oct 2024", "Nov 2024"], [0.91, None, 0.5], **kw)


BUILDERS = {"bar": sample_bar, "hbar": sample_hbar, "month": sample_month}
TITLES = {"bar": "Retention by sex", "hbar": "Exits by reason", "month": "Attendance by month"}


# --------------------------------------------------------------------------- structure and accessibility


@pytest.mark.parametrize("kind", BUILDERS)
def test_chart_is_well_formed_and_labelled(kind):
    svg = BUILDERS[kind]()
    root = parse(svg)
    assert root.get("role") == "img"
    first = root[0]
    assert first.tag == f"{NS}title"
    assert first.text == TITLES[kind]
    assert root.get("aria-labelledby") == first.get("id")
    assert first.get("id")
    assert TITLES[kind] in texts(root)  # also visible, so it ends up in the PDF
    width, height = int(root.get("width")), int(root.get("height"))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    assert width == 640 and height > 100
    assert root.get("style") is None  # the Content-Security-Policy blocks inline styles; the stylesheets scale it
    assert root.get("font-family") == "DejaVu Sans, Noto Sans, sans-serif"
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    desc_id = root.get("aria-describedby")
    assert desc_id and root.find(f"{NS}desc").get("id") == desc_id


def test_charts_scale_by_the_stylesheets_not_an_inline_style():
    # The pages' Content-Security-Policy (style-src 'self') drops an inline style attribute, so a chart
    # that relied on one would keep its full width and be cut off on a phone.
    from pathlib import Path

    static = Path(__file__).resolve().parent.parent / "tracker" / "static"
    for sheet in ("tracker.css", "report-print.css"):
        css = (static / sheet).read_text(encoding="utf-8")
        assert re.search(r"svg[^{]*\{[^}]*max-width:\s*100%[^}]*height:\s*auto", css), sheet
    for build in BUILDERS.values():
        assert parse(build()).get("style") is None


def test_width_parameter_sets_size():
    root = parse(sample_bar(width=400))
    assert root.get("width") == "400" and root.get("viewBox").startswith("0 0 400 ")
    with pytest.raises(ValueError):
        sample_bar(width=50)


def test_two_charts_get_different_ids_and_output_is_deterministic():
    ids = {parse(build()).get("aria-labelledby") for build in BUILDERS.values()}
    ids.add(parse(bar_chart("Retention by sex", ["90 days"], [("Girls", [0.5])])).get("aria-labelledby"))
    assert len(ids) == 4
    assert sample_bar() == sample_bar()  # same input, same bytes
    assert sample_month() == sample_month()


def test_chart_id_can_be_forced_and_is_validated():
    one, two = parse(sample_bar(chart_id="retention-a")), parse(sample_bar(chart_id="retention-b"))
    assert one.get("aria-labelledby") == "retention-a-title" != two.get("aria-labelledby")
    with pytest.raises(ValueError):
        sample_bar(chart_id='x" onload="alert(1)')


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("kind", BUILDERS)
def test_text_is_escaped(kind):
    svg = {
        "bar": lambda: bar_chart(NASTY, [NASTY, "b"], [(NASTY, [0.5, 0.25]), ("Boys", [0.1, 0.2])]),
        "hbar": lambda: hbar_chart(NASTY, [(NASTY, 3), ("b", 1)]),
        "month": lambda: month_chart(NASTY, [NASTY, "Oct"], [0.5, 0.2]),
    }[kind]()
    raw = str(svg)
    assert "<b>" not in raw
    assert "&lt;b&gt;&amp;&#34;x&#34;" in raw
    root = parse(svg)  # still well-formed
    assert root.find(f"{NS}title").text == NASTY
    assert NASTY in texts(root)


def test_markup_labels_are_not_trusted_and_bad_characters_are_dropped():
    svg = bar_chart(Markup("<i>Title</i>"), [Markup("<script>x</script>"), "a\x00b\x1bc\u202ed"], [("S", [0.1, 0.2])])
    raw = str(svg)
    assert "<script>" not in raw and "<i>" not in raw
    root = parse(svg)
    labels = texts(root, "category")
    assert "<script>x</script>" in labels
    assert "abcd" in labels  # control and bidi override characters removed


# --------------------------------------------------------------------------- values


def test_withheld_values_draw_no_bar_but_a_dash():
    root = parse(bar_chart("T", ["a", "b"], [("S", [0.5, None])]))
    assert len(bars(root)) == 1
    assert texts(root, "withheld") == ["\u2013"]
    assert "50%" in texts(root, "value")

    root = parse(hbar_chart("T", [("a", 4), ("b", None)]))
    assert len(bars(root)) == 1 and texts(root, "withheld") == ["\u2013"]

    root = parse(month_chart("T", ["Jan", "Feb"], [None, 0.5]))
    assert len(bars(root)) == 1 and texts(root, "withheld") == ["\u2013"]


def test_nan_counts_as_withheld():
    root = parse(bar_chart("T", ["a", "b"], [("S", [float("nan"), 0.5])]))
    assert len(bars(root)) == 1 and texts(root, "withheld") == ["\u2013"]


def test_all_values_withheld():
    root = parse(bar_chart("T", ["a", "b"], [("Girls", [None, None]), ("Boys", [None, None])]))
    assert bars(root) == []
    assert texts(root, "withheld") == ["\u2013"] * 4
    assert texts(root, "category") == ["a", "b"]
    assert texts(root, "tick") == ["0%", "25%", "50%", "75%", "100%"]
    root = parse(hbar_chart("T", [("a", None)]))
    assert bars(root) == [] and texts(root, "withheld") == ["\u2013"]


def test_zero_values_have_no_height_but_a_label():
    root = parse(bar_chart("T", ["a", "b"], [("S", [0.0, 0.5])]))
    assert all(float(r.get("height")) > 0 for r in bars(root))
    assert len(bars(root)) == 1
    assert texts(root, "value") == ["0%", "50%"]
    root = parse(hbar_chart("T", [("a", 0), ("b", 2)]))
    assert len(bars(root)) == 1 and texts(root, "value") == ["0", "2"]


def test_bar_heights_are_proportional():
    root = parse(bar_chart("T", ["a", "b"], [("S", [0.25, 0.5])]))
    low, high = (float(r.get("height")) for r in bars(root))
    assert high / low == pytest.approx(2)
    root = parse(month_chart("T", ["a", "b"], [0.25, 0.5]))
    low, high = (float(r.get("height")) for r in bars(root))
    assert high / low == pytest.approx(2)
    root = parse(hbar_chart("T", [("a", 3), ("b", 12)]))
    short, long = (float(r.get("width")) for r in bars(root))
    assert long / short == pytest.approx(4)


def test_full_percent_bar_reaches_the_top_gridline():
    root = parse(bar_chart("T", ["a"], [("S", [1.0])]))
    (bar,) = bars(root)
    grid_y = sorted(float(line.get("y1")) for line in root.iter(f"{NS}line") if line.get("class") == "grid")
    assert float(bar.get("y")) == pytest.approx(grid_y[0])  # the 100% line
    assert texts(root, "value") == ["100%"]


def test_values_above_max_value_are_clipped_but_keep_their_label():
    root = parse(bar_chart("T", ["a", "b"], [("S", [0.7, 0.25])], max_value=0.5))
    full, half = (float(r.get("height")) for r in bars(root))
    assert full / half == pytest.approx(2)
    assert texts(root, "value") == ["70%", "25%"]
    assert texts(root, "tick")[-1] == "50%"


def test_single_value():
    for svg in (bar_chart("T", ["Only"], [("S", [0.42])]), hbar_chart("T", [("Only", 7)]),
                month_chart("T", ["Sep 2024"], [0.42])):
        root = parse(svg)
        assert len(bars(root)) == 1
        assert texts(root, "category") in (["Only"], ["Sep 2024"])
        assert texts(root, "value") == ["42%"] or texts(root, "value") == ["7"]


def test_axis_ticks():
    assert texts(parse(sample_bar()), "tick") == ["0%", "25%", "50%", "75%", "100%"]
    root = parse(bar_chart("T", ["a", "b"], [("S", [37, 5])], percent=False))
    assert texts(root, "tick") == ["0", "10", "20", "30", "40"]
    assert texts(root, "value") == ["37", "5"]
    root = parse(hbar_chart("T", [("a", 3), ("b", 1)]))
    assert texts(root, "tick") == ["0", "1", "2", "3"]
    root = parse(hbar_chart("T", [("a", 0.5)], percent=True))
    assert texts(root, "tick") == ["0%", "25%", "50%", "75%", "100%"]


@pytest.mark.parametrize("value, percent, expected", [
    (0.87, True, "87%"),
    (0.875, True, "88%"),
    (0.865, True, "87%"),
    (1 / 3, True, "33%"),
    (1.0, True, "100%"),
    (0.0, True, "0%"),
    (0.004, True, "0.4%"),
    (0.0096, True, "1%"),
    (0.0004, True, "<0.1%"),
    (12.0, False, "12"),
    (2.5, False, "2.5"),  # a mean score keeps one decimal
    (3.333333, False, "3.3"),
    (0, False, "0"),
    (None, True, "\u2013"),
    (None, False, "\u2013"),
])
def test_format_value(value, percent, expected):
    assert format_value(value, percent) == expected


def test_no_float_noise_in_output():
    svg = str(bar_chart("T", ["a", "b", "c"], [("S", [1 / 3, 2 / 3, 1 / 7]), ("R", [0.1, 0.2, 0.3])], width=333))
    svg += str(hbar_chart("T", [("a", 10 / 3), ("b", 7)], width=333))
    svg += str(month_chart("T", ["a", "b", "c"], [1 / 3, 1 / 7, 1 / 9], width=333))
    assert not re.search(r"\d\.\d{3,}", svg)


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError):
        bar_chart("T", ["a", "b"], [("S", [0.1])])
    with pytest.raises(ValueError):
        month_chart("T", ["a", "b"], [0.1])


# --------------------------------------------------------------------------- empty charts


@pytest.mark.parametrize("svg", [
    lambda: bar_chart("Nothing", [], [], empty_text="Nema podataka"),
    lambda: bar_chart("Nothing", ["a"], [], empty_text="Nema podataka"),
    lambda: hbar_chart("Nothing", [], empty_text="Nema podataka"),
    lambda: month_chart("Nothing", [], [], empty_text="Nema podataka"),
], ids=["bar", "bar-no-series", "hbar", "month"])
def test_empty_chart(svg):
    root = parse(svg())
    assert root.get("role") == "img"
    assert root[0].text == "Nothing"
    assert "Nothing" in texts(root) and "Nema podataka" in texts(root)
    assert bars(root) == []
    assert int(root.get("height")) < 150


def test_default_empty_text():
    assert "No data" in texts(parse(hbar_chart("T", [])))


# --------------------------------------------------------------------------- layout


def test_long_labels_wrap_on_at_most_two_lines_with_an_ellipsis():
    long_label = "Osnovna škola Vuk Karadžić Beograd prvi ciklus razredne nastave i produženi boravak"
    root = parse(bar_chart("T", [long_label, "b", "c", "d"], [("S", [0.1, 0.2, 0.3, 0.4])], width=480))
    labels = texts(root, "category")
    parts = [t for t in labels if t not in ("b", "c", "d")]
    assert len(parts) == 2
    assert parts[1].endswith("\u2026")
    assert long_label.startswith(parts[0])

    root = parse(hbar_chart("T", [(long_label, 1), ("Other", 2)]))
    parts = [t for t in texts(root, "category") if t != "Other"]
    assert 1 <= len(parts) <= 2 and parts[-1].endswith("\u2026")

    root = parse(bar_chart(long_label * 3, ["a"], [("S", [0.1])], width=300))
    title_lines = texts(root, "chart-title")
    assert len(title_lines) == 2 and title_lines[1].endswith("\u2026")


def test_crowded_month_labels_are_thinned_but_every_month_has_a_bar():
    months = [f"{m} {y}" for y in (2023, 2024) for m in "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()]
    root = parse(month_chart("T", months, [0.5] * 24, width=360))
    assert len(bars(root)) == 24
    shown = texts(root, "category")
    assert 0 < len(shown) < 48 and "Jan" in shown and "2023" in shown


def test_legend_only_with_several_series():
    assert texts(parse(sample_bar()), "legend") == ["Girls", "Boys"]
    assert texts(parse(bar_chart("T", ["a"], [("Girls", [0.5])])), "legend") == []
    root = parse(sample_bar())
    swatches = [r.get("fill") for r in root.iter(f"{NS}rect") if r.get("class") == "swatch"]
    girls, boys = ({r.get("fill") for r in bars(root)[i::2]} for i in (0, 1))
    assert swatches == [girls.pop(), boys.pop()] and swatches[0] != swatches[1]


def _lightness(colour: str) -> float:
    def linear(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    y = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return 116 * y ** (1 / 3) - 16


def test_palette_differs_in_lightness_for_greyscale_print():
    palette = charts.PALETTE
    assert 4 <= len(palette) <= 6 and len(set(palette)) == len(palette)
    lightness = sorted(_lightness(c) for c in palette)
    assert all(b - a >= 8 for a, b in zip(lightness, lightness[1:]))
    assert abs(_lightness(palette[0]) - _lightness(palette[1])) >= 30  # the usual two series


# --------------------------------------------------------------------------- scripts


def test_cyrillic_labels_stay_in_the_svg():
    root = parse(bar_chart("Задржавање", ["Основна"], [(GIRLS_CYRILLIC, [0.5]), ("Дечаци", [0.4])]))
    assert GIRLS_CYRILLIC in texts(root, "legend")
    assert "Основна" in texts(root, "category")
    assert "Задржавање" in texts(root, "chart-title")
    assert rtl_keys(["Основна", GIRLS_CYRILLIC, "Latin", "Čačak"]) == {}


def test_right_to_left_labels_are_replaced_by_keys():
    hebrew = "עברית"
    mixed = f"Škola {AFGHANISTAN}"
    categories = ["Serbia", AFGHANISTAN, hebrew, mixed]
    keys = rtl_keys([*categories, "Girls", "T"])
    assert keys == {AFGHANISTAN: "[1]", hebrew: "[2]", mixed: "[3]"}
    root = parse(bar_chart("T", categories, [("Girls", [0.5, 0.4, 0.3, 0.2])]))
    shown = texts(root)
    assert texts(root, "category") == ["Serbia", "[1]", "[2]", "[3]"]
    assert not any(ch in text for text in shown for ch in AFGHANISTAN + hebrew)
    # the real labels stay available to assistive technology in the non-rendered description
    assert AFGHANISTAN in root.find(f"{NS}desc").text


def test_rtl_keys_number_repeated_labels_once_and_follow_the_documented_order():
    assert rtl_keys([AFGHANISTAN, "x", AFGHANISTAN, "سوريا"]) == {AFGHANISTAN: "[1]", "سوريا": "[2]"}
    series = [(AFGHANISTAN, [0.5]), ("Boys", [0.4])]
    root = parse(bar_chart("سوريا", ["عربي"], series))
    keys = rtl_keys(["عربي", AFGHANISTAN, "Boys", "سوريا"])
    assert texts(root, "category") == [keys["عربي"]] == ["[1]"]
    assert texts(root, "legend") == [keys[AFGHANISTAN], "Boys"] == ["[2]", "Boys"]
    assert texts(root, "chart-title") == [keys["سوريا"]] == ["[3]"]
    assert root[0].text == "سوريا"  # the accessible title keeps the real text
    root = parse(hbar_chart("T", [("Serbia", 3), (AFGHANISTAN, 2)]))
    assert texts(root, "category") == ["Serbia", "[1]"]


# --------------------------------------------------------------------------- WeasyPrint


def pdf_text(pdf_path) -> str:
    if shutil.which("pdftotext"):
        result = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, check=True, timeout=60)
        return result.stdout.decode("utf-8")
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(pdf_path).pages)


def test_weasyprint_renders_chart_text(tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    withheld_marker = "zzwithheldzz"
    bar = bar_chart("Retention by sex", ["90 days", "180 days"],
                    [(GIRLS_CYRILLIC, [0.87, None]), ("Boys", [0.5, 0.25])], withheld_text=withheld_marker)
    hbar = hbar_chart("Exits by reason", [("Moved abroad", 12), (AFGHANISTAN, 3)], withheld_text=withheld_marker)
    month = month_chart("Attendance by month", ["Sep 2024", "Oct 2024"], [0.9, 0.75], withheld_text=withheld_marker)
    html = f"""<!doctype html><html lang="sr"><head><meta charset="utf-8"><title>Report</title></head>
    <body><h1>Report</h1>{bar}{hbar}{month}</body></html>"""
    pdf = tmp_path / "charts.pdf"
    weasyprint.HTML(string=html).write_pdf(pdf)
    text = pdf_text(pdf)
    for expected in ("Retention by sex", "Exits by reason", "Attendance by month",  # titles
                     "90 days", "Moved abroad", "Sep", GIRLS_CYRILLIC,  # Latin and Cyrillic labels
                     "87%", "75%", "12", "[1]"):  # value labels and an RTL key
        assert expected in text, expected
    assert withheld_marker not in text  # <title>/<desc> are not drawn
    assert AFGHANISTAN not in text


def test_weasyprint_keeps_the_chart_proportions(tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    from pypdf import PdfReader

    chart = sample_bar()
    height = int(parse(chart).get("height"))
    page_height = 2 * height + 40  # room for two charts only if they keep their aspect ratio
    html = f"""<html><head><style>@page {{ size: 640px {page_height}px; margin: 0 }}
    body {{ margin: 0 }} svg {{ display: block }}</style></head><body>{chart}{sample_bar(chart_id="again")}</body></html>"""
    pdf = tmp_path / "two.pdf"
    weasyprint.HTML(string=html).write_pdf(pdf)
    assert len(PdfReader(pdf).pages) == 1

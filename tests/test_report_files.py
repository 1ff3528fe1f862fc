"""The report as users open it: files that load as numbers in a Serbian spreadsheet, a tagged PDF in the page's
language, sections that show what their titles say, and dates in the reader's language."""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.test_reports import PARTNER_QUERY, QUERY, login, people  # noqa: F401  (people is a fixture)
from tests.test_indicators import pop  # noqa: F401  (a fixture)


def sheets(client, query):
    r = client.get("/reports/report.xlsx" + query)
    assert r.status_code == 200
    return load_workbook(io.BytesIO(r.data))


def test_every_role_gets_the_same_columns_and_numbers_with_number_formats(app, people):
    headers = {}
    for who, query in (("admin", QUERY + "&as_of=2024-02-29"), ("partner", PARTNER_QUERY)):
        client = app.test_client()
        login(client, people[who])
        book = sheets(client, query)
        headers[who] = {name: [c.value for c in book[name][1]] for name in book.sheetnames[1:]}
        sheet = book["headline"]
        header = headers[who]["headline"]
        lines = {r[header.index("indicator")].value: r for r in sheet.iter_rows(min_row=2)}
        rate = lines["attendance_rate"][header.index("value")]
        count = lines["enrolled"][header.index("value")]
        assert isinstance(rate.value, float) and 0 < rate.value <= 1  # a number, shown as a percentage
        assert rate.number_format.endswith("%")
        assert isinstance(count.value, int) and count.number_format == "#,##0"
        assert lines["enrolled"][header.index("numerator")].number_format == "#,##0"
    assert headers["admin"].keys() == headers["partner"].keys()
    for name in headers["admin"]:
        assert headers["admin"][name] == headers["partner"][name], name


def test_the_pdf_is_tagged_and_declares_the_readers_language(client, people):
    login(client, people["admin"])
    for accept, lang in (("sr-Latn", "sr-Latn"), ("en", "en")):
        r = client.get("/reports/report.pdf" + QUERY + "&as_of=2024-02-29", headers={"Accept-Language": accept})
        assert r.status_code == 200
        root = PdfReader(io.BytesIO(r.data)).trailer["/Root"]
        assert root["/Lang"] == lang
        assert bool(root["/MarkInfo"]["/Marked"])
        tree = root["/StructTreeRoot"].get_object()
        assert tree["/K"]  # a structure tree with content


def test_the_secondary_school_section_charts_secondary_school_only(client, people):
    login(client, people["admin"])
    html = client.get("/reports/" + QUERY + "&as_of=2024-02-29").get_data(as_text=True)
    section = html[html.index('id="section-uasc_girls"'):html.index('id="section-breakdowns"')]
    titles = re.findall(r"<title[^>]*>([^<]*)</title>", section)
    assert titles and all("secondary school" in t for t in titles), titles
    assert "primary" not in section.lower()


def test_months_are_named_in_the_readers_language(client, people):
    login(client, people["admin"])
    page = client.get("/reports/" + QUERY + "&as_of=2024-02-29", headers={"Accept-Language": "sr-Latn"})
    html = page.get_data(as_text=True)
    months = html[html.index('id="section-attendance_by_month"'):]
    assert '<time datetime="2024-02">feb 2024</time>' in months
    assert ">2024-02<" not in months


def test_a_school_report_says_out_of_school_is_its_municipalitys(client, people, pop):  # noqa: F811
    login(client, people["admin"])
    html = client.get("/reports/" + QUERY + "&as_of=2024-02-29&schools=PR001").get_data(as_text=True)
    assert f"Out of school in {pop.p1.municipality} (aged 7-17, in a centre; not counted per school)" in html


def test_the_first_page_carries_the_headline_figures_not_a_bare_cover(client, people, tmp_path):
    import subprocess

    login(client, people["admin"])
    r = client.get("/reports/report.pdf" + QUERY + "&as_of=2024-02-29", headers={"Accept-Language": "en"})
    path = tmp_path / "report.pdf"
    path.write_bytes(r.data)
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(path), "-"], check=True,
                           capture_output=True, text=True).stdout
    for text in ("Retention and attendance report", "Period", "Headline figures", "Enrolled", "Attendance rate"):
        assert text in first, text


def test_a_horizon_the_period_has_not_reached_says_when_it_will(client, people):
    # February 2024 is 29 days: no child who started in it can have reached 90 days by its end.
    login(client, people["partner"])
    html = client.get("/reports/" + PARTNER_QUERY, headers={"Accept-Language": "en"}).get_data(as_text=True)
    headline = html[html.index('id="section-headline"'):html.index('id="section-uasc_girls"')]
    # The period is in the past: the horizons fall after its end.
    assert headline.count("Beyond this period: the first children reach") == 3
    assert "reach 90 days on May 1, 2024, after its end" in headline, headline

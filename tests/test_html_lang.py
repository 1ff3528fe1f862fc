"""Pages say which language and script they are in, for screen readers and the PDF's document language."""
import pytest


@pytest.mark.parametrize("header, lang", [("sr-Latn-RS", "sr-Latn"), ("sr", "sr-Cyrl"), ("en", "en")])
def test_the_page_names_its_language_and_script(client, header, lang):
    page = client.get("/login", headers={"Accept-Language": header}).text
    assert f'<html lang="{lang}">' in page

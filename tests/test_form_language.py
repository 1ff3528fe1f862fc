"""Select options follow the language of each request, though the forms are built when their module is imported."""
import pytest


@pytest.mark.parametrize("header, shown, not_shown", [
    ("sr-Latn-RS", ["Ženski", "Avganistan", "Javni interes (pravo na obrazovanje)"], ["Female", "Afghanistan"]),
    ("en", ["Female", "Afghanistan", "Public task (right to education)"], ["Avganistan"]),
])
def test_the_register_form_speaks_the_users_language(client, auth, world, header, shown, not_shown):
    auth.login(world.liaison_a)
    page = client.get("/children/new", headers={"Accept-Language": header}).text
    for text in shown:
        assert text in page, text
    for text in not_shown:
        assert f">{text}<" not in page, text

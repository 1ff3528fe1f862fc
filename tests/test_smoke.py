from tests.conftest import count


def test_login_and_dashboard(client, auth, world):
    assert client.get("/").status_code == 302
    r = auth.login(world.liaison_a)
    assert r.status_code == 302
    r = client.get("/")
    assert r.status_code == 200
    assert "OŠ Vuk Karadžić" in r.text
    assert "Gimnazija Subotica" not in r.text

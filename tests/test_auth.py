"""Access control: off by default, one setting away; every route but /healthz needs a user."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter
from werkzeug.security import check_password_hash, generate_password_hash

from lobstr_dash.ops import auth as auth_module
from lobstr_dash.ops import hashpw
from lobstr_dash.ops.auth import BasicAuth, parse_users
from lobstr_dash.config import ConfigError
from lobstr_dash.fake import DEMO_RUNS

PASSWORD = "correct horse battery staple"
# Cheap hashes keep the suite fast; the method is the same kind `make password` writes.
ALICE = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
BOB = generate_password_hash("bob's own password", method="scrypt:1024:8:1")
RUN = DEMO_RUNS[0].run_id

#: Sample values for every URL variable of the app, so the walk can build each route's URL.
URL_VALUES = {"run_id": RUN, "fmt": "csv", "filename": "app.css"}


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header for Basic credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def demo_app(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """Apps in demo mode (the built-in fake lobstr, no latency)."""
    def make(**overrides: Any) -> Flask:
        return make_app(LOBSTR_TOKEN=None, DEMO_LATENCY_MS=0, LOAD_WAIT_SECONDS=5.0, **overrides)
    return make


def sample_value(rule: Rule, name: str) -> Any:
    """A value for a URL variable: a known sample, a number for numeric converters, else a run id."""
    if name in URL_VALUES:
        return URL_VALUES[name]
    if isinstance(rule._converters.get(name), NumberConverter):
        return 1
    return RUN


def every_request(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(method, url, rule) for every route of the app's URL map and every method it takes."""
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        for rule in app.url_map.iter_rules():
            values = {name: sample_value(rule, name) for name in rule.arguments}
            url = adapter.build(rule.endpoint, values, force_external=False)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url, rule.rule


def test_auth_is_off_by_default_for_local_use(demo_app: Callable[..., Flask]) -> None:
    client = demo_app().test_client()
    for method, url, _rule in every_request(client.application):
        response = client.open(url, method=method)
        assert response.status_code not in (401, 403), (method, url)
        assert "WWW-Authenticate" not in response.headers


def test_walk_of_the_url_map_every_route_but_healthz_needs_a_user(
        demo_app: Callable[..., Flask]) -> None:
    # Hundreds of wrong passwords from one address: the guess throttle (tested on its own) is
    # raised out of the way, since this walk is about every route asking for a user.
    app = demo_app(AUTH_USERS=f"alice:{ALICE},bob:{BOB}", AUTH_MAX_FAILURES=100_000)
    client = app.test_client()
    walked = list(every_request(app))
    # The walk covers the whole map, so a route added later is covered without editing this test.
    assert {rule for _, _, rule in walked} >= {"/", "/runs/<run_id>", "/healthz", "/metrics",
                                                "/static/<path:filename>"}
    open_rules = set()
    for method, url, rule in walked:
        anonymous = client.open(url, method=method)
        wrong = client.open(url, method=method, headers=basic("alice", "not her password"))
        unknown = client.open(url, method=method, headers=basic("mallory", PASSWORD))
        signed_in = client.open(url, method=method, headers=basic("bob", "bob's own password"))
        if anonymous.status_code != 401:
            open_rules.add(rule)
            continue
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="lobstr-dash", charset="UTF-8"'
        assert wrong.status_code == 401 and unknown.status_code == 401, (method, url)
        assert signed_in.status_code not in (401, 403), (method, url)
    assert open_rules == {"/healthz"}


def test_an_unknown_url_answers_401_not_404_so_routes_are_not_revealed(
        demo_app: Callable[..., Flask]) -> None:
    client = demo_app(AUTH_USERS=f"alice:{ALICE}").test_client()
    assert client.get("/no/such/page").status_code == 401
    assert client.get("/no/such/page", headers=basic("alice", PASSWORD)).status_code == 404


def test_the_401_is_json_on_machine_routes_and_a_page_elsewhere(demo_app: Callable[..., Flask]) -> None:
    client = demo_app(AUTH_USERS=f"alice:{ALICE}").test_client()
    export = client.get(f"/runs/{RUN}/tasks.json")
    assert export.status_code == 401
    assert export.get_json() == {"ok": False, "status": 401, "kind": "auth_required",
                                 "error": export.get_json()["error"], "title": "Sign-in required"}
    page = client.get(f"/runs/{RUN}")
    assert page.status_code == 401 and page.mimetype == "text/html"
    assert "Sign-in required" in page.get_data(as_text=True)


def test_metrics_can_be_left_open_for_prometheus(demo_app: Callable[..., Flask]) -> None:
    client = demo_app(AUTH_USERS=f"alice:{ALICE}", METRICS_PUBLIC=True).test_client()
    assert client.get("/metrics").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 401
    closed = demo_app(AUTH_USERS=f"alice:{ALICE}").test_client()
    assert closed.get("/metrics").status_code == 401


def test_a_proxy_user_header_is_trusted_only_when_configured(demo_app: Callable[..., Flask]) -> None:
    proxied = demo_app(AUTH_PROXY_HEADER="X-Forwarded-User").test_client()
    for method, url, rule in every_request(proxied.application):
        anonymous = proxied.open(url, method=method)
        if rule == "/healthz":
            assert anonymous.status_code == 200
            continue
        assert anonymous.status_code == 403, (method, url)
        assert "WWW-Authenticate" not in anonymous.headers
        assert proxied.open(url, method=method, headers={"X-Forwarded-User": "carol"}
                            ).status_code not in (401, 403), (method, url)
    # With Basic auth only, the same header is just a header: it signs nobody in.
    basic_only = demo_app(AUTH_USERS=f"alice:{ALICE}").test_client()
    assert basic_only.get("/", headers={"X-Forwarded-User": "alice"}).status_code == 401


def test_proxy_header_and_basic_auth_together(demo_app: Callable[..., Flask]) -> None:
    client = demo_app(AUTH_USERS=f"alice:{ALICE}", AUTH_PROXY_HEADER="X-Auth-Request-User").test_client()
    assert client.get("/", headers={"X-Auth-Request-User": "carol"}).status_code == 200
    assert client.get("/", headers=basic("alice", PASSWORD)).status_code == 200
    # Without either, Basic auth is offered (a 401 with a challenge), not the proxy's 403.
    assert client.get("/").status_code == 401


def test_failed_sign_ins_are_logged_with_the_name_never_the_password(
        demo_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture) -> None:
    client = demo_app(AUTH_USERS=f"alice:{ALICE}").test_client()
    caplog.set_level(logging.DEBUG)
    client.get("/", headers=basic("alice", "hunter2-guess")).get_data()
    client.get("/", headers=basic("mallory\nforged line", "another-guess")).get_data()
    client.get("/", headers=basic("alice", PASSWORD)).get_data()
    failures = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(failures) == 2
    assert "'alice'" in failures[0] and "GET /" in failures[0]
    assert "\n" not in failures[1]  # the name is logged as repr, so it cannot forge a line
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "hunter2-guess" not in text and "another-guess" not in text and PASSWORD not in text
    assert "user=alice" in text  # the request log names the signed-in user


def test_unknown_names_cost_a_hash_check_like_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    def spy(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(auth_module, "check_password_hash", spy)
    basic_auth = BasicAuth({"alice": ALICE})
    assert basic_auth.check("mallory", PASSWORD) is False
    assert basic_auth.check("alice", "wrong") is False
    assert basic_auth.check("alice", PASSWORD) is True
    assert len(checked) == 3
    # The stand-in hash has the same method and cost as the real user's, so it takes as long.
    assert checked[0] != ALICE and checked[0].split("$")[0] == ALICE.split("$")[0]


def test_verified_credentials_are_remembered_wrong_ones_never(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(auth_module, "check_password_hash",
                        lambda h, p: calls.append(p) or check_password_hash(h, p))
    basic_auth = BasicAuth({"alice": ALICE})
    for _ in range(3):
        assert basic_auth.check("alice", PASSWORD)
        assert not basic_auth.check("alice", "wrong")
    assert calls.count(PASSWORD) == 1  # the page's polls and assets do not pay the hash each time
    assert calls.count("wrong") == 3   # guessing always pays it
    assert not any(PASSWORD.encode() in key for key in basic_auth._verified)


def test_users_are_name_hash_entries_separated_by_commas_or_newlines() -> None:
    users = parse_users(f"alice:{ALICE}, bob:{BOB}\n# a comment line\n carol:{ALICE}\n")
    assert users == {"alice": ALICE, "bob": BOB, "carol": ALICE}
    assert parse_users("") == {}


@pytest.mark.parametrize("spec, message", [
    ("alice", "without a hash"),
    ("alice:hunter2-plain-text", "not a password hash"),
    (f"alice:{ALICE},alice:{BOB}", "appears twice"),
    (f":{ALICE}", "without a hash"),
], ids=["no-hash", "plain-text", "twice", "no-name"])
def test_bad_user_entries_stop_the_app_from_starting(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_users(spec)
    assert "hunter2" not in str(caught.value)  # a pasted plain-text password is never echoed


def test_users_can_come_from_a_file(demo_app: Callable[..., Flask], tmp_path: Any) -> None:
    users_file = tmp_path / "users"
    users_file.write_text(f"# team\nalice:{ALICE}\nbob:{BOB}\n")
    client = demo_app(AUTH_USERS_FILE=str(users_file)).test_client()
    assert client.get("/").status_code == 401
    assert client.get("/", headers=basic("bob", "bob's own password")).status_code == 200
    with pytest.raises(ConfigError, match="cannot be read"):
        demo_app(AUTH_USERS_FILE=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="both"):
        demo_app(AUTH_USERS=f"alice:{ALICE}", AUTH_USERS_FILE=str(users_file))


def test_auth_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  demo_app: Callable[..., Flask]) -> None:
    monkeypatch.setenv("AUTH_USERS", f"alice:{ALICE}")
    monkeypatch.setenv("METRICS_PUBLIC", "yes")
    client = demo_app().test_client()
    assert client.get("/").status_code == 401
    assert client.get("/metrics").status_code == 200
    monkeypatch.setenv("METRICS_PUBLIC", "maybe")
    with pytest.raises(ConfigError, match="METRICS_PUBLIC"):
        demo_app()


def test_proxy_header_must_be_a_header_name(demo_app: Callable[..., Flask]) -> None:
    with pytest.raises(ConfigError, match="AUTH_PROXY_HEADER"):
        demo_app(AUTH_PROXY_HEADER="X-User: admin")


def test_hashpw_prints_a_line_for_auth_users(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert hashpw.main(["alice"]) == 0
    line = capsys.readouterr().out.strip()
    name, hashed = line.split(":", 1)
    assert name == "alice" and hashed.startswith("scrypt:")
    assert check_password_hash(hashed, PASSWORD)
    assert parse_users(line) == {"alice": hashed}
    assert PASSWORD not in line


def test_hashpw_refuses_short_passwords_and_bad_names(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert hashpw.main(["alice"]) == 2
    assert capsys.readouterr().out == ""
    for bad in ("al:ice", "a,b", "two words"):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        with pytest.raises(SystemExit):
            hashpw.main([bad])

"""Configuration: environment parsing, the token alias, demo mode, and refusing bad numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lobstr_dash.config import (
    DEFAULT_API_BASE,
    DEFAULTS,
    ENV_VARS,
    ConfigError,
    build_config,
    from_environ,
    validate,
)

POSITIVE_KEYS = ["LOBSTR_CONNECT_TIMEOUT", "LOBSTR_READ_TIMEOUT", "LOBSTR_RETRY_BUDGET",
                 "LOBSTR_CONCURRENCY", "LOBSTR_MAX_ATTEMPTS", "LOBSTR_RATE_WINDOW"]


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    """No configuration variable set, and data written under a temporary directory."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    return monkeypatch


# -- from_environ ----------------------------------------------------------------------------------


def test_from_environ_of_an_empty_environment_sets_nothing() -> None:
    assert from_environ({}) == {}


def test_from_environ_ignores_unknown_and_blank_variables() -> None:
    assert from_environ({"HOME": "/root", "LOBSTR_TOKEN": "   ", "PORT": "", "LOBSTR_FOO": "1"}) == {}


def test_from_environ_parses_each_variable_to_its_type() -> None:
    found = from_environ({
        "LOBSTR_API_BASE": "http://127.0.0.1:9999/v1", "LOBSTR_CONNECT_TIMEOUT": "1.5",
        "LOBSTR_READ_TIMEOUT": " 10 ", "LOBSTR_MAX_ATTEMPTS": "2", "LOBSTR_RETRY_BUDGET": "9.5",
        "LOBSTR_MAX_RETRY_AFTER": "12", "LOBSTR_CONCURRENCY": "8", "LOBSTR_RATE_LIMIT": "0",
        "LOAD_WAIT_SECONDS": "0.5", "LIVE_REFRESH_SECONDS": "30", "EXPORT_WAIT_SECONDS": "60",
        "DATA_DIR": "/tmp/x", "DEMO_LATENCY_MS": "0", "PORT": "8080",
    })
    assert found == {
        "LOBSTR_API_BASE": "http://127.0.0.1:9999/v1", "LOBSTR_CONNECT_TIMEOUT": 1.5,
        "LOBSTR_READ_TIMEOUT": 10.0, "LOBSTR_MAX_ATTEMPTS": 2, "LOBSTR_RETRY_BUDGET": 9.5,
        "LOBSTR_MAX_RETRY_AFTER": 12.0, "LOBSTR_CONCURRENCY": 8, "LOBSTR_RATE_LIMIT": 0,
        "LOAD_WAIT_SECONDS": 0.5, "LIVE_REFRESH_SECONDS": 30.0, "EXPORT_WAIT_SECONDS": 60.0,
        "DATA_DIR": "/tmp/x", "DEMO_LATENCY_MS": 0, "PORT": 8080,
    }
    assert isinstance(found["LOBSTR_MAX_ATTEMPTS"], int)
    assert isinstance(found["LOBSTR_READ_TIMEOUT"], float)


def test_lobstr_api_key_is_an_alias_for_the_token() -> None:
    assert from_environ({"LOBSTR_API_KEY": "k-123"}) == {"LOBSTR_TOKEN": "k-123"}


@pytest.mark.parametrize("environ", [
    {"LOBSTR_TOKEN": "from-token", "LOBSTR_API_KEY": "from-alias"},
    {"LOBSTR_API_KEY": "from-alias", "LOBSTR_TOKEN": "from-token"},
])
def test_lobstr_token_wins_over_its_alias_whatever_the_order(environ) -> None:
    assert from_environ(environ) == {"LOBSTR_TOKEN": "from-token"}


def test_a_blank_lobstr_token_leaves_the_alias_in_force() -> None:
    found = from_environ({"LOBSTR_TOKEN": "  ", "LOBSTR_API_KEY": "from-alias"})
    assert found == {"LOBSTR_TOKEN": "from-alias"}


def test_the_token_is_stripped() -> None:
    assert from_environ({"LOBSTR_TOKEN": "  abc\n"}) == {"LOBSTR_TOKEN": "abc"}


@pytest.mark.parametrize(("name", "raw"), [
    ("LOBSTR_MAX_ATTEMPTS", "4.5"),
    ("LOBSTR_MAX_ATTEMPTS", "four"),
    ("LOBSTR_CONCURRENCY", "1e2"),
    ("LOBSTR_RATE_LIMIT", "90/min"),
    ("PORT", "80a"),
    ("PORT", "0x1f90"),
    ("DEMO_LATENCY_MS", "40ms"),
    ("LOBSTR_READ_TIMEOUT", "fast"),
    ("LOBSTR_CONNECT_TIMEOUT", "3,05"),
    ("LOBSTR_RETRY_BUDGET", "45s"),
    ("LOAD_WAIT_SECONDS", "1.5.2"),
])
def test_a_bad_number_is_a_config_error_naming_the_variable(name, raw) -> None:
    with pytest.raises(ConfigError) as info:
        from_environ({name: raw})
    assert name in str(info.value)
    assert raw in str(info.value)
    assert isinstance(info.value, ValueError)


# -- build_config ----------------------------------------------------------------------------------


def test_without_a_token_the_app_runs_in_demo_mode(clean_env) -> None:
    config = build_config()
    assert config["DEMO_MODE"] is True
    assert config["LOBSTR_TOKEN"] is None
    assert config["LOBSTR_API_BASE"] == DEFAULT_API_BASE


@pytest.mark.parametrize("variable", ["LOBSTR_TOKEN", "LOBSTR_API_KEY"])
def test_a_token_from_the_environment_turns_demo_mode_off(clean_env, variable) -> None:
    clean_env.setenv(variable, "real-token")
    config = build_config()
    assert config["DEMO_MODE"] is False
    assert config["LOBSTR_TOKEN"] == "real-token"


@pytest.mark.parametrize("token", [None, ""])
def test_an_empty_token_override_means_demo_mode(clean_env, token) -> None:
    assert build_config({"LOBSTR_TOKEN": token})["DEMO_MODE"] is True


def test_defaults_hold_when_nothing_is_set(clean_env) -> None:
    config = build_config()
    for key, value in DEFAULTS.items():
        if key not in ("DATA_DIR", "LOBSTR_API_BASE"):
            assert config[key] == value, key


@pytest.mark.parametrize("base", ["https://api.lobstr.io/v1/", "https://api.lobstr.io/v1///",
                                  "https://api.lobstr.io/v1"])
def test_trailing_slashes_are_stripped_from_the_api_base(clean_env, base) -> None:
    clean_env.setenv("LOBSTR_API_BASE", base)
    assert build_config()["LOBSTR_API_BASE"] == "https://api.lobstr.io/v1"
    clean_env.delenv("LOBSTR_API_BASE")
    assert build_config({"LOBSTR_API_BASE": base})["LOBSTR_API_BASE"] == "https://api.lobstr.io/v1"


def test_overrides_win_over_the_environment(clean_env) -> None:
    clean_env.setenv("LOBSTR_MAX_ATTEMPTS", "7")
    clean_env.setenv("LOBSTR_TOKEN", "env-token")
    config = build_config({"LOBSTR_MAX_ATTEMPTS": 2, "LOBSTR_TOKEN": None})
    assert config["LOBSTR_MAX_ATTEMPTS"] == 2
    assert config["DEMO_MODE"] is True


def test_environment_wins_over_defaults(clean_env) -> None:
    clean_env.setenv("LOBSTR_READ_TIMEOUT", "5")
    assert build_config()["LOBSTR_READ_TIMEOUT"] == 5.0


def test_data_dir_is_made_absolute(clean_env, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = build_config({"DATA_DIR": "relative/data"})
    assert Path(config["DATA_DIR"]).is_absolute()
    assert Path(config["DATA_DIR"]) == (tmp_path / "relative" / "data").resolve()


def test_a_bad_number_in_the_environment_stops_build_config(clean_env) -> None:
    clean_env.setenv("LOBSTR_CONCURRENCY", "lots")
    with pytest.raises(ConfigError, match="LOBSTR_CONCURRENCY"):
        build_config()


# -- validate --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", POSITIVE_KEYS)
@pytest.mark.parametrize("value", [0, -1, -0.5])
def test_zero_or_negative_timeouts_budgets_and_counts_are_refused(clean_env, key, value) -> None:
    with pytest.raises(ConfigError, match=key):
        build_config({key: value})


@pytest.mark.parametrize("variable", ["LOBSTR_CONNECT_TIMEOUT", "LOBSTR_READ_TIMEOUT",
                                      "LOBSTR_RETRY_BUDGET", "LOBSTR_CONCURRENCY", "LOBSTR_MAX_ATTEMPTS"])
def test_zero_from_the_environment_is_refused(clean_env, variable) -> None:
    clean_env.setenv(variable, "0")
    with pytest.raises(ConfigError, match=variable):
        build_config()


@pytest.mark.parametrize("size", [0, -1, 101, 1000])
def test_page_size_must_be_within_lobstrs_1_to_100(clean_env, size) -> None:
    with pytest.raises(ConfigError, match="LOBSTR_PAGE_SIZE"):
        build_config({"LOBSTR_PAGE_SIZE": size})


@pytest.mark.parametrize("size", [1, 50, 100])
def test_page_sizes_within_1_to_100_are_accepted(clean_env, size) -> None:
    assert build_config({"LOBSTR_PAGE_SIZE": size})["LOBSTR_PAGE_SIZE"] == size


def test_rate_limit_zero_turns_pacing_off_and_negative_is_refused(clean_env) -> None:
    assert build_config({"LOBSTR_RATE_LIMIT": 0})["LOBSTR_RATE_LIMIT"] == 0
    clean_env.setenv("LOBSTR_RATE_LIMIT", "-1")
    with pytest.raises(ConfigError, match="LOBSTR_RATE_LIMIT"):
        build_config()


def test_validate_accepts_the_defaults() -> None:
    validate(DEFAULTS)


@pytest.mark.parametrize("variable", ["LOBSTR_CONNECT_TIMEOUT", "LOBSTR_READ_TIMEOUT", "LOBSTR_RETRY_BUDGET"])
def test_nan_from_the_environment_is_refused(clean_env, variable) -> None:
    clean_env.setenv(variable, "nan")
    with pytest.raises(ConfigError, match=variable):
        build_config()


def test_a_negative_backoff_base_is_refused(clean_env) -> None:
    with pytest.raises(ConfigError, match="LOBSTR_BACKOFF_BASE"):
        build_config({"LOBSTR_BACKOFF_BASE": -1.0})


def test_database_url_unset_means_sqlite_under_data_dir(clean_env) -> None:
    assert build_config()["DATABASE_URL"] is None


def test_database_url_from_the_environment_selects_postgresql(clean_env) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://dash:pw@db:5432/dash")
    assert build_config()["DATABASE_URL"] == "postgresql://dash:pw@db:5432/dash"


def test_a_database_url_that_is_not_postgresql_is_refused_without_echoing_it(clean_env) -> None:
    with pytest.raises(ConfigError) as raised:
        build_config({"DATABASE_URL": "mysql://dash:s3cret@db/dash"})
    assert "postgresql://" in str(raised.value)
    assert "s3cret" not in str(raised.value)

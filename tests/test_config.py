"""Settings: read from the environment and a `.env` file in the working folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import AliasChoices, SecretStr, ValidationError

from bot.config import Settings, TokenProblem

TOKEN = "7012345678:AAE-closer_test_token_0123456789abcdefgh"
OTHER_TOKEN = "7012345678:AAE-the_other_token_from_dotenv_0123"


def _setting_variables() -> frozenset[str]:
    """Every environment name Settings reads (upper case; matching is case-insensitive)."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        if isinstance(field.validation_alias, AliasChoices):
            names |= {str(choice).upper() for choice in field.validation_alias.choices}
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias.upper())
    return frozenset(names)


SETTING_VARIABLES = _setting_variables()


def environment_without_settings(**settings: str) -> dict[str, str]:
    """This process's environment minus anything Settings would read, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_VARIABLES}
    env.update(settings)
    return env


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder and no Closer variable in the environment, in any case."""
    for key in list(os.environ):
        if key.upper() in SETTING_VARIABLES:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_dotenv(folder: Path, **values: str) -> None:
    text = "".join(f"{name}={value}\n" for name, value in values.items())
    (folder / ".env").write_text(text, encoding="utf-8")


def test_defaults_without_environment_or_dotenv() -> None:
    settings = Settings()
    assert settings.telegram_bot_token is None
    assert settings.database_url is None
    assert settings.resolved_database_url == "sqlite:///data/closer.sqlite3"
    assert settings.telegram_base_url == "https://api.telegram.org"
    assert settings.bot_api_base_url == "https://api.telegram.org/bot"
    assert settings.log_level == "INFO"
    assert settings.admin_ids == ()


def test_dotenv_in_working_folder_is_read(clean_env: Path) -> None:
    write_dotenv(
        clean_env,
        TELEGRAM_BOT_TOKEN=TOKEN,
        LOG_LEVEL="warning",
        ADMIN_IDS="7, 8",
        TELEGRAM_BASE_URL="http://127.0.0.1:8081",
    )
    settings = Settings()
    assert settings.require_token() == TOKEN
    assert settings.log_level == "WARNING"
    assert settings.admin_ids == (7, 8)
    assert settings.telegram_base_url == "http://127.0.0.1:8081"


def test_environment_overrides_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(clean_env, TELEGRAM_BOT_TOKEN=OTHER_TOKEN, LOG_LEVEL="DEBUG", ADMIN_IDS="1")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    settings = Settings()
    assert settings.require_token() == TOKEN
    assert settings.log_level == "ERROR"
    assert settings.admin_ids == (1,)  # not overridden: still from .env


def test_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("log_level", "debug")
    monkeypatch.setenv("Admin_Ids", "5")
    settings = Settings()
    assert settings.log_level == "DEBUG"
    assert settings.admin_ids == (5,)


def test_dotenv_outside_working_folder_is_not_read(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dotenv(clean_env, LOG_LEVEL="ERROR")
    elsewhere = clean_env / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Settings().log_level == "INFO"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1, 2 3", (1, 2, 3)),
        ("42", (42,)),
        (" 10 ,20,, 30 ", (10, 20, 30)),
        ("", ()),
    ],
)
def test_admin_ids_split_on_commas_and_spaces(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: tuple[int, ...]
) -> None:
    monkeypatch.setenv("ADMIN_IDS", raw)
    assert Settings().admin_ids == expected


def test_admin_ids_that_are_not_numbers_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, two")
    with pytest.raises(ValidationError, match="admin_ids"):
        Settings()


def test_default_database_is_under_data_dir(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = clean_env / "state"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    settings = Settings()
    assert settings.data_dir == data_dir
    assert settings.resolved_database_url == f"sqlite:///{data_dir.as_posix()}/closer.sqlite3"


def test_database_url_wins_over_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", "/somewhere/else")
    monkeypatch.setenv("DATABASE_URL", "postgresql://closer@db.example/closer")
    assert Settings().resolved_database_url == "postgresql://closer@db.example/closer"


@pytest.mark.parametrize(
    "root", ["http://127.0.0.1:8081/", "http://127.0.0.1:8081//", " http://127.0.0.1:8081 "]
)
def test_bot_api_urls_from_base_url_with_trailing_slash(
    monkeypatch: pytest.MonkeyPatch, root: str
) -> None:
    monkeypatch.setenv("TELEGRAM_BASE_URL", root)
    settings = Settings()
    assert settings.telegram_base_url == "http://127.0.0.1:8081"
    assert settings.bot_api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.bot_file_base_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize("root", ["ftp://example.org", "127.0.0.1:8081", "http://", ""])
def test_base_url_must_be_http_with_a_host(monkeypatch: pytest.MonkeyPatch, root: str) -> None:
    monkeypatch.setenv("TELEGRAM_BASE_URL", root)
    with pytest.raises(ValidationError, match="telegram_base_url"):
        Settings()


@pytest.mark.parametrize("level", ["LOUD", "5", "CRITICAL"])
def test_log_level_outside_the_four_is_rejected(
    monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    monkeypatch.setenv("LOG_LEVEL", level)
    with pytest.raises(ValidationError, match="log_level"):
        Settings()


def test_token_is_a_secret_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    settings = Settings()
    assert isinstance(settings.telegram_bot_token, SecretStr)
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    secret_part = TOKEN.split(":", 1)[1]
    for shown in (repr(settings), str(settings), settings.model_dump_json(), repr(vars(settings))):
        assert secret_part not in shown


def test_require_token_strips_surrounding_whitespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", f"  {TOKEN}\t")
    assert Settings().require_token() == TOKEN


@pytest.mark.parametrize("value", [None, ""])
def test_require_token_when_missing_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", value)
    with pytest.raises(TokenProblem, match=r"TELEGRAM_BOT_TOKEN is not set.*@BotFather"):
        Settings().require_token()


@pytest.mark.parametrize(
    "value", ["not-a-token", "123456:tooshort", "abcdef:AAE-closer_test_token_0123456789abcd"]
)
def test_require_token_when_malformed_never_repeats_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", value)
    with pytest.raises(TokenProblem, match="does not look like a bot token") as caught:
        Settings().require_token()
    assert value not in str(caught.value)
    assert value.split(":")[-1] not in str(caught.value)

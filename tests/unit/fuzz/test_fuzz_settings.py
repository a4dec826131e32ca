"""Fuzzed settings: arbitrary ``settings.toml`` documents, environment values and ``.env`` files.

Loading either succeeds or raises :class:`SettingsError` whose every problem is located: a
``settings.toml`` problem names the file and line (and the key, unless the TOML itself is
broken), an environment problem names the variable and the key, a ``.env`` problem the file,
the line and the variable. Never any other exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
import tomlkit
from _fuzz_kit import fuzz_settings
from hypothesis import example, given, strategies as st
from pydantic import AnyUrl, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from cosalette import Settings, _logging as cosalette_logging
from cosalette._settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _registered_secrets_restored() -> Iterator[None]:
    """Loading registers each secret for log redaction: forget the fuzzed ones afterwards."""
    kept = set(cosalette_logging._secrets)
    yield
    cosalette_logging.clear_secrets()
    for secret in kept:
        cosalette_logging.register_secret(secret)


class FuzzSettings(Settings):
    """Every kind of field an app's settings have."""

    model_config = SettingsConfigDict(env_prefix="FZ_")

    url: AnyUrl | None = None
    tags: list[str] = Field(default_factory=list)
    limits: dict[str, int] = Field(default_factory=dict)
    api_token: SecretStr | None = None
    poll: float = 1.0
    mode: Literal["a", "b"] = "a"


KEYS = st.sampled_from(
    [
        *FuzzSettings.model_fields,
        *("port", "host", "password", "tls", "level", "format", "discovery", "prefix"),
        *("app", "devices", "store"),
    ]
) | st.text(max_size=6)
SCALARS = st.text(max_size=10) | st.integers() | st.floats() | st.booleans()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
DOCUMENTS = st.recursive(
    st.dictionaries(KEYS, VALUES, max_size=4),
    lambda inner: st.dictionaries(KEYS, inner | VALUES, max_size=4),
    max_leaves=12,
)
_TEXT = st.characters(codec="utf-8")  # no lone surrogates


def _deep_toml(n: int, kind: str) -> str:
    if kind == "array":
        return "[mqtt]\nhost = " + "[" * n + "]" * n + "\n"
    return "tags = " + "{a = " * n + "1" + "}" * n + "\n"


def _spliced(doc: str, at: int, junk: str) -> str:
    at %= len(doc) + 1
    return doc[:at] + junk + doc[at:]


TOML_TEXTS = st.one_of(
    DOCUMENTS.map(tomlkit.dumps),
    st.builds(_spliced, DOCUMENTS.map(tomlkit.dumps), st.integers(0), st.text(_TEXT, max_size=4)),
    st.text(_TEXT, max_size=80),
    st.builds(
        _deep_toml, st.integers(0, 200) | st.integers(200, 3000), st.sampled_from(["array", "t"])
    ),
)


def _assert_located_in_toml(exc: SettingsError, path: Path) -> None:
    for problem in exc.problems:
        assert problem.file == path, problem
        if "not UTF-8" not in problem.message:
            assert problem.line is not None, problem
        if not problem.message.startswith("invalid TOML"):
            assert problem.key, problem


@fuzz_settings(500)
@given(text=TOML_TEXTS)
@example(text=_deep_toml(1000, "array"))
@example(text=_deep_toml(1000, "t"))
@example(text='[poll."x\\u0001"]\nz = 1\n')
@example(text='[mqtt]\n"p\\u006Frt" = "x"\n')
@example(text="[mqtt]\nport = 1\nhost = [\n  [1],\n  2,\n]\nkeepalive = 'x'\n")
@example(text="tags = [1,")
def test_any_settings_toml_loads_or_names_file_line_and_key(tmp_path: Path, text: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_settings(FuzzSettings, settings_file=path)
    except SettingsError as exc:
        _assert_located_in_toml(exc, path)


@fuzz_settings(100)
@given(raw=st.binary(max_size=40).map(lambda b: b"\xff" + b) | st.binary(max_size=40))
def test_any_bytes_as_settings_toml_load_or_name_the_file(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(raw)
    try:
        load_settings(FuzzSettings, settings_file=path)
    except SettingsError as exc:
        _assert_located_in_toml(exc, path)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                del os.environ[key]
            else:
                os.environ[key] = value


VARIABLES = [
    "FZ_MQTT__PORT",
    "FZ_MQTT__PASSWORD",
    "FZ_MQTT",
    "FZ_LOGGING__LEVEL",
    "FZ_HOMEASSISTANT",
    "FZ_URL",
    "FZ_TAGS",
    "FZ_LIMITS",
    "FZ_POLL",
    "FZ_MODE",
    "FZ_API_TOKEN",
]
_ENV_TEXT = st.characters(codec="utf-8", exclude_characters="\x00")  # what os.environ takes


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value)


ENV_VALUES = st.one_of(
    st.text(_ENV_TEXT, max_size=30),
    VALUES.map(_json_text),
    st.integers(0, 200).map(lambda n: "[" * n + "]" * n),
    st.integers(900, 3000).map(lambda n: '{"host":' + "[" * n + "]" * n + "}"),
)


@fuzz_settings(400)
@given(env=st.dictionaries(st.sampled_from(VARIABLES), ENV_VALUES, min_size=1, max_size=3))
@example(env={"FZ_MQTT": "[" * 1000 + "]" * 1000})
@example(env={"FZ_MQTT": "{"})
@example(env={"FZ_LIMITS": '{"a": ' * 1000 + "1" + "}" * 1000})
def test_any_environment_loads_or_names_the_variable_and_key(
    tmp_path: Path, env: dict[str, str]
) -> None:
    empty = tmp_path / "settings.toml"
    empty.write_text("")
    with _environment(env):
        try:
            load_settings(FuzzSettings, settings_file=empty)
        except SettingsError as exc:
            for problem in exc.problems:
                assert problem.variable in env, problem
                assert problem.source == "environment" and problem.key, problem


DOTENV_LINES = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(VARIABLES), ENV_VALUES.map(repr)),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(VARIABLES), st.text(_ENV_TEXT, max_size=9)),
    st.text(_ENV_TEXT, max_size=20),
)


@fuzz_settings(250)
@given(lines=st.lists(DOTENV_LINES, max_size=4))
@example(lines=["FZ_MQTT='" + "[" * 1000 + "]" * 1000 + "'"])
@example(lines=["FZ_MQTT={"])
def test_any_dotenv_file_loads_or_names_file_line_and_variable(
    tmp_path: Path, lines: list[str]
) -> None:
    empty = tmp_path / "settings.toml"
    empty.write_text("")
    dotenv = tmp_path / ".env"
    dotenv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        load_settings(FuzzSettings, settings_file=empty, env_file=dotenv)
    except SettingsError as exc:
        for problem in exc.problems:
            assert problem.file == dotenv and problem.variable in VARIABLES, problem
            assert problem.line is not None and problem.key, problem


def test_settings_nested_thousands_deep_are_a_located_error_not_a_recursion_error(
    tmp_path: Path,
) -> None:
    """tomllib and the JSON of complex environment values raised RecursionError."""
    path = tmp_path / "settings.toml"
    path.write_text("[mqtt]\nport = 1\nhost = " + "[" * 5000 + "]" * 5000 + "\n")
    try:
        load_settings(FuzzSettings, settings_file=path)
    except SettingsError as exc:
        assert [(p.file, p.line) for p in exc.problems] == [(path, 3)]
        assert "nested too deeply" in str(exc)
    else:
        raise AssertionError("a 5000-deep array loaded")
    path.write_text("")
    with _environment({"FZ_LIMITS": '{"a": ' * 5000 + "1" + "}" * 5000, "FZ_POLL": "[[1]]"}):
        try:
            load_settings(FuzzSettings, settings_file=path)
        except SettingsError as exc:
            [problem] = exc.problems
            assert (problem.variable, problem.key) == ("FZ_LIMITS", "limits"), problem
            assert problem.message == "nested too deeply"
        else:
            raise AssertionError("a 5000-deep object loaded")

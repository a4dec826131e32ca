"""The three-way merge and the settings.toml key merge behind `cosactl update`."""

from __future__ import annotations

import tomllib

import pytest

from cosactl._update.merge import merge3
from cosactl._update.settings_merge import merge_settings

BASE = "one\ntwo\nthree\nfour\nfive\nsix\n"


def test_changes_in_different_places_merge_cleanly() -> None:
    yours = BASE.replace("two\n", "TWO\n")
    theirs = BASE.replace("five\n", "FIVE\n") + "seven\n"

    result = merge3(BASE, yours, theirs)

    assert result.clean
    assert result.text == "one\nTWO\nthree\nfour\nFIVE\nsix\nseven\n"


def test_the_same_change_on_both_sides_is_taken_once() -> None:
    both = BASE.replace("three\n", "3\n")

    result = merge3(BASE, both + "yours\n", both)

    assert result.clean
    assert result.text == both + "yours\n"


def test_different_changes_to_the_same_lines_conflict_with_markers() -> None:
    yours = BASE.replace("three\n", "mine\n")
    theirs = BASE.replace("three\n", "template's\n")

    result = merge3(BASE, yours, theirs, label="2")

    assert result.conflicts == 1
    assert result.text == (
        "one\ntwo\n<<<<<<< yours\nmine\n=======\ntemplate's\n>>>>>>> template 2\nfour\nfive\nsix\n"
    )


def test_show_base_adds_the_base_lines_to_a_conflict() -> None:
    result = merge3("a\n", "b\n", "c\n", show_base=True)

    assert result.text == "<<<<<<< yours\nb\n||||||| base\na\n=======\nc\n>>>>>>> template\n"


def test_insertions_at_the_same_place_conflict() -> None:
    result = merge3(BASE, BASE + "yours\n", BASE + "template\n")

    assert result.conflicts == 1
    assert result.text.endswith("six\n<<<<<<< yours\nyours\n=======\ntemplate\n>>>>>>> template\n")


def test_an_edit_against_a_deletion_conflicts() -> None:
    result = merge3(BASE, BASE.replace("four\n", "4\n"), BASE.replace("four\n", ""))

    assert result.conflicts == 1
    assert "<<<<<<< yours\n4\n=======\n>>>>>>> template\n" in result.text


def test_a_deletion_on_one_side_is_taken() -> None:
    result = merge3(BASE, BASE.replace("two\n", ""), BASE.replace("six\n", "6\n"))

    assert result.clean
    assert result.text == "one\nthree\nfour\nfive\n6\n"


def test_a_last_line_without_newline_keeps_the_markers_on_their_own_lines() -> None:
    result = merge3("a\nb", "a\nyours", "a\ntemplate")

    assert result.text == "a\n<<<<<<< yours\nyours\n=======\ntemplate\n>>>>>>> template\n"


def test_crlf_files_get_crlf_markers() -> None:
    result = merge3("a\r\nb\r\n", "a\r\nB\r\n", "a\r\nc\r\n")

    assert result.text == "a\r\n<<<<<<< yours\r\nB\r\n=======\r\nc\r\n>>>>>>> template\r\n"


@pytest.mark.parametrize(
    ("base", "yours", "theirs", "expected"),
    [
        ("x\n", "x\n", "y\n", "y\n"),  # only the template changed it
        ("x\n", "y\n", "x\n", "y\n"),  # only you did
        ("", "a\n", "a\n", "a\n"),
    ],
)
def test_one_sided_changes_are_taken_whole(
    base: str, yours: str, theirs: str, expected: str
) -> None:
    assert merge3(base, yours, theirs).text == expected


SETTINGS = """\
# my bridge
[app]
name = "meter"

[mqtt]
host = "localhost"
port = 1883
# username = "bridge"

[logging]
level = "INFO"
format = "text"
"""


def test_settings_get_the_new_key_with_its_comment_where_the_template_has_it() -> None:
    yours = SETTINGS.replace('level = "INFO"', 'level = "DEBUG"  # mine') + (
        "\n[devices.counter]\ninterval = 5.0\n"
    )
    new = SETTINGS.replace("port = 1883\n", "port = 1883\n# Seconds.\ntimeout = 10.0  # s\n")

    merged = merge_settings(SETTINGS, yours, new)

    assert merged.added == ("mqtt.timeout",)
    assert "port = 1883\n# Seconds.\ntimeout = 10.0  # s\n# username" in merged.text
    assert merged.text.replace("# Seconds.\ntimeout = 10.0  # s\n", "") == yours


def test_settings_get_a_new_table_at_the_end_with_the_comment_above_it() -> None:
    yours = SETTINGS + "\n[devices.counter]\ninterval = 5.0\n"
    new = SETTINGS.replace("[logging]", "# The web page.\n[web]\nport = 8080\n\n[logging]")

    merged = merge_settings(SETTINGS, yours, new)

    assert merged.added == ("web",)
    assert merged.text == yours + "\n# The web page.\n[web]\nport = 8080\n"


def test_settings_keep_the_users_values_and_report_what_the_template_changed() -> None:
    yours = SETTINGS.replace('format = "text"', 'format = "json"').replace(
        "[app]\n", "[app]\nextra = 1\n"
    )
    new = SETTINGS.replace('format = "text"', 'format = "logfmt"').replace('name = "meter"\n', "")

    merged = merge_settings(SETTINGS, yours, new)

    assert merged.text == yours
    assert merged.added == ()
    assert any("logging.format" in note and "'json'" in note for note in merged.notes)
    assert any(note.startswith("app.name: no longer in the template") for note in merged.notes)


def test_settings_keys_the_user_removed_are_not_added_back() -> None:
    yours = SETTINGS.replace('format = "text"\n', "")
    new = SETTINGS + "extra = true\n"

    merged = merge_settings(SETTINGS, yours, new)

    assert tomllib.loads(merged.text)["logging"] == {"level": "INFO", "extra": True}


def test_settings_keep_crlf_line_ends() -> None:
    yours = SETTINGS.replace("\n", "\r\n").replace('"INFO"', '"DEBUG"')
    new = SETTINGS.replace("port = 1883\n", "port = 1883\ntimeout = 1\n")

    merged = merge_settings(SETTINGS, yours, new)

    assert "port = 1883\r\ntimeout = 1\r\n" in merged.text
    assert "\n" not in merged.text.replace("\r\n", "")


def test_settings_that_are_not_toml_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid TOML"):
        merge_settings(SETTINGS, "[app\n", SETTINGS)

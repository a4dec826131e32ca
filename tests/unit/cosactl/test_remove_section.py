"""Taking ``[devices.<name>]`` out of settings.toml: the exact inverse of inserting it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cosactl._edit import _insert_section, _section_record
from cosactl._remove.section import find_section, remove_section, section_changed

FRAGMENT = "[devices.new]  # added\ninterval = 1.0\n"


@pytest.mark.parametrize(
    "before",
    [
        "",
        '[app]\nname = "x"',
        '[app]\nname = "x"\n\n\n',
        "[devices.a]\ni = 1\n[devices.b]\ni = 2\n[z]\nk = 1\n",
        '[devices]\na = { i = 1 }\n\n# z\n\n[z]\nk = """\n[devices.fake]\n"""\n',
        "[[devices.list]]\ni = 1\n",
        "# c\n\n[devices.a]\ni = 1\n# a's last note\n\n# about z\n[z]\n",
        '[app]\r\nname = "x"\r\n\r\n[z]\r\nk = 1\r\n',
    ],
)
def test_insert_then_remove_gives_back_every_byte(tmp_path: Path, before: str) -> None:
    fragment = FRAGMENT.replace("\n", "\r\n") if "\r\n" in before else FRAGMENT
    (tmp_path / "settings.toml").write_bytes(before.encode())
    after = _insert_section(before, "new", fragment)
    record = _section_record(tmp_path, "new", after)

    text, block = remove_section(after, "new", record)

    assert text == before
    assert block == fragment
    assert section_changed(after, "new", record) is None


def test_its_own_comments_go_and_the_neighbours_stay() -> None:
    text = (
        "[devices.a]\ni = 1\n# a's note\n\n"
        "# about new\n[devices.new]\ninterval = 1.0  # mine\n[devices.new.extra]\nk = 2\n\n"
        "# about z\n[z]\nk = 1\n"
    )

    new_text, block = remove_section(text, "new", None)

    assert new_text == "[devices.a]\ni = 1\n# a's note\n\n# about z\n[z]\nk = 1\n"
    assert block.startswith("# about new\n") and block.endswith("k = 2\n")
    assert tomllib.loads(new_text) == {"devices": {"a": {"i": 1}}, "z": {"k": 1}}


def test_a_changed_section_is_reported_as_it_reads_now(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text("[app]\n")
    after = _insert_section("[app]\n", "new", FRAGMENT)
    record = _section_record(tmp_path, "new", after)

    changed = after.replace("interval = 1.0", "interval = 5.0")

    assert section_changed(changed, "new", record) == FRAGMENT.replace("1.0", "5.0")


def test_a_section_written_as_dotted_keys_is_taken_out_with_tomlkit() -> None:
    text = "[devices]\nnew.interval = 1.0\nold.interval = 2.0\n"

    assert find_section(text, "new") is None
    new_text, _ = remove_section(text, "new", None)

    assert tomllib.loads(new_text) == {"devices": {"old": {"interval": 2.0}}}

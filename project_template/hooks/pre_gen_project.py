"""Refuse a project slug that is not both a Python package name and an MQTT topic segment.

Only plain `cookiecutter` runs this hook: `cosactl new` checks the name itself (the same rules,
cosactl.generate.check_name) and skips hooks, which cookiecutter leaves behind in the temp dir.
"""

import keyword
import re
import sys

SLUG = "{{ cookiecutter.project_slug }}"
MAX_LENGTH = 32  # cosactl.generate.MAX_NAME_LENGTH


def main() -> int:
    """Return 0 when SLUG is usable, else print why on stderr and return 1."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", SLUG):
        print(
            f"ERROR: {SLUG!r} is not a valid project name: use lowercase letters, digits and "
            "underscores, starting with a letter (it becomes a Python package name, the MQTT "
            "topic prefix and the environment variable prefix)",
            file=sys.stderr,
        )
        return 1
    if len(SLUG) > MAX_LENGTH:
        print(f"ERROR: {SLUG!r} is over {MAX_LENGTH} characters", file=sys.stderr)
        return 1
    if keyword.iskeyword(SLUG):
        print(f"ERROR: {SLUG!r} is a Python keyword; choose another project name", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

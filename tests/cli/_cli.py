"""Running the real cosactl in a subprocess, and fingerprinting a directory tree."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# Runs `cosactl.cli:main` as if the modules named in argv[1] (comma-separated) and everything
# under them were not installed: importing one raises ModuleNotFoundError and
# importlib.util.find_spec() finds nothing (via a meta path finder, or a None in sys.modules).
_WITHOUT = """
import sys
how, blocked = sys.argv[1], set(sys.argv[2].split(","))
del sys.argv[1:3]
sys.argv[0] = "cosactl"

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

if how == "finder":
    sys.meta_path.insert(0, _NotInstalled())
else:
    sys.modules.update(dict.fromkeys(blocked))
from cosactl.cli import main
main()
"""


def cosactl(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    without: Iterable[str] = (),
    how: str = "finder",
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cosactl`` with no terminal attached (so it never prompts).

    *env* is added to the environment; *without* names modules to hide from cosactl, as a
    meta path finder (*how* "finder") or as None entries in sys.modules ("sys.modules").
    """
    blocked = ",".join(without)
    command = ["-c", _WITHOUT, how, blocked] if blocked else ["-m", "cosactl"]
    return subprocess.run(
        [sys.executable, *command, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cosactl_ok(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """:func:`cosactl` that must succeed: the test fails with cosactl's output otherwise."""
    result = cosactl(*args, cwd=cwd)
    assert result.returncode == 0, f"cosactl {args}:\n{result.stdout}\n{result.stderr}"
    return result


def new_project(base: Path, name: str = "demo", *extra: str) -> Path:
    """``cosactl new NAME [EXTRA...]`` in *base*; the project's folder."""
    cosactl_ok("new", name, *extra, cwd=base)
    return base / name


def copy_project(fresh: Path, where: Path) -> Path:
    """A copy of the project *fresh* under *where*, for a test to change freely."""
    return Path(shutil.copytree(fresh, where / fresh.name))


def snapshot(root: Path) -> dict[str, str]:
    """Every file under *root* (hidden ones too) → sha256 of its bytes."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }

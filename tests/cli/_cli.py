"""Running the real cosactl in a subprocess, and fingerprinting a directory tree."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


def cosactl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cosactl`` with no terminal attached (so it never prompts)."""
    return subprocess.run(
        [sys.executable, "-m", "cosactl", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def snapshot(root: Path) -> dict[str, str]:
    """Every file under *root* (hidden ones too) → sha256 of its bytes."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }

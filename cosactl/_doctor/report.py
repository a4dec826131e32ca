"""What ``cosactl doctor`` found: one :class:`Check` per line, as text or JSON."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["Check", "Report", "blocked", "failed", "not_applicable", "passed", "with_env"]

Status = Literal["pass", "fail", "skip"]

_MARKS = {"pass": "✔", "fail": "✘", "skip": "\u2013"}  # en dash
_PLAIN = {"pass": "ok", "fail": "FAIL", "skip": "-"}  # a terminal that cannot show the marks


@dataclass(frozen=True)
class Check:
    """One line of the report.

    A skipped check is either not applicable here (``blocked`` False: TLS off, discovery off)
    or could not run because a check it depends on failed (``blocked`` True).
    """

    name: str
    status: Status
    detail: str
    fix: str | None = None
    blocked: bool = False

    @property
    def ok(self) -> bool:
        """Passed, or skipped because it does not apply."""
        return self.status == "pass" or (self.status == "skip" and not self.blocked)


def passed(name: str, detail: str) -> Check:
    """A check that passed."""
    return Check(name, "pass", detail)


def failed(name: str, detail: str, fix: str | None) -> Check:
    """A check that failed, with what to change."""
    return Check(name, "fail", detail, fix)


def not_applicable(name: str, why: str) -> Check:
    """A check that does not apply to this deployment (does not fail the report)."""
    return Check(name, "skip", f"not applicable: {why}")


def blocked(name: str, why: str) -> Check:
    """A check that could not run because an earlier one failed."""
    return Check(name, "skip", f"not checked: {why}", blocked=True)


@dataclass(frozen=True)
class Report:
    """Every check, in the order they ran."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True only when every check passed or does not apply."""
        return all(check.ok for check in self.checks)

    def text(self, encoding: str | None = None) -> str:
        """One line per check (``✔ name  detail``), a failure's ``fix:`` indented below it."""
        marks = _MARKS if _can_encode("".join(_MARKS.values()), encoding) else _PLAIN
        width = max((len(check.name) for check in self.checks), default=0)
        lines: list[str] = []
        for check in self.checks:
            lines.append(f"{marks[check.status]} {check.name.ljust(width)}  {check.detail}")
            if check.fix:
                lines.append(f"    fix: {check.fix}")
        failures = sum(1 for check in self.checks if check.status == "fail")
        unchecked = sum(1 for check in self.checks if check.blocked)
        if failures or unchecked:
            summary = f"{failures} failed" + (f", {unchecked} not checked" if unchecked else "")
            lines.append(summary)
        else:
            lines.append("all checks passed")
        text = "\n".join(lines)
        if marks is _PLAIN:  # names and details may hold non-ASCII too (an arrow, a path)
            target = encoding or sys.stdout.encoding or "ascii"
            text = text.encode(target, "replace").decode(target)
        return text

    def json(self) -> str:
        """``{"ok": ..., "checks": [{"name", "status", "detail", "fix", "blocked"}, ...]}``."""
        document = {"ok": self.ok, "checks": [asdict(check) for check in self.checks]}
        return json.dumps(document, indent=2)


def _can_encode(text: str, encoding: str | None) -> bool:
    try:
        text.encode(encoding or sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


_SETTING = re.compile(r"\bmqtt\.([a-z_]+)\b(?! \()")


def with_env(text: str, env_prefix: str) -> str:
    """Name each ``mqtt.<key>`` with its environment variable: ``mqtt.password
    (GAS2MQTT_MQTT__PASSWORD in .env)``, so the hint says where a secret goes."""

    def named(match: re.Match[str]) -> str:
        key = match.group(1)
        variable = f"{env_prefix}MQTT__{key.upper()}"
        where = f"{variable} in .env" if key == "password" else variable
        return f"{match.group(0)} ({where})"

    return _SETTING.sub(named, text)

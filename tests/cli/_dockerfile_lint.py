"""A Docker-free lint of a Dockerfile, and the build context a .dockerignore leaves.

Checks what would make ``docker build`` fail or the container misbehave: instruction names,
continuation lines, FROM first (ARGs before it allowed, and the only way to use a variable in
FROM), JSON-form CMD/ENTRYPOINT/SHELL/RUN/HEALTHCHECK CMD are JSON string lists, HEALTHCHECK
options, STOPSIGNAL, a non-root USER before CMD, and no COPY/ADD of a .env file.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KNOWN = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)  # fmt: skip
JSON_FORM = frozenset({"CMD", "ENTRYPOINT", "RUN", "SHELL"})
_DURATION = re.compile(r"\d+(\.\d+)?(ms|s|m|h)")
_HEALTH_OPTIONS = {"interval", "timeout", "start-period", "start-interval", "retries"}
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Instruction:
    line: int  # where it starts (1-based)
    keyword: str  # upper case, as Docker reads it
    args: str  # continuation lines joined, comments inside removed


def parse(text: str) -> tuple[list[Instruction], list[str]]:
    """The instructions of *text*, and the problems found while reading them."""
    instructions: list[Instruction] = []
    problems: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start, line = i + 1, lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = [line.rstrip()]
        while parts[-1].endswith("\\"):
            parts[-1] = parts[-1][:-1]
            while i < len(lines) and lines[i].strip().startswith("#"):
                i += 1  # comment lines inside a continuation are dropped
            if i >= len(lines):
                problems.append(f"line {start}: the last line ends with a continuation '\\'")
                break
            parts.append(lines[i].rstrip())
            i += 1
        joined = " ".join(p.strip() for p in parts)
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
    return instructions, problems


def _json_list(args: str) -> list[str] | None:
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def lint(text: str) -> list[str]:
    """Every problem found in the Dockerfile *text* (an empty list: it passes)."""
    instructions, problems = parse(text)
    if not instructions:
        return [*problems, "no instructions"]
    declared: set[str] = set()
    seen_from = False
    user: str | None = None
    healthchecks: list[Instruction] = []
    cmd: Instruction | None = None
    for ins in instructions:
        where = f"line {ins.line}: {ins.keyword}"
        if ins.keyword not in KNOWN:
            problems.append(f"{where}: unknown instruction")
            continue
        if not ins.args:
            problems.append(f"{where}: no arguments")
            continue
        if not seen_from and ins.keyword not in ("ARG", "FROM"):
            problems.append(f"{where}: before the first FROM (only ARG may be)")
        if ins.keyword == "ARG" and not seen_from:
            declared.add(ins.args.partition("=")[0].strip())
        if ins.keyword == "FROM":
            seen_from = True
            user, healthchecks, cmd = None, [], None  # a new stage
            unknown = set(_VARIABLE.findall(ins.args)) - declared
            if unknown:
                problems.append(f"{where}: uses {sorted(unknown)} without an ARG before FROM")
        json_form = ins.keyword in JSON_FORM and ins.args.startswith("[")
        if json_form and _json_list(ins.args) is None:
            problems.append(f"{where}: invalid JSON form {ins.args!r}")
        if ins.keyword == "HEALTHCHECK":
            healthchecks.append(ins)
            problems += [f"{where}: {p}" for p in _healthcheck(ins.args)]
        if ins.keyword == "STOPSIGNAL" and ins.args not in signal.Signals.__members__:
            problems.append(f"{where}: unknown signal {ins.args!r}")
        if ins.keyword == "USER":
            user = ins.args.partition(":")[0]
        if ins.keyword == "CMD":
            cmd = ins
        if ins.keyword == "ENV":
            problems += [f"{where}: {p}" for p in _env(ins.args)]
        if ins.keyword in ("COPY", "ADD"):
            sources = [w for w in shlex.split(ins.args) if not w.startswith("--")][:-1]
            if any(Path(s).name.startswith(".env") for s in sources):
                problems.append(f"{where}: copies a .env file (secrets) into the image")
    if not seen_from:
        problems.append("no FROM")
    if cmd is None:
        problems.append("the last stage has no CMD")
    if not healthchecks:
        problems.append("the last stage has no HEALTHCHECK")
    elif len(healthchecks) > 1:
        problems.append("more than one HEALTHCHECK (only the last counts)")
    if user is None or user in ("root", "0"):
        problems.append(f"the container runs as root (USER {user or 'missing'})")
    return problems


def _healthcheck(args: str) -> list[str]:
    words = args.split()
    problems: list[str] = []
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        if name not in _HEALTH_OPTIONS:
            problems.append(f"unknown option --{name}")
        elif name == "retries" and not value.isdigit():
            problems.append(f"--retries={value}: not a number")
        elif name != "retries" and not _DURATION.fullmatch(value):
            problems.append(f"--{name}={value}: not a duration")
    if words == ["NONE"]:
        return problems
    if not words or words[0] != "CMD" or len(words) < 2:
        return [*problems, "needs CMD <command> (or NONE)"]
    rest = args[args.index("CMD") + 3 :].strip()
    if rest.startswith("[") and _json_list(rest) is None:
        problems.append(f"invalid JSON form {rest!r}")
    return problems


def _env(args: str) -> list[str]:
    try:
        words = shlex.split(args)
    except ValueError as exc:
        return [f"cannot split: {exc}"]
    if "=" not in words[0]:
        return [] if len(words) >= 2 else ["ENV KEY VALUE needs a value"]
    return [f"{w!r} is not KEY=VALUE" for w in words if "=" not in w]


# ------------------------------------------------------------------------- .dockerignore


def _segment(glob: str) -> str:
    out, i = "", 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "[" and "]" in glob[i + 1 :]:
            end = glob.index("]", i + 1)
            body = glob[i + 1 : end]
            if body.startswith(("!", "^")):
                body = "^" + body[1:]
            out += f"[{body}]"
            i = end
        else:
            out += re.escape(ch)
        i += 1
    return out


def _pattern(pattern: str) -> re.Pattern[str]:
    parts = [p for p in pattern.strip("/").split("/") if p not in ("", ".")]
    regex = ""
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:[^/]+/)*"
        else:
            regex += _segment(part) + ("" if last else "/")
    return re.compile(regex)


def excluded(path: str, patterns: Iterable[str]) -> bool:
    """Whether Docker leaves *path* (relative, POSIX) out of the build context: the last
    matching pattern wins (``!`` re-includes), and a path under an excluded directory is out."""
    rules = [
        (line.startswith("!"), _pattern(line.removeprefix("!").strip()))
        for line in (raw.strip() for raw in patterns)
        if line and not line.startswith("#")
    ]
    parts = path.split("/")
    result = False
    for negated, regex in rules:
        for depth in range(1, len(parts) + 1):
            if regex.fullmatch("/".join(parts[:depth])):
                result = not negated
                break
    return result


def build_context(root: Path) -> list[str]:
    """The files ``docker build root`` would send, by root/.dockerignore."""
    ignore = root / ".dockerignore"
    patterns = ignore.read_text("utf-8").splitlines() if ignore.exists() else []
    files = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(f for f in files if not excluded(f, patterns))

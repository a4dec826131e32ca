"""What `cosactl add` does, as plain functions: render a snippet, plan, apply; and the rules
both `new` and `add` follow (names, where the template is). `cosactl new` is in
:mod:`cosactl.new_project`.

Heavy libraries (cookiecutter, jinja2, tomlkit) are imported inside the functions that use them.
"""

from __future__ import annotations

import json
import keyword
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosactl._edit import (
    Change,
    GenerateError,
    app_name,
    camel,
    file_change,
    port_of,
    record_change,
    registered_names,
    settings_change,
    stream_port_of,
    write_atomic,
)
from cosactl._errors import EXIT_PROJECT, EXIT_REFUSED, EXIT_USAGE
from cosactl._project import project_root as cosactl_project_root

__all__ = [
    "ARCHETYPES",
    "AddPlan",
    "Change",
    "GenerateError",
    "apply_plan",
    "check_name",
    "plan_add",
]

ARCHETYPES = ("telemetry", "command", "device", "periodic", "stream", "adapter", "router")
DEVICE_ARCHETYPES = frozenset({"telemetry", "command", "device", "periodic", "stream"})
FOLDER = {"adapter": "adapters", "router": "routers"}  # every other archetype: devices/
DEFAULT_INTERVAL = {"telemetry": 60.0, "device": 10.0, "periodic": 300.0}
DEFAULT_EVERY = 300.0
CRON_FIELDS = "second minute hour day-of-month month day-of-week [year]"
CRON_EXAMPLE = "0 0 6 ? * MON-FRI"
LINE_LENGTH = 100  # the generated project's ruff line length
MAX_NAME_LENGTH = 32
# Names that would clash with the project's folders, its first test or a class in a snippet.
RESERVED = frozenset(
    {"adapters", "cosalette", "conftest", "device", "devices", "project", "routers", "tests"}
)
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class AddPlan:
    """Everything ``cosactl add`` would do, computed without writing anything."""

    root: Path
    archetype: str
    name: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def conflicts(self) -> tuple[Change, ...]:
        """Changes that would overwrite a file that differs from the template's."""
        return tuple(c for c in self.changes if c.action == "conflict")


def template_dir() -> Path:
    """The cookiecutter template shipped with cosactl (in a checkout: the repository's)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "project_template", here.parent / "project_template"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise GenerateError("the project template is missing from this installation", EXIT_PROJECT)


def check_name(name: str, what: str = "name") -> str:
    """Return *name* if it is usable as a Python module name and an MQTT topic segment."""
    rule = "use lowercase letters, digits and underscores, starting with a letter"
    if not _NAME.fullmatch(name):
        raise GenerateError(f"invalid {what} {name!r}: {rule}", EXIT_USAGE)
    if len(name) > MAX_NAME_LENGTH:
        raise GenerateError(
            f"invalid {what} {name!r}: over {MAX_NAME_LENGTH} characters", EXIT_USAGE
        )
    if keyword.iskeyword(name):
        raise GenerateError(f"invalid {what} {name!r}: it is a Python keyword", EXIT_USAGE)
    if name in RESERVED and what != "project name":
        raise GenerateError(f"invalid {what} {name!r}: the name is reserved", EXIT_USAGE)
    return name


def _number(value: float, option: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise GenerateError(f"{option} must be a positive number of seconds", EXIT_USAGE)
    return float(value)


def _cron(expression: str) -> str:
    """*expression* with single spaces between fields, after checking it is a valid cron."""
    from cosalette import CronSchedule

    normalised = " ".join(str(expression).split())
    try:
        CronSchedule(normalised)
    except ValueError as exc:
        reason = str(exc).removeprefix(f"CronSchedule({normalised!r}): ")
        fields = "" if CRON_FIELDS in reason else f" ({CRON_FIELDS})"
        raise GenerateError(
            f"invalid --schedule {expression!r}: {reason}; give a Quartz cron expression"
            f'{fields}, e.g. "{CRON_EXAMPLE}"',
            EXIT_USAGE,
        ) from None
    return normalised


def _check_options(archetype: str, options: Mapping[str, Any], name: str = "") -> dict[str, Any]:
    """The options that apply to *archetype*, validated; anything else is a usage error."""
    applies = {
        "interval": {"telemetry", "device", "periodic"},
        "publish": {"telemetry"},
        "every": {"telemetry"},
        "adapter": {"telemetry", "stream"},
        "schedule": {"telemetry"},
        "triggerable": {"telemetry"},
    }
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    for key in given:
        if archetype not in applies.get(key, set()):
            raise GenerateError(f"--{key} does not apply to {archetype}", EXIT_USAGE)
    if "every" in given and given.get("publish") != "every":
        raise GenerateError("--every needs --publish every", EXIT_USAGE)
    if given.get("publish") not in (None, "on-change", "every"):
        raise GenerateError("--publish takes on-change or every", EXIT_USAGE)
    if "schedule" in given and "interval" in given:
        raise GenerateError(
            "--schedule and --interval are mutually exclusive: a telemetry device reads on a "
            "cron schedule or every N seconds; give one of them",
            EXIT_USAGE,
        )
    checked = dict(given)
    if "schedule" in given:
        checked["schedule"] = _cron(given["schedule"])
    if "triggerable" in given:
        checked["triggerable"] = True
    if archetype in DEFAULT_INTERVAL and "schedule" not in checked:
        checked["interval"] = _number(
            given.get("interval", DEFAULT_INTERVAL[archetype]), "--interval"
        )
    if given.get("publish") == "every":
        checked["every"] = _number(given.get("every", DEFAULT_EVERY), "--every")
    if "adapter" in given or archetype == "stream":  # a stream's port defaults to its name
        checked["adapter"] = check_name(given.get("adapter", name), "adapter name")
    return checked


def _literal(value: float) -> str:
    return repr(float(value))


def _render_snippet(
    archetype: str, context: Mapping[str, Any], template: Path | None = None
) -> dict[str, str]:
    """Relative path → rendered text, for every file of the archetype's snippet (in *template*,
    default the shipped one)."""
    import jinja2

    base = (template or template_dir()) / "snippets" / archetype
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    rendered: dict[str, str] = {}
    for path in sorted(base.rglob("*")):
        if path.is_file():
            rel = env.from_string(path.relative_to(base).as_posix()).render(context)
            rel = rel.removesuffix(".j2")  # .j2 keeps linters off the unrendered templates
            rendered[rel] = env.from_string(path.read_text("utf-8")).render(context)
    return rendered


def plan_add(
    project_root: str | Path, archetype: str, name: str, options: Mapping[str, Any]
) -> AddPlan:
    """Work out the files and settings.toml edit for ``cosactl add``; writes nothing."""
    root = cosactl_project_root(Path(project_root))
    if archetype not in ARCHETYPES:
        raise GenerateError(f"unknown archetype {archetype!r}", EXIT_USAGE)
    check_name(name, f"{archetype} name")
    opts = _check_options(archetype, options, name)
    module = f"{FOLDER.get(archetype, 'devices')}/{name}.py"
    if archetype in DEVICE_ARCHETYPES:
        where = registered_names(root).get(name)
        if where is not None and not where.startswith(f"{module}:"):
            raise GenerateError(
                f"the name {name!r} is already registered at {where}; choose another name",
                EXIT_REFUSED,
            )
    files, fragment = render_add(root, archetype, name, opts)
    changes = [file_change(root, rel, text) for rel, text in files.items()]
    if fragment is not None:
        changes.append(settings_change(root, name, fragment))
    record = record_change(root, archetype, name, opts, changes)
    if record is not None:
        changes.append(record)
    return AddPlan(root, archetype, name, tuple(changes))


def render_add(
    root: Path,
    archetype: str,
    name: str,
    opts: Mapping[str, Any],
    absent: frozenset[str] = frozenset(),
    template: Path | None = None,
) -> tuple[dict[str, str], str | None]:
    """The files an add of checked *opts* writes (relative path → text; an adapter it creates
    too) and its settings.toml fragment. Files in *absent* are rendered as if missing
    (``cosactl remove`` and ``update`` re-render what an add created); *template* is the
    project template whose snippets are used (default: the shipped one)."""
    app = app_name(root)
    module = f"{FOLDER.get(archetype, 'devices')}/{name}.py"
    adapter: dict[str, str] | None = None
    files: dict[str, str] = {}
    skip: set[str] = set()
    if archetype == "stream":  # an existing adapters/PORT.py is used as it is
        port_name = opts["adapter"]
        port_path = root / "adapters" / f"{port_name}.py"
        port_class = camel(port_name)
        adapter = {"module": port_name, "class_name": port_class, "fake": f"Fake{port_class}"}
        if port_path.is_file() and f"adapters/{port_name}.py" not in absent:
            adapter = stream_port_of(port_path, port_name, module)
            skip.add(f"adapters/{port_name}.py")
    elif "adapter" in opts:
        adapter_path = root / "adapters" / f"{opts['adapter']}.py"
        if adapter_path.is_file() and f"adapters/{opts['adapter']}.py" not in absent:
            adapter = port_of(adapter_path, opts["adapter"])
        else:
            port_name = opts["adapter"]
            adapter = {"module": port_name, "port": f"{camel(port_name)}Port", "method": "read"}
            files.update(
                _render_snippet(
                    "adapter",
                    {"name": port_name, "class_name": camel(port_name), "app": app},
                    template,
                )
            )
    every = opts.get("every", DEFAULT_EVERY)
    schedule = json.dumps(opts.get("schedule"))  # also a valid Python string literal
    context = {
        "name": name,
        "class_name": camel(name),
        "app": app,
        "interval": _literal(opts.get("interval", 60.0)),
        "schedule": opts.get("schedule"),
        "schedule_literal": schedule,
        "too_long": lambda before, after="": len(f"{before}{schedule}{after}") > LINE_LENGTH,
        "cron_fields": CRON_FIELDS,
        "triggerable": bool(opts.get("triggerable")),
        "publish": opts.get("publish"),
        "every": _literal(every),
        "adapter": adapter,
    }
    files.update(_render_snippet(archetype, context, template))
    files = {rel: text for rel, text in files.items() if rel not in skip}
    fragment = files.pop("settings.toml", None)
    return files, fragment


def apply_plan(plan: AddPlan, force: bool = False, pretend: bool = False) -> tuple[Change, ...]:
    """Write the plan (nothing under *pretend*); conflicts are refused unless *force*."""
    if plan.conflicts and not force:
        diffs = "".join(c.diff for c in plan.conflicts)
        paths = " and ".join(c.path for c in plan.conflicts)
        raise GenerateError(
            f"refusing to overwrite {paths}: your version differs from the template's "
            f"(diff below); nothing was written. --force overwrites.\n{diffs.rstrip()}",
            EXIT_REFUSED,
        )
    if not pretend:
        for change in plan.changes:
            if change.content is not None:
                write_atomic(plan.root / change.path, change.content)
    return plan.changes

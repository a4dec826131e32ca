"""``cosactl update``: merge a newer project template into the project."""

from __future__ import annotations

from pathlib import Path

import click

from cosactl._errors import EXIT_CHECK_FAILED, CosactlError

COLOUR = {
    "update": "cyan",
    "merge": "cyan",
    "create": "green",
    "remove": "yellow",
    "conflict": "red",
    "keep": "blue",
}


@click.command()
@click.option(
    "--conflict",
    type=click.Choice(["sidecar", "inline"]),
    default="sidecar",
    show_default=True,
    help="sidecar: leave a conflicting file as it is and write the template's version next to "
    "it as FILE.cosactl-new; inline: write the merge into the file with conflict markers.",
)
@click.option(
    "--template",
    "template",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Update from this cookiecutter template directory (default: the template shipped "
    "with this cosactl).",
)
@click.option("--pretend", is_flag=True, help="Show what would change, with diffs; write nothing.")
def update(conflict: str, template: Path | None, pretend: bool) -> None:
    """Merge the template shipped with this cosactl into the project.

    A three-way merge between the template version the project was made from (its pristine
    rendering is kept under "base" in .cosactl.json), the new template rendered with the answers
    recorded by `cosactl new`, and your files. Files you never changed are updated; files you
    changed are merged line by line; settings.toml gets the template's new keys and tables (with
    their comments) and your values stay as they are. Files new in the template are created;
    files it dropped are removed when you never changed them.

    The files `cosactl add` created (devices/NAME.py, its test, an adapter) are re-rendered
    from the new template's snippets with the options recorded in .cosactl.json and merged the
    same way against the text the add wrote: untouched ones are replaced, changed ones merged,
    deleted ones not re-created; [devices.NAME] in settings.toml stays as it is. So an update
    runs when the template version differs OR any add's new rendering differs from what it
    wrote; "already up to date" means neither. An add recorded by an older cosactl (without
    the text it wrote) never overwrites a file you changed: that is a conflict.

    A conflict (both you and the template changed the same lines) is shown as a diff: your file
    is left as it is and the template's version is written next to it as FILE.cosactl-new
    (merge by hand, then delete it), or with --conflict inline the file gets conflict markers
    (<<<<<<< yours / ======= / >>>>>>> template VERSION). Then .cosactl.json records the new
    version; projects made before the base was recorded treat every differing file as a
    conflict.

    \b
    Exit codes: 0 updated (or already up to date), 1 conflicts (listed; also with --pretend),
    3 no usable .cosactl.json, 4 refused (FILE.cosactl-new files or conflict markers from an
    earlier update are still there), 5 not a project.

    \b
    Examples:
      cosactl update --pretend
      cosactl update --conflict inline
      cosactl update --template ../cosalette/project_template
    """
    from cosactl._project import project_root
    from cosactl._update.plan import SIDECAR, apply_update, plan_update
    from cosactl.generate import GenerateError, template_dir

    try:
        source = template or template_dir()
        plan = plan_update(project_root(), source, inline=conflict == "inline")
    except GenerateError as exc:
        raise CosactlError(str(exc), exc.exit_code) from None
    if plan.up_to_date:
        click.echo(f"Already up to date with template {plan.new_version}; nothing changed.")
        return
    for item in plan.files:
        if item.action == "unchanged" and not item.notes and not pretend:
            continue
        colour = COLOUR.get(item.action)
        label = click.style(f"{item.action:<9}", fg=colour, bold=colour is not None)
        click.echo(f"{label} {item.path}")
        for note in item.notes:
            click.echo(f"          {note}")
        if item.diff and (pretend or item.action == "conflict"):
            click.echo(item.diff.rstrip("\n"))
    if not pretend:
        apply_update(plan)
    versions = f"from template {plan.old_version or '?'} to {plan.new_version}"
    if pretend:
        click.echo(f"--pretend: {versions}; nothing was written")
    elif plan.old_version == plan.new_version and not plan.writes_files:
        click.echo(
            f"Recorded template {plan.new_version}'s rendering as the base for later updates."
        )
    elif plan.old_version == plan.new_version:
        click.echo(f"Updated to template {plan.new_version}'s files and snippets.")
    else:
        click.echo(f"Updated {versions}.")
    if plan.conflicts:
        paths = ", ".join(f.path for f in plan.conflicts)
        how = (
            "conflict markers were written into them: resolve and remove the markers"
            if conflict == "inline"
            else f"they were left as they are; the template's version is next to each as "
            f"FILE{SIDECAR}: merge it by hand, then delete it"
        )
        would = "would conflict" if pretend else "conflict"
        raise CosactlError(
            f"{len(plan.conflicts)} file(s) {would}: {paths}; {how}", EXIT_CHECK_FAILED
        )

"""`cosactl deploy systemd|docker`, run as real subprocesses on a project made by `cosactl new`.

The unit files go through `systemd-analyze verify` (when it is installed) and the health
service's shell commands are run with a stand-in `systemctl`; the Dockerfile through the
Docker-free lint in _dockerfile_lint.py, compose.yaml through a YAML parser.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _cli import cosactl, snapshot
from _dockerfile_lint import build_context, lint

from cosactl._deploy import RUNTIME_STOP_LIMIT

SECRET = "pa55-w0rd-that-must-not-leak"
UNITS = ("demo.service", "demo-health.service", "demo-health.timer")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project made by `cosactl new`, in a folder whose path needs quoting in a unit."""
    base = tmp_path_factory.mktemp("deploy") / "my bridges"
    base.mkdir()
    result = cosactl("new", "demo", cwd=base)
    assert result.returncode == 0, result.stderr
    return base / "demo"


@pytest.fixture
def project(fresh: Path, tmp_path: Path) -> Path:
    target = tmp_path / "my bridges" / "demo"
    shutil.copytree(fresh, target)
    (target / ".env").write_text(f"DEMO_MQTT__USERNAME=bridge\nDEMO_MQTT__PASSWORD={SECRET}\n")
    return target


@pytest.fixture
def python(tmp_path: Path) -> Path:
    """An executable 'python' in a folder with a space and a % (quoting, specifiers)."""
    folder = tmp_path / "py 100%"
    folder.mkdir()
    link = folder / "python"
    link.symlink_to(sys.executable)
    return link


def units(text: str) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections → (key, value) pairs in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            current.append((key, value))
    return sections


def values(sections: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in sections.get(section, []) if k == key]


def systemd_words(command: str) -> list[str]:
    """A command line as systemd splits it (enough for what deploy writes): quotes, $$, %%."""
    return [w.replace("$$", "$").replace("%%", "%") for w in shlex.split(command)]


def verify(paths: list[Path]) -> list[str]:
    """What `systemd-analyze verify` says about *paths* (other units' noise left out)."""
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, paths)],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""},
        timeout=60,
        check=False,
    )
    names = [p.name for p in paths]
    said = (result.stdout + result.stderr).splitlines()
    ours = [line for line in said if any(name in line for name in names)]
    if result.returncode != 0 and not ours:
        ours = said or [f"exit {result.returncode}"]
    return ours


def deploy_systemd(project: Path, python: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cosactl(
        "deploy", "systemd", "--user", getpass.getuser(), "--python", str(python), *extra,
        cwd=project,
    )  # fmt: skip


# --------------------------------------------------------------------------- systemd


def test_systemd_units_run_the_project_and_pass_systemd_analyze_verify(
    project: Path, python: Path
) -> None:
    result = deploy_systemd(project, python)
    assert result.returncode == 0, result.stderr
    out = project / "deploy" / "systemd"
    assert sorted(p.name for p in out.iterdir()) == sorted(UNITS)
    for name in UNITS:
        assert f"deploy/systemd/{name}" in result.stdout
    assert "sudo systemctl enable --now demo.service demo-health.timer" in result.stdout
    assert f"sudo install -d -o {getpass.getuser()} " in result.stdout  # the store's folder

    main = units((out / "demo.service").read_text())
    assert systemd_words(values(main, "Service", "ExecStart")[0]) == [
        str(python), "-m", "cosactl", "run",
    ]  # fmt: skip
    assert values(main, "Service", "WorkingDirectory") == [str(project)]
    assert values(main, "Service", "User") == [getpass.getuser()]
    assert values(main, "Service", "EnvironmentFile") == [f"-{project}/.env"]
    assert values(main, "Service", "Restart") == ["always"]
    assert int(values(main, "Service", "TimeoutStopSec")[0]) > RUNTIME_STOP_LIMIT
    assert values(main, "Service", "KillSignal") == ["SIGTERM"]
    assert values(main, "Service", "ProtectSystem") == ["strict"]
    # the store (settings.toml: state/store.json) is the one writable project folder
    assert [systemd_words(v) for v in values(main, "Service", "ReadWritePaths")] == [
        [str(project / "state")]
    ]
    environment = " ".join(values(main, "Service", "Environment"))
    assert "DEMO_HEALTH__FILE=/run/demo/health.json" in environment
    assert values(main, "Service", "RuntimeDirectory") == ["demo"]
    timer = units((out / "demo-health.timer").read_text())
    assert values(timer, "Timer", "Unit") == ["demo-health.service"]
    assert values(timer, "Unit", "PartOf") == ["demo.service"]

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the units were not verified")
    assert verify([out / name for name in UNITS]) == []


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_verify_reports_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: an unknown key and a missing executable are reported."""
    broken = tmp_path / "broken.service"
    broken.write_text("[Service]\nExecStart=/nonexistent/python -m cosactl run\nBogus=1\n")
    said = "\n".join(verify([broken]))
    assert "Bogus" in said
    assert "/nonexistent/python" in said


def _stand_ins(tmp_path: Path) -> tuple[Path, Path]:
    """A `systemctl` that logs its arguments and answers is-active from $STATE, and a python
    that logs its arguments and working directory and exits with $HEALTH."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    systemctl = bin_dir / "systemctl"
    systemctl.write_text(
        f'#!/bin/sh\necho "systemctl $*" >> "{log}"\n'
        'if [ "$1" = is-active ]; then [ "$STATE" = active ]; exit $?; fi\nexit 0\n'
    )
    fake = tmp_path / "fake py" / "python"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "python $* in $PWD" >> "{log}"\nexit "$HEALTH"\n')
    for path in (systemctl, fake):
        path.chmod(0o755)
    return bin_dir, fake


def test_health_service_checks_only_while_the_service_runs_and_restarts_it_on_failure(
    project: Path, tmp_path: Path
) -> None:
    bin_dir, fake = _stand_ins(tmp_path)
    log = tmp_path / "calls.log"
    assert deploy_systemd(project, fake).returncode == 0
    health = units((project / "deploy/systemd/demo-health.service").read_text())
    start = systemd_words(values(health, "Service", "ExecStart")[0])
    post = systemd_words(values(health, "Service", "ExecStopPost")[0].removeprefix("+"))
    assert values(health, "Service", "Type") == ["oneshot"]
    assert "DEMO_HEALTH__FILE=/run/demo/health.json" in " ".join(
        values(health, "Service", "Environment")
    )

    def run(command: list[str], **env: str) -> int:
        log.write_text("")
        path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
        environ = {**os.environ, "PATH": path, **env}
        return subprocess.run(command, cwd=project, env=environ, check=False).returncode

    # the service is not running (stopped on purpose, or given up): no check, no failure
    assert run(start, STATE="inactive", HEALTH="1") == 0
    assert "python" not in log.read_text()
    # running and unhealthy: `python -m cosactl health` in the project, its exit status kept
    assert run(start, STATE="active", HEALTH="1") == 1
    assert f"python -m cosactl health in {project}" in log.read_text()
    assert run(start, STATE="active", HEALTH="0") == 0
    # after a failed check the service is restarted; after a passed one it is left alone
    assert run(post, SERVICE_RESULT="exit-code") == 0
    assert "systemctl --no-block restart demo.service" in log.read_text()
    assert run(post, SERVICE_RESULT="success") == 0
    assert "restart" not in log.read_text()


def test_systemd_units_use_a_state_directory_without_a_store_section(
    project: Path, python: Path
) -> None:
    settings = project / "settings.toml"
    text = settings.read_text()
    settings.write_text(re.sub(r"\n\[store\]\nbackend = \"json\"\npath = .*\n", "\n", text))
    assert "[store]" not in settings.read_text()
    result = deploy_systemd(project, python)
    assert result.returncode == 0, result.stderr
    main = units((project / "deploy/systemd/demo.service").read_text())
    assert values(main, "Service", "StateDirectory") == ["demo"]
    assert "DEMO_STORE_PATH=/var/lib/demo/store.json" in values(main, "Service", "Environment")
    assert values(main, "Service", "ReadWritePaths") == []


# --------------------------------------------------------------------------- docker


def test_docker_files_lint_clean_and_keep_secrets_out_of_the_image(project: Path) -> None:
    (project / "state").mkdir()
    (project / "state" / "store.json").write_text("{}")
    (project / ".env.local").write_text(f"DEMO_MQTT__PASSWORD={SECRET}\n")
    result = cosactl("deploy", "docker", "--python-version", "3.12", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "docker compose up -d --build" in result.stdout

    dockerfile = (project / "Dockerfile").read_text()
    assert lint(dockerfile) == []
    assert "ARG PYTHON_VERSION=3.12" in dockerfile
    assert 'CMD ["cosactl", "health"]' in dockerfile
    assert "HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3" in dockerfile
    assert "ENV DEMO_HEALTH__FILE=/tmp/health.json" in dockerfile
    assert 'CMD ["cosactl", "run"]' in dockerfile

    context = build_context(project)
    assert ".env" not in context and ".env.local" not in context
    assert "state/store.json" not in context  # local state is not baked in
    assert {"settings.toml", "pyproject.toml"} <= set(context)

    compose = yaml.safe_load((project / "compose.yaml").read_text())
    service = compose["services"]["demo"]
    assert service["env_file"] == ".env"
    assert service["restart"] == "unless-stopped"
    assert service["volumes"] == ["state:/app/state"]
    assert service["stop_grace_period"] == f"{int(RUNTIME_STOP_LIMIT) + 5}s"
    assert "state" in compose["volumes"]
    # settings.toml says localhost: in a container that is not the broker
    assert service["environment"]["DEMO_MQTT__HOST"] == "${DEMO_MQTT__HOST:-host.docker.internal}"


@pytest.mark.parametrize(
    ("store", "volume", "variable"),
    [
        ('path = "data/db.sqlite3"', "state:/app/data", None),
        # a volume on the project's root would hide the code: the store moves to a volume
        ('path = "store.json"', "state:/app/state", "DEMO_STORE_PATH=/app/state/store.json"),
    ],
)
def test_docker_store_volume_follows_the_store_section(
    project: Path, store: str, volume: str, variable: str | None
) -> None:
    settings = project / "settings.toml"
    text = settings.read_text().replace('path = "state/store.json"', store)
    if "sqlite" in store:
        text = text.replace('backend = "json"', 'backend = "sqlite"')
    settings.write_text(text)
    result = cosactl("deploy", "docker", cwd=project)
    assert result.returncode == 0, result.stderr
    dockerfile = (project / "Dockerfile").read_text()
    assert lint(dockerfile) == []
    service = yaml.safe_load((project / "compose.yaml").read_text())["services"]["demo"]
    assert service["volumes"] == [volume]
    assert (variable is not None) == ("DEMO_STORE_PATH" in dockerfile)
    if variable:
        assert variable in dockerfile


def test_dockerfile_lint_can_fail() -> None:
    good = (
        "ARG V=3.12\nFROM python:${V}-slim\nUSER app\n"
        'HEALTHCHECK --interval=30s CMD ["cosactl", "health"]\nCMD ["cosactl", "run"]\n'
    )
    assert lint(good) == []
    bad = {
        "no healthcheck": good.replace('HEALTHCHECK --interval=30s CMD ["cosactl", "health"]', ""),
        "root": good.replace("USER app", "USER root"),
        "json": good.replace('CMD ["cosactl", "run"]', "CMD [cosactl, run]"),
        "unknown": good.replace("USER app", "USER app\nCOPPY . ."),
        "env": good.replace("USER app", "COPY .env ./\nUSER app"),
        "arg": good.replace("ARG V=3.12\n", ""),
        "option": good.replace("--interval=30s", "--interval=soon"),
        "continuation": good + "RUN true \\\n",
    }
    for what, text in bad.items():
        assert lint(text), what


def test_dockerignore_is_extended_not_replaced(project: Path) -> None:
    (project / ".dockerignore").write_text("# mine\nnode_modules\n.env\n")
    result = cosactl("deploy", "docker", cwd=project)
    assert result.returncode == 0, result.stderr
    text = (project / ".dockerignore").read_text()
    assert text.startswith("# mine\nnode_modules\n.env\n")
    assert text.count("\n.env\n") == 1
    assert ".venv" in text.splitlines()
    assert re.search(r"update\s+\.dockerignore", result.stdout)


# --------------------------------------------------------------------------- both


def test_no_secret_in_any_file_or_output(project: Path, python: Path) -> None:
    before = snapshot(project)
    results = [
        deploy_systemd(project, python),
        cosactl("deploy", "docker", cwd=project),
    ]
    for result in results:
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
    written = set(snapshot(project)) - set(before)
    assert {"Dockerfile", "compose.yaml", ".dockerignore"} <= written
    for rel in written:
        assert SECRET not in (project / rel).read_text(), rel


@pytest.mark.parametrize("target", ["systemd", "docker"])
def test_refuses_to_overwrite_a_changed_file_without_force(
    project: Path, python: Path, target: str
) -> None:
    args = ["--user", "nobody", "--python", str(python)] if target == "systemd" else []
    changed = "deploy/systemd/demo.service" if target == "systemd" else "Dockerfile"
    assert cosactl("deploy", target, *args, cwd=project).returncode == 0
    again = cosactl("deploy", target, *args, cwd=project)
    assert again.returncode == 0
    assert re.search(rf"identical\s+{re.escape(changed)}", again.stdout)

    path = project / changed
    mine = path.read_text() + "# my change\n"
    path.write_text(mine)
    before = snapshot(project)
    refused = cosactl("deploy", target, *args, cwd=project)
    assert refused.returncode == 4
    assert "--force" in refused.stderr and "-# my change" in refused.stderr
    assert snapshot(project) == before

    forced = cosactl("deploy", target, *args, "--force", cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert "# my change" not in path.read_text()


@pytest.mark.parametrize("target", ["systemd", "docker"])
def test_pretend_writes_nothing(project: Path, target: str) -> None:
    before = snapshot(project)
    result = cosactl("deploy", target, "--pretend", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "create" in result.stdout and "nothing was written" in result.stdout
    assert snapshot(project) == before


def test_outside_a_project_is_refused(tmp_path: Path) -> None:
    result = cosactl("deploy", "docker", cwd=tmp_path)
    assert result.returncode == 5
    assert "not inside a cosalette project" in result.stderr

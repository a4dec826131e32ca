"""Projects: a directory with ``settings.toml`` and ``devices/``, ``adapters/``, ``routers/``.

``load_project(path)`` imports the project's modules, composes its Settings class and wires one
App from what the modules declare; ``build_manifest`` and ``build_asyncapi`` describe its MQTT
contract. The layout rules are in the project documentation (``docs/projects.md``).
"""

from __future__ import annotations

from cosalette._contract.asyncapi import build_asyncapi
from cosalette._contract.manifest import (
    build_manifest,
    diff_manifests,
    format_manifest_table,
    manifest_to_json,
    manifest_to_yaml,
)
from cosalette._project.discovery import Project, load_project
from cosalette._project.errors import NotAProjectError, ProjectError, ProjectWarning
from cosalette._project.markers import DeviceConfig, adapter

__all__ = [
    "DeviceConfig",
    "NotAProjectError",
    "Project",
    "ProjectError",
    "ProjectWarning",
    "adapter",
    "build_asyncapi",
    "build_manifest",
    "diff_manifests",
    "format_manifest_table",
    "load_project",
    "manifest_to_json",
    "manifest_to_yaml",
]

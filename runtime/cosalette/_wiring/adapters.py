"""The adapter instances of one run: built, entered, restarted after failed health checks.

Instances live in the run's :class:`Injectables`, so contexts (``ctx.adapter(Port)``) and
bound handler arguments see a restarted adapter from the next call on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosalette._di.adapters import AdapterEntry, build_adapter
from cosalette._di.plan import InjectionError, type_label
from cosalette._errors import StartupError
from cosalette._project.errors import where
from cosalette._wiring.injectables import Injectables

__all__ = ["RunningAdapters"]

logger = logging.getLogger("cosalette")
_PACKAGE = Path(__file__).resolve().parents[1]  # cosalette/


class RunningAdapters:
    """Builds every declared adapter (or takes an override) and keeps them running."""

    def __init__(
        self,
        entries: Mapping[Any, AdapterEntry],
        injectables: Injectables,
        stack: contextlib.AsyncExitStack,
        *,
        dry_run: bool,
        overrides: Mapping[Any, object] | None = None,
    ) -> None:
        self._entries = entries
        self._injectables = injectables
        self._stack = stack
        self._dry_run = dry_run
        self._overrides = dict(overrides or {})
        self._managers: dict[Any, contextlib.AbstractAsyncContextManager[Any]] = {}
        self.built: dict[Any, object] = {}

    async def start(self) -> None:
        """Build and enter each adapter in declaration order; later ones may take earlier.

        An adapter that raises is a :class:`StartupError` naming its port and the line of
        its own source that raised.
        """
        for port, entry in self._entries.items():
            try:
                await self._start(port, entry)
            except (StartupError, InjectionError):
                raise
            except Exception as exc:
                raise _failed(port, exc) from exc

    def _build(self, port: Any, entry: AdapterEntry) -> object:
        if port in self._overrides:
            return self._overrides[port]
        return build_adapter(port, entry, self._injectables.for_adapters(), dry_run=self._dry_run)

    async def _start(self, port: Any, entry: AdapterEntry) -> None:
        adapter = self._build(port, entry)
        self.built[port] = adapter
        instance = adapter
        if isinstance(adapter, contextlib.AbstractAsyncContextManager):
            self._managers[port] = adapter
            entered: object = await self._stack.enter_async_context(adapter)
            instance = entered if entered is not None else adapter
        self._injectables.replace_adapter(port, instance)

    async def restart(self, port: Any) -> bool:
        """Restart *port*'s adapter: exit and re-enter it, or build a new one; False on error."""
        try:
            manager = self._managers.get(port)
            if manager is not None:
                await manager.__aexit__(None, None, None)
                entered: object = await manager.__aenter__()
                self._injectables.replace_adapter(port, entered if entered is not None else manager)
            else:
                await self._start(port, self._entries[port])
            return True
        except Exception:
            logger.exception("Restarting adapter %r failed", port)
            return False


def _failed(port: Any, exc: Exception) -> StartupError:
    """``the adapter for Port failed to start: adapters/x.py:12: OSError: ...``."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _own_code(f.filename)]
    at = f"{where(frames[-1].filename, frames[-1].lineno)}: " if frames else ""
    return StartupError(
        f"the adapter for {type_label(port)} failed to start: {at}{type(exc).__name__}: {exc}"
    )


def _own_code(file: str) -> bool:
    """Whether *file* is the app's code: not cosalette's, the standard library's or a package's."""
    installed = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(_PACKAGE)}
    return not any(file.startswith(folder + os.sep) for folder in installed)

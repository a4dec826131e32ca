"""Injection plans: what each handler parameter needs, decided from its annotation."""

from __future__ import annotations

import inspect
import logging
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

from cosalette.mqtt import Payload, Topic

ParamKind = Literal["inject", "topic", "payload", "events"]

_MISSING = object()


class InjectionError(TypeError):
    """A handler parameter that the framework cannot provide.

    *missing* is the type nothing provides (when that is the problem) and *detail* the message
    without its hint, so a caller with more context (a project) can give its own hint.
    """

    def __init__(self, message: str, *, missing: Any = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing
        self.detail = message if detail is None else detail


def callable_label(func: Callable[..., Any]) -> str:
    """``module.qualname`` of *func*, for error messages."""
    module = getattr(func, "__module__", None) or "?"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return f"{module}.{name}"


@dataclass(frozen=True)
class Param:
    """One parameter: its name, the type it asks for, and how it gets a value."""

    name: str
    annotation: Any
    kind: ParamKind
    model: Any = None
    optional: bool = False
    has_default: bool = False


@dataclass(frozen=True)
class InjectionPlan:
    """The parameters of one callable, in order."""

    func: Callable[..., Any]
    params: tuple[Param, ...]

    @property
    def label(self) -> str:
        """Readable name of the callable."""
        return callable_label(self.func)

    def injected(self) -> tuple[Param, ...]:
        """Parameters filled by type."""
        return tuple(p for p in self.params if p.kind == "inject")

    def wants(self, kind: ParamKind) -> Param | None:
        """The parameter of *kind*, if any."""
        for p in self.params:
            if p.kind == kind:
                return p
        return None


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    target = func
    if not inspect.isfunction(target) and not inspect.ismethod(target):
        target = getattr(func, "__init__", func) if isinstance(func, type) else func
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        return {}


def build_plan(
    func: Callable[..., Any],
    *,
    by_name: frozenset[str] = frozenset(),
    owner: str | None = None,
) -> InjectionPlan:
    """Inspect *func*; every parameter needs an annotation unless named in *by_name*."""
    who = owner or callable_label(func)
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise InjectionError(f"{who}: cannot inspect its signature ({exc})") from None
    hints = _hints(func)
    params: list[Param] = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise InjectionError(f"{who}: *args/**kwargs parameter {p.name!r} cannot be injected")
        raw = hints.get(p.name, p.annotation)
        has_default = p.default is not p.empty
        if p.name in by_name:
            kind: ParamKind = p.name  # type: ignore[assignment]
            params.append(_payload_param(p.name, raw, kind, has_default))
            continue
        if raw is p.empty:
            if has_default:
                continue
            raise InjectionError(
                f"{who}: parameter {p.name!r} has no type annotation, so nothing can be "
                f"injected into it (annotate it, e.g. '{p.name}: DeviceContext')"
            )
        if isinstance(raw, str):
            raise InjectionError(
                f"{who}: the annotation {raw!r} of parameter {p.name!r} cannot be resolved; "
                f"is the type imported at module level?"
            )
        params.append(_typed_param(p.name, raw, has_default))
    return InjectionPlan(func=func, params=tuple(params))


def _payload_param(name: str, raw: Any, kind: ParamKind, has_default: bool) -> Param:
    annotation = None if raw is inspect.Parameter.empty else raw
    model: Any = None
    if annotation is not None:
        base, optional = _strip_optional(_unwrap_annotated(annotation)[0])
        if base not in (str, Any, object) and kind == "payload":
            model = base
        return Param(
            name, annotation, kind, model=model, optional=optional, has_default=has_default
        )
    return Param(name, None, kind, has_default=has_default)


def _unwrap_annotated(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    if typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        return args[0], tuple(args[1:])
    return annotation, ()


def _typed_param(name: str, raw: Any, has_default: bool) -> Param:
    base, extras = _unwrap_annotated(raw)
    if any(isinstance(e, Payload) or e is Payload for e in extras):
        inner, optional = _strip_optional(base)
        model = None if inner in (str, Any, object) else inner
        return Param(name, raw, "payload", model=model, optional=optional, has_default=has_default)
    if any(isinstance(e, Topic) or e is Topic for e in extras):
        return Param(name, raw, "topic", has_default=has_default)
    inner, optional = _strip_optional(base)
    return Param(name, inner, "inject", optional=optional, has_default=has_default)


def _safe_isinstance(value: object, annotation: Any) -> bool:
    try:
        return isinstance(value, annotation)
    except TypeError:
        return False


def lookup(providers: Mapping[Any, object], annotation: Any) -> object:
    """The provider for *annotation*: exact key first, then an instance of that class."""
    value = providers.get(annotation, _MISSING)
    if value is not _MISSING:
        return value
    if isinstance(annotation, type) and annotation is not object:
        for candidate in providers.values():
            if _safe_isinstance(candidate, annotation) and not _is_protocol(annotation):
                return candidate
    return _MISSING


def _is_protocol(annotation: Any) -> bool:
    return bool(getattr(annotation, "_is_protocol", False))


def type_label(annotation: Any) -> str:
    """Short name of a type for messages: ``Reading``, ``StreamablePort[Reading]``."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if args and origin is not None and origin is not Union and origin is not types.UnionType:
        return f"{type_label(origin)}[{', '.join(type_label(a) for a in args)}]"
    return getattr(annotation, "__qualname__", None) or repr(annotation)


def bind(
    plan: InjectionPlan,
    providers: Mapping[Any, object],
    *,
    owner: str | None = None,
) -> dict[str, object]:
    """Keyword arguments for the injected parameters; InjectionError names what is missing."""
    kwargs: dict[str, object] = {}
    for p in plan.params:
        if p.kind != "inject":
            continue
        value = lookup(providers, p.annotation)
        if value is _MISSING:
            if p.has_default:
                continue
            if p.optional:
                kwargs[p.name] = None
                continue
            raise unprovided(owner or plan.label, p)
        kwargs[p.name] = value
    return kwargs


def unprovided(who: str, p: Param) -> InjectionError:
    """The error for parameter *p* of *who* that nothing provides."""
    label = type_label(p.annotation)
    detail = f"{who}: parameter '{p.name}: {label}' cannot be injected; nothing provides {label}"
    return InjectionError(
        f"{detail} (register an adapter with app.adapter({label}, ...), an init= factory "
        f"returning it, or use a framework type such as DeviceContext, Settings, Logger, "
        f"ClockPort)",
        missing=p.annotation,
        detail=detail,
    )


def logger_for(name: str) -> logging.Logger:
    """The logger injected into a handler of device *name*."""
    return logging.getLogger(f"cosalette.device.{name}")

"""Exceptions and what they wrap: urllib3 and requests nest the error that
tells what happened in ``__cause__``, ``reason`` and ``args``."""

from __future__ import annotations

from typing import Iterator


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        pending.extend([current.__cause__, current.__context__])
        if isinstance(reason, BaseException):
            pending.append(reason)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))


def find_cause(exc: BaseException, kind: type | tuple[type, ...]):
    return next((cause for cause in causes(exc) if isinstance(cause, kind)), None)


def is_timeout(exc: BaseException) -> bool:
    return find_cause(exc, TimeoutError) is not None

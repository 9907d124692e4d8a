"""Checks of scalar arguments at the API boundary, with one wording for every error.

Each check returns the value as a plain ``int`` / ``float`` / ``bool`` or raises ``error`` (``ValueError`` unless the
caller names another, e.g. [`ConfigError`][interestyle.errors.ConfigError]) with the message ``"{name}={value!r} is
invalid: expected {what is accepted}"``. A ``bool`` is never accepted as a number (``True`` is an ``int`` to Python, but
``steps=True`` is a mistake); numpy scalars are accepted.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "check_flag",
    "check_int",
    "check_non_negative_int",
    "check_non_negative_number",
    "check_number",
    "check_positive_int",
    "check_positive_number",
    "check_unit_interval",
]


def _fail(name: str, value: object, accepted: str, note: str, error: type[Exception]) -> Exception:
    suffix = f" ({note})" if note else ""
    return error(f"{name}={value!r} is invalid: expected {accepted}{suffix}")


def check_int(
    value: object,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    note: str = "",
    error: type[Exception] = ValueError,
) -> int:
    """``value`` as an ``int``, if it is an integer (not a bool) within ``[minimum, maximum]``.

    Args:
        value: what the caller passed.
        name: how the caller calls it (``"batch_size"``, ``"GeneratorConfig.n_mlp"``), for the message.
        minimum: inclusive lower bound; None for none.
        maximum: inclusive upper bound; None for none.
        note: appended to the message in parentheses (a unit, the usual value).
        error: the exception class to raise.

    Raises:
        error: not an integer, a bool, or out of bounds.
    """
    if minimum is not None and maximum is not None:
        accepted = f"an integer from {minimum} to {maximum}"
    elif minimum is not None:
        accepted = f"an integer >= {minimum}"
    elif maximum is not None:
        accepted = f"an integer <= {maximum}"
    else:
        accepted = "an integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(name, value, accepted, note, error)
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise _fail(name, value, accepted, note, error)
    return number


def check_positive_int(value: object, name: str, *, note: str = "", error: type[Exception] = ValueError) -> int:
    """``value`` as an ``int`` >= 1 (a count, a size, a batch size); see
    [`check_int`][interestyle.validation.check_int]."""
    return check_int(value, name, minimum=1, note=note, error=error)


def check_non_negative_int(value: object, name: str, *, note: str = "", error: type[Exception] = ValueError) -> int:
    """``value`` as an ``int`` >= 0 (a seed, an index, an optional count); see
    [`check_int`][interestyle.validation.check_int]."""
    return check_int(value, name, minimum=0, note=note, error=error)


def _interval(
    minimum: float | None, maximum: float | None, open_minimum: bool, open_maximum: bool, finite: bool
) -> str:
    # "finite" is said where the bounds do not say it already, or when the value was inf or nan
    number = "a finite number" if finite else "a number"
    if minimum is not None and maximum is not None:
        return f"a number in {'(' if open_minimum else '['}{minimum:g}, {maximum:g}{')' if open_maximum else ']'}"
    if minimum is not None:
        return f"{number} {'>' if open_minimum else '>='} {minimum:g}"
    if maximum is not None:
        return f"{number} {'<' if open_maximum else '<='} {maximum:g}"
    return "a finite number"


def check_number(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    open_minimum: bool = False,
    open_maximum: bool = False,
    note: str = "",
    error: type[Exception] = ValueError,
) -> float:
    """``value`` as a ``float``, if it is a finite real number (not a bool) within the bounds.

    Args:
        value: what the caller passed.
        name: how the caller calls it, for the message.
        minimum: lower bound; None for none.
        maximum: upper bound; None for none.
        open_minimum: exclude ``minimum`` itself (``> minimum`` instead of ``>= minimum``).
        open_maximum: exclude ``maximum`` itself.
        note: appended to the message in parentheses (a unit, the usual value).
        error: the exception class to raise.

    Raises:
        error: not a real number, a bool, NaN or infinite, or out of bounds.
    """
    accepted = _interval(minimum, maximum, open_minimum, open_maximum, finite=False)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, value, accepted, note, error)
    number = float(value)
    if not math.isfinite(number):
        raise _fail(name, value, _interval(minimum, maximum, open_minimum, open_maximum, finite=True), note, error)
    if minimum is not None and (number < minimum or (open_minimum and number == minimum)):
        raise _fail(name, value, accepted, note, error)
    if maximum is not None and (number > maximum or (open_maximum and number == maximum)):
        raise _fail(name, value, accepted, note, error)
    return number


def check_positive_number(value: object, name: str, *, note: str = "", error: type[Exception] = ValueError) -> float:
    """``value`` as a finite ``float`` > 0 (a scale, a learning rate); see
    [`check_number`][interestyle.validation.check_number]."""
    return check_number(value, name, minimum=0, open_minimum=True, note=note, error=error)


def check_non_negative_number(
    value: object, name: str, *, note: str = "", error: type[Exception] = ValueError
) -> float:
    """``value`` as a finite ``float`` >= 0 (a weight, a radius, a sigma); see
    [`check_number`][interestyle.validation.check_number]."""
    return check_number(value, name, minimum=0, note=note, error=error)


def check_unit_interval(value: object, name: str, *, note: str = "", error: type[Exception] = ValueError) -> float:
    """``value`` as a ``float`` in [0, 1] (a probability, a fraction, a blend); see
    [`check_number`][interestyle.validation.check_number]."""
    return check_number(value, name, minimum=0, maximum=1, note=note, error=error)


def check_flag(value: object, name: str, *, error: type[Exception] = ValueError) -> bool:
    """``value`` itself, if it is a ``bool`` (``1`` and ``"yes"`` are refused: a flag is True or False).

    Raises:
        error: anything but ``True`` or ``False``.
    """
    if not isinstance(value, bool):
        raise _fail(name, value, "true or false", "", error)
    return value

"""Public validators: the one place where user input is checked and errors are worded.

Every public constructor of the project (the world model in :mod:`datagen.world`, the sampler
configs, the dataset generator, :mod:`placement.request`, ...) checks its arguments with these
helpers, so every message has the same shape: the field, the owner, the offending value and
the rule (the fix), as in

    ``capacity must be an integer >= 1 for device 'd0', got 0``

The ``check_*`` functions return the cleaned value (a Python ``float`` or ``int``, numpy
scalars included) and raise ``error`` (default :class:`ValueError`; the world model passes
:class:`ScenarioError`, the placer its ``RequestError``). The ``is_*`` / ``*_or_none``
predicates are for callers that word their own message. In a frozen dataclass's
``__post_init__``, :func:`check_field` runs a ``check_*`` function on a field and stores the
cleaned value, and :func:`named_owner` checks ``name`` and words the owner of the messages.

Numbers may be Python or numpy scalars; booleans are never numbers. Integers are at most
:data:`MAX_INT`, so a huge value is refused with a message instead of an ``OverflowError``
deeper down, and :func:`show_value` describes it by its size instead of printing thousands of
digits.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, TypeGuard

__all__ = [
    "MAX_INT",
    "ScenarioError",
    "as_real",
    "as_int",
    "check_field",
    "check_finite",
    "check_int",
    "check_name",
    "check_nonneg",
    "check_positive",
    "check_probability",
    "finite_float",
    "is_int",
    "is_real",
    "named_owner",
    "set_field",
    "show_value",
    "to_float",
    "where",
]

#: Largest value of every integer field (counts, capacities, byte sizes): ``2**53``, the largest
#: integer a float64 holds exactly. Larger values overflow the simulator's int64 arrays.
MAX_INT: int = 2**53


class ScenarioError(ValueError):
    """A world-model object is invalid; the message names the field, the value and the fix."""


# --------------------------------------------------------------------------------------------
# Predicates and conversions (the caller words the message)
# --------------------------------------------------------------------------------------------


def show_value(value: Any) -> str:
    """``repr(value)``, a huge integer described by its size instead.

    The repr of a huge integer can run to thousands of digits, or exceed Python's
    integer-to-string limit and raise.
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return f"an integer of {value.bit_length()} bits"
    return repr(value)


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number: Python or numpy ints and floats, not booleans."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_int(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is an integer: a Python or numpy int, not a boolean (nor ``3.0``).

    Numpy integers pass (typed as ``int``: they support every ``int`` operation); convert
    with ``int(value)`` before storing or serialising.
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def finite_float(value: Any) -> float | None:
    """``value`` as a float if it is a finite real number (numpy scalars too), else ``None``.

    An integer beyond the float range gives ``None`` instead of an ``OverflowError``.
    """
    if not is_real(value):
        return None
    try:
        x = float(value)
    except OverflowError:
        return None
    return x if math.isfinite(x) else None


def as_real(value: Any) -> float | None:
    """``value`` as a float if it is a real number (numpy scalars too), else ``None``.

    Unlike :func:`finite_float`, ``inf`` and NaN are returned as they are, and an integer
    beyond the float range gives ``nan`` (which a finiteness check then refuses).
    """
    if not is_real(value):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.nan


def as_int(value: Any) -> int | None:
    """``value`` as an ``int`` if :func:`is_int` holds, else ``None``."""
    return int(value) if is_int(value) else None


def where(owner: str) -> str:
    """``" for <owner>"``, or ``""`` without an owner: the owner part of every message."""
    return f" for {owner}" if owner else ""


def set_field(obj: object, name: str, value: Any) -> None:
    """Set ``name`` on a frozen dataclass from its ``__post_init__`` (the cleaned value)."""
    object.__setattr__(obj, name, value)


# --------------------------------------------------------------------------------------------
# Checks that raise (field, owner, value and rule in the message)
# --------------------------------------------------------------------------------------------


def to_float(
    name: str,
    value: Any,
    owner: str = "",
    what: str = "a number",
    *,
    error: type[ValueError] = ValueError,
) -> float:
    """``value`` as a float (NaN and inf included); huge integers are refused, not overflowed.

    Args:
        name: Field name, for the message.
        value: The value to check.
        owner: What the field belongs to, e.g. ``"device 'd0'"`` (default: ``""``).
        what: The rule, e.g. ``"a number of seconds"`` (default: ``"a number"``).
        error: The :class:`ValueError` subclass to raise (default: :class:`ValueError`).

    Raises:
        ValueError: (``error``) If ``value`` is not a real number or beyond the float range.
    """
    if not is_real(value):
        raise error(
            f"{name} must be {what}{where(owner)}, got {show_value(value)} ({type(value).__name__})"
        )
    try:
        return float(value)
    except OverflowError:
        raise error(
            f"{name} must be finite{where(owner)}, got {show_value(value)}, beyond the float range"
        ) from None


def check_finite(
    name: str, value: Any, owner: str = "", *, error: type[ValueError] = ValueError
) -> float:
    """``value`` as a finite float.

    Raises:
        ValueError: (``error``) If ``value`` is not a real number, or is NaN or infinite.
    """
    v = to_float(name, value, owner, error=error)
    if not math.isfinite(v):
        raise error(f"{name} must be finite{where(owner)}, got {show_value(value)}")
    return v


def check_positive(
    name: str, value: Any, owner: str = "", *, error: type[ValueError] = ValueError
) -> float:
    """``value`` as a finite float ``> 0``.

    Raises:
        ValueError: (``error``) If ``value`` is not a finite number, or is ``<= 0``.
    """
    v = check_finite(name, value, owner, error=error)
    if v <= 0:
        raise error(f"{name} must be > 0{where(owner)}, got {show_value(value)}")
    return v


def check_nonneg(
    name: str, value: Any, owner: str = "", *, error: type[ValueError] = ValueError
) -> float:
    """``value`` as a finite float ``>= 0``.

    Raises:
        ValueError: (``error``) If ``value`` is not a finite number, or is negative.
    """
    v = check_finite(name, value, owner, error=error)
    if v < 0:
        raise error(f"{name} must be >= 0{where(owner)}, got {show_value(value)}")
    return v


def check_probability(
    name: str, value: Any, owner: str = "", *, error: type[ValueError] = ValueError
) -> float:
    """``value`` as a finite float in ``[0, 1]``.

    Raises:
        ValueError: (``error``) If ``value`` is not a finite number in ``[0, 1]``.
    """
    v = check_finite(name, value, owner, error=error)
    if not 0 <= v <= 1:
        raise error(f"{name} must be in [0, 1]{where(owner)}, got {v}")
    return v


def check_int(
    name: str,
    value: Any,
    minimum: int,
    owner: str = "",
    *,
    error: type[ValueError] = ValueError,
) -> int:
    """``value`` as an ``int`` in ``[minimum, MAX_INT]``.

    Integral floats such as ``3.0`` are accepted (JSON writers sometimes emit them); booleans
    are not.

    Raises:
        ValueError: (``error``) If ``value`` is not an integer, or is out of range.
    """
    if is_int(value):
        value = int(value)
    elif is_real(value) and math.isfinite(float(value)) and float(value).is_integer():
        value = int(float(value))
    else:
        raise error(
            f"{name} must be an integer >= {minimum}{where(owner)}, got {show_value(value)}"
        )
    if value < minimum:
        raise error(
            f"{name} must be an integer >= {minimum}{where(owner)}, got {show_value(value)}"
        )
    if value > MAX_INT:
        raise error(f"{name} must be an integer <= 2**53{where(owner)}, got {show_value(value)}")
    return value


def check_name(
    name: str, value: Any, owner: str = "", *, error: type[ValueError] = ValueError
) -> str:
    """``value`` if it is a non-empty string.

    Raises:
        ValueError: (``error``) If ``value`` is not a non-empty string.
    """
    if not isinstance(value, str) or not value:
        raise error(f"{name} must be a non-empty string{where(owner)}, got {value!r}")
    return value


def check_field(
    obj: object,
    name: str,
    check: Callable[..., Any],
    *args: Any,
    owner: str = "",
    error: type[ValueError] = ValueError,
) -> Any:
    """Check field ``name`` of a frozen dataclass and store the cleaned value, in ``__post_init__``.

    ``check`` is one of the ``check_*`` functions above, called as
    ``check(name, value, *args, owner, error=error)``, e.g.
    ``check_field(self, "capacity", check_int, 1, owner=owner)``.

    Returns:
        The cleaned value, as stored.

    Raises:
        ValueError: (``error``) As ``check`` does.
    """
    value = check(name, getattr(obj, name), *args, owner, error=error)
    set_field(obj, name, value)
    return value


def named_owner(obj: Any, kind: str, *, error: type[ValueError] = ValueError) -> str:
    """Check ``obj.name`` and return the owner of ``obj``'s messages, ``"<kind> '<name>'"``.

    Raises:
        ValueError: (``error``) If ``obj.name`` is not a non-empty string
            (``name must be a non-empty string for <kind>, got ...``).
    """
    check_name("name", obj.name, kind, error=error)
    return f"{kind} {obj.name!r}"

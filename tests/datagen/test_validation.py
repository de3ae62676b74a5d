"""Unit tests of the public validators (datagen.validation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from datagen import world
from datagen.validation import (
    MAX_INT,
    ScenarioError,
    as_int,
    as_real,
    check_finite,
    check_int,
    check_name,
    check_nonneg,
    check_positive,
    check_probability,
    finite_float,
    is_int,
    is_real,
    show_value,
    to_float,
)


def test_old_names_stay_importable_from_world() -> None:
    assert world.finite_float is finite_float
    assert world.is_real is is_real
    assert world.show_value is show_value
    assert world.ScenarioError is ScenarioError
    assert world.MAX_INT == MAX_INT


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_is_int_accepts_python_and_numpy_ints(value: object) -> None:
    assert is_int(value)
    assert as_int(value) == 3


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, "3", None])
def test_is_int_refuses_booleans_floats_and_strings(value: object) -> None:
    assert not is_int(value)
    assert as_int(value) is None


def test_real_conversions() -> None:
    assert is_real(np.float32(1.5)) and not is_real(True)
    assert finite_float(math.inf) is None and finite_float(10**400) is None
    assert as_real(math.inf) == math.inf
    assert math.isnan(as_real(10**400))  # type: ignore[arg-type]
    assert show_value(10**400).startswith("an integer of")


def test_checks_return_clean_values() -> None:
    assert check_finite("x", np.float64(2.5)) == 2.5
    assert check_positive("x", 1) == 1.0
    assert check_nonneg("x", 0) == 0.0
    assert check_probability("p", 0.25) == 0.25
    assert check_int("k", 3.0, 1) == 3 and isinstance(check_int("k", np.int32(3), 1), int)
    assert check_name("name", "d0") == "d0"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: check_finite("speed", math.nan, "device 'd'"), "speed must be finite for device"),
        (lambda: check_positive("speed", 0, "device 'd'"), r"must be > 0 for device 'd', got 0"),
        (lambda: check_nonneg("delay", -1), r"delay must be >= 0, got -1"),
        (lambda: check_probability("accuracy", 2), r"accuracy must be in \[0, 1\], got 2.0"),
        (lambda: check_int("capacity", 0, 1, "device 'd'"), "capacity must be an integer >= 1"),
        (lambda: check_int("capacity", 2**60, 1), r"must be an integer <= 2\*\*53"),
        (lambda: check_int("capacity", True, 1), "must be an integer >= 1"),
        (lambda: check_name("name", ""), "name must be a non-empty string"),
        (lambda: to_float("x", "1"), r"x must be a number, got '1' \(str\)"),
        (lambda: to_float("x", 10**400), "beyond the float range"),
    ],
)
def test_errors_name_the_field_the_value_and_the_rule(call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()  # type: ignore[operator]


def test_error_class_is_chosen_by_the_caller() -> None:
    with pytest.raises(ScenarioError):
        check_positive("speed", -1, error=ScenarioError)

    class RequestError(ValueError):
        pass

    with pytest.raises(RequestError, match="scv must be >= 0"):
        check_nonneg("scv", -0.5, error=RequestError)

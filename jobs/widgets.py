"""Notebook widget values (always text, as Databricks passes them) read as numbers and flags,
and the same for command-line numbers.
A bad value is named with its widget before Spark starts, rather than failing a query later
or, worse, running with a value nobody meant (`alpha = nan` alerts on nothing)."""

from __future__ import annotations

import argparse
import math


def _text(values: dict, name: str) -> str:
    return str(values.get(name) or "").strip()


def parse_whole_number(text: str, minimum: int = 1, maximum: int | None = None) -> int:
    """`text` as a whole number within the bounds, digits only (no sign, exponent or
    separators); ValueError saying what was expected."""
    text = text.strip()
    if text.isascii() and text.isdigit() and int(text) >= minimum and (
            maximum is None or int(text) <= maximum):
        return int(text)
    wanted = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    raise ValueError(f"{text!r} is not a whole number {wanted}")


def whole_number(values: dict, name: str, minimum: int = 1) -> int | None:
    """A widget's whole number of at least `minimum`; None where the widget is empty."""
    text = _text(values, name)
    if not text:
        return None
    try:
        return parse_whole_number(text, minimum)
    except ValueError as exc:
        raise ValueError(f"widget {name!r}: {exc}") from None


def whole_number_argument(minimum: int = 1, maximum: int | None = None):
    """The same check as an argparse `type`, for the command lines."""
    def parse(text: str) -> int:
        try:
            return parse_whole_number(text, minimum, maximum)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def open_fraction(values: dict, name: str) -> float | None:
    """A number strictly between 0 and 1 (a significance level); None where empty."""
    text = _text(values, name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:  # also refuses nan
        raise ValueError(f"widget {name!r}: {text!r} is not a number between 0 and 1 (such as 1e-7)")
    return value


def true_or_false(values: dict, name: str) -> bool | None:
    """true/false (also 1/0, yes/no); None where empty. Anything else is refused: a typo
    must not silently mean false."""
    text = _text(values, name).lower()
    if not text:
        return None
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"widget {name!r}: {text!r} is not true or false")

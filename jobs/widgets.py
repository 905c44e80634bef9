"""Notebook widget values (always text, as Databricks passes them) read as numbers and flags.
A bad value is named with its widget before Spark starts, rather than failing a query later
or, worse, running with a value nobody meant (`alpha = nan` alerts on nothing)."""

from __future__ import annotations

import math


def _text(values: dict, name: str) -> str:
    return str(values.get(name) or "").strip()


def whole_number(values: dict, name: str, minimum: int = 1) -> int | None:
    """A whole number of at least `minimum`; None where the widget is empty."""
    text = _text(values, name)
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and int(text) >= minimum):
        raise ValueError(f"widget {name!r}: {text!r} is not a whole number of at least {minimum}")
    return int(text)


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

"""safetyreportid: 8 digits in the 50,000,000+ range, the last a Luhn check digit."""

from __future__ import annotations

import pytest

from generators.ids import ReportIds, check_digit, is_valid_report_id, report_id


def test_luhn_check_digit_known_values():
    # 7992739871 → 3 is the textbook Luhn example
    assert check_digit(7992739871) == 3
    assert report_id(5_000_000) == "50000009"


def test_fast_ids_equal_the_reference_implementation():
    ids = ReportIds()
    numbers = [*range(0, 5000, 7), 999, 1000, 1001, 4_999_999, 5_000_000, 94_999_999]
    for n in numbers:
        assert ids.for_number(n) == report_id(5_000_000 + n)


@pytest.mark.parametrize("text", ["50000009", "50000017", "51234565"])
def test_valid_ids(text):
    assert is_valid_report_id(text)


@pytest.mark.parametrize("text", ["50000008", "5000000", "6251678-1", "", "abc"])
def test_invalid_ids(text):
    assert not is_valid_report_id(text)


def test_a_single_digit_error_is_always_caught():
    ids = ReportIds()
    for n in range(0, 200, 13):
        good = ids.for_number(n)
        for pos in range(len(good) - 1):
            for digit in "0123456789":
                if digit != good[pos]:
                    assert not is_valid_report_id(good[:pos] + digit + good[pos + 1:])

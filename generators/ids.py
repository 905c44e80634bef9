"""safetyreportid: a numeric body followed by a check digit.

FDA does not publish its check-digit algorithm, so Vigil's synthetic ids use the Luhn (mod 10)
digit. The body starts at 5,000,000 by default, which puts generated ids in the 50,000,000+
range, clear of real FAERS ids (below 30,000,000 today).
"""

from __future__ import annotations

DEFAULT_ID_BASE = 5_000_000

# Luhn contribution of a digit in a doubled position (every second digit from the right,
# counting the check digit as position 0)
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn_sum(body: int) -> int:
    total = 0
    doubled = True  # the body's last digit sits next to the check digit, so it is doubled
    while body:
        body, digit = divmod(body, 10)
        total += _DOUBLED[digit] if doubled else digit
        doubled = not doubled
    return total


def check_digit(body: int) -> int:
    return (10 - _luhn_sum(body) % 10) % 10


def report_id(body: int) -> str:
    return f"{body}{check_digit(body)}"


def is_valid_report_id(report_id_text: str) -> bool:
    """True when the id's last digit is the Luhn check digit of the rest (Vigil's synthetic ids)."""
    if not report_id_text.isdigit() or len(report_id_text) < 2:
        return False
    return check_digit(int(report_id_text[:-1])) == int(report_id_text[-1])


class ReportIds:
    """Fast ids for consecutive bodies: the Luhn sum of the last three digits comes from a table."""

    def __init__(self, base: int = DEFAULT_ID_BASE):
        self.base = base
        # low three digits of the body: positions 1 (doubled), 2, 3 (doubled) from the right
        self._low = [
            _DOUBLED[n % 10] + (n // 10) % 10 + _DOUBLED[n // 100] for n in range(1000)
        ]
        self._high_key = -1
        self._high_sum = 0

    def for_numbers(self, first: int, stop: int) -> list[str]:
        """Ids for numbers first … stop-1, in one call (the hot path makes a chunk at a time)."""
        return [self.for_number(n) for n in range(first, stop)]

    def for_number(self, number: int) -> str:
        body = self.base + number
        high = body // 1000
        if high != self._high_key:
            # digits above the low three start at position 4 from the right: not doubled
            total, doubled, rest = 0, False, high
            while rest:
                rest, digit = divmod(rest, 10)
                total += _DOUBLED[digit] if doubled else digit
                doubled = not doubled
            self._high_key, self._high_sum = high, total
        check = (10 - (self._high_sum + self._low[body % 1000]) % 10) % 10
        return f"{body}{check}"

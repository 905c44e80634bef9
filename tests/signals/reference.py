"""An independent plain-Python computation of every statistic (the tests' reference)."""

from __future__ import annotations

import math

Z = 1.959963984540054


def stats(a: int, b: int, c: int, d: int) -> dict:
    n = a + b + c + d
    zero = 0 in (a, b, c, d)
    ka, kb, kc, kd = (x + 0.5 for x in (a, b, c, d)) if zero else (float(a), float(b), float(c), float(d))
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    chi2 = (n * max(0.0, abs(a * d - b * c) - n / 2) ** 2 / margins) if margins else None
    ror = ka * kd / (kb * kc)
    se = math.sqrt(1 / ka + 1 / kb + 1 / kc + 1 / kd)
    e = (a + b) * (a + c) / n if n else None
    ic = math.log2((a + 0.5) / (e + 0.5)) if n else None
    sd = 1 / (math.log(2) * math.sqrt(a + 0.5))
    return {
        "expected_reports": e,
        "prr": (ka / (ka + kb)) / (kc / (kc + kd)),
        "prr_chi2": chi2,
        "ror": ror,
        "ror_lower95": math.exp(math.log(ror) - Z * se),
        "ror_upper95": math.exp(math.log(ror) + Z * se),
        "ic": ic,
        "ic025": None if ic is None else ic - Z * sd,
        "ic975": None if ic is None else ic + Z * sd,
        "zero_cell_corrected": zero,
    }

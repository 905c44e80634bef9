"""Disproportionality statistics of a drug–reaction 2×2 table, as pure Column functions.

    a = reports with drug D and reaction R      b = D without R
    c = R without D                              d = neither        N = a + b + c + d

- PRR = [a/(a+b)] / [c/(c+d)], with Yates-corrected χ² =
  N · max(0, |ad − bc| − N/2)² / ((a+b)(c+d)(a+c)(b+d)). Evans criteria (Evans, Waller & Davis
  2001): a ≥ 3, PRR ≥ 2, χ² ≥ 4.
- ROR = ad / bc, 95% CI = exp(ln ROR ± 1.96 · √(1/a + 1/b + 1/c + 1/d)). Signal: lower bound > 1
  and a ≥ 3.
- IC (BCPNN, with the shrinkage of Norén et al. 2006/2013) = log2((a + 0.5) / (E + 0.5)),
  E = (a+b)(a+c)/N. Credibility interval by the normal approximation: the IC is the log2 of a
  Gamma(a + 0.5, E + 0.5) posterior of the observed-to-expected ratio, whose log has variance
  ≈ 1/(a + 0.5) (delta method), so sd(IC) = 1 / (ln 2 · √(a + 0.5)) and
  IC025 = IC − 1.96 · sd(IC), IC975 = IC + 1.96 · sd(IC). Signal: IC025 > 0.
  (Norén, Hopstadius & Bate 2013, Stat Methods Med Res 22:57, give the skewness-aware closed form
  IC − 3.3(a+½)^−½ − 2(a+½)^−3/2, which is more conservative for small a.)
- EBGM, EB05 (MGPS, DuMouchel 1999): empirical-Bayes shrinkage, in `jobs.signals.ebgm`; its
  rule here: EB05 ≥ 2 and a ≥ min_count.

Zero cells (defined, never ±inf or NaN in a table):
- PRR and ROR: when any of a, b, c, d is 0, every cell gets +0.5 (Haldane–Anscombe correction)
  for PRR, ROR and its CI; `zero_cell_corrected` says so. With b = 0 (every report of D has R)
  or c = 0 (R is only ever reported with D) the values are therefore large but finite.
- χ²: computed on the uncorrected table; null when a margin of the table is 0 (every report
  names D, or R; or no report names them), with the reason in `note`.
- IC needs no correction (the +0.5 shrinkage keeps it finite); null only when N = 0.
"""

from __future__ import annotations

import math

from pyspark.sql import Column
from pyspark.sql import functions as F

Z95 = 1.959963984540054  # the 97.5% normal quantile
LN2 = math.log(2.0)
HALDANE = 0.5


def _d(x) -> Column:
    return (x if isinstance(x, Column) else F.lit(x)).cast("double")


def any_zero(a: Column, b: Column, c: Column, d: Column) -> Column:
    return (a == 0) | (b == 0) | (c == 0) | (d == 0)


def _cells(a, b, c, d):
    """The cells PRR/ROR use: +0.5 everywhere when any cell is zero."""
    k = F.when(any_zero(a, b, c, d), F.lit(HALDANE)).otherwise(F.lit(0.0))
    return _d(a) + k, _d(b) + k, _d(c) + k, _d(d) + k


def prr(a: Column, b: Column, c: Column, d: Column) -> Column:
    a_, b_, c_, d_ = _cells(a, b, c, d)
    return (a_ / (a_ + b_)) / (c_ / (c_ + d_))


def chi2_yates(a: Column, b: Column, c: Column, d: Column) -> Column:
    a_, b_, c_, d_ = _d(a), _d(b), _d(c), _d(d)
    n = a_ + b_ + c_ + d_
    margins = (a_ + b_) * (c_ + d_) * (a_ + c_) * (b_ + d_)
    excess = F.greatest(F.abs(a_ * d_ - b_ * c_) - n / 2, F.lit(0.0))
    return F.when(margins > 0, n * excess * excess / margins)


def ror(a: Column, b: Column, c: Column, d: Column) -> Column:
    a_, b_, c_, d_ = _cells(a, b, c, d)
    return (a_ * d_) / (b_ * c_)


def ror_ci95(a: Column, b: Column, c: Column, d: Column) -> tuple[Column, Column]:
    a_, b_, c_, d_ = _cells(a, b, c, d)
    log_ror = F.log(a_) + F.log(d_) - F.log(b_) - F.log(c_)
    se = F.sqrt(1 / a_ + 1 / b_ + 1 / c_ + 1 / d_)
    return F.exp(log_ror - Z95 * se), F.exp(log_ror + Z95 * se)


def expected(a: Column, b: Column, c: Column, d: Column) -> Column:
    a_, b_, c_, d_ = _d(a), _d(b), _d(c), _d(d)
    n = a_ + b_ + c_ + d_
    return F.when(n > 0, (a_ + b_) * (a_ + c_) / n)


def ic(a: Column, b: Column, c: Column, d: Column) -> Column:
    return F.log2((_d(a) + 0.5) / (expected(a, b, c, d) + 0.5))


def ic_sd(a: Column) -> Column:
    return 1 / (F.lit(LN2) * F.sqrt(_d(a) + 0.5))


def ic_ci95(a: Column, b: Column, c: Column, d: Column) -> tuple[Column, Column]:
    value, sd = ic(a, b, c, d), ic_sd(a)
    return value - Z95 * sd, value + Z95 * sd


def note(a: Column, b: Column, c: Column, d: Column) -> Column:
    """Why a statistic of this table is corrected or null; null when none is."""
    a_, b_, c_, d_ = a, b, c, d
    zero = F.concat_ws(
        ", ",
        *[F.when(x == 0, F.lit(f"{name}=0")) for name, x in (("a", a_), ("b", b_), ("c", c_), ("d", d_))],
    )
    return F.concat_ws(
        "; ",
        F.when(any_zero(a, b, c, d), F.concat(F.lit("PRR/ROR with +0.5 in every cell ("), zero, F.lit(")"))),
        F.when(
            (a_ + b_ == 0) | (c_ + d_ == 0) | (a_ + c_ == 0) | (b_ + d_ == 0),
            F.lit("chi2 undefined: a margin of the table is 0"),
        ),
        F.when(a_ + b_ + c_ + d_ == 0, F.lit("IC undefined: no reports")),
    )


def statistics(a: Column, b: Column, c: Column, d: Column) -> dict[str, Column]:
    """Every statistic of the table, by the column name gold.safety_signal gives it."""
    ror_lo, ror_hi = ror_ci95(a, b, c, d)
    ic_lo, ic_hi = ic_ci95(a, b, c, d)
    text = note(a, b, c, d)
    return {
        "expected_reports": expected(a, b, c, d),
        "prr": prr(a, b, c, d),
        "prr_chi2": chi2_yates(a, b, c, d),
        "ror": ror(a, b, c, d),
        "ror_lower95": ror_lo,
        "ror_upper95": ror_hi,
        "ic": ic(a, b, c, d),
        "ic025": ic_lo,
        "ic975": ic_hi,
        "zero_cell_corrected": any_zero(a, b, c, d),
        "statistics_note": F.when(text != "", text),
    }


def criteria(
    a: Column,
    prr_: Column,
    chi2: Column,
    ror_lower: Column,
    ic025: Column,
    min_count: int = 3,
    prr_min: float = 2.0,
    chi2_min: float = 4.0,
) -> dict[str, Column]:
    """The three signal rules as flags (never null). `min_count` raises every rule's count floor
    (Evans and ROR already need a ≥ 3)."""
    floor = max(3, min_count)
    return {
        "evans": F.coalesce((a >= floor) & (prr_ >= prr_min) & (chi2 >= chi2_min), F.lit(False)),
        "ror_signal": F.coalesce((a >= floor) & (ror_lower > 1), F.lit(False)),
        "ic_signal": F.coalesce((a >= min_count) & (ic025 > 0), F.lit(False)),
    }


def ebgm_criterion(a: Column, eb05: Column, min_count: int = 3, eb05_min: float = 2.0) -> Column:
    """MGPS's screening rule (never null; false where there is no prior to score with)."""
    return F.coalesce((a >= min_count) & (eb05 >= eb05_min), F.lit(False))


# `ebgm`: EB05 ≥ 2 alone; `ebgm_and_all`: EB05 ≥ 2 and the three frequentist rules; `all`:
# Evans, ROR and IC agree; `any`: one of the four holds; or one named frequentist rule.
SIGNAL_RULES = ("ebgm", "ebgm_and_all", "all", "any", "evans", "ror", "ic")


def check_rule(rule: str) -> str:
    if rule not in SIGNAL_RULES:
        raise ValueError(f"unknown signal rule {rule!r}: use one of {', '.join(SIGNAL_RULES)}")
    return rule


def signal_rule(
    rule: str, evans: Column, ror_signal: Column, ic_signal: Column, ebgm_signal: Column
) -> Column:
    """The flag `is_signal` of a rule (see SIGNAL_RULES)."""
    check_rule(rule)
    frequentist = evans & ror_signal & ic_signal
    return {
        "ebgm": ebgm_signal,
        "ebgm_and_all": ebgm_signal & frequentist,
        "all": frequentist,
        "any": ebgm_signal | evans | ror_signal | ic_signal,
        "evans": evans,
        "ror": ror_signal,
        "ic": ic_signal,
    }[rule]

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


def ebgm_reference(prior, n: int, e: float) -> dict:
    """MGPS scores of one pair by other means than jobs.signals.ebgm: the posterior weights from
    scipy.stats.nbinom, E[ln λ] by numerical integration of the posterior density (no digamma),
    and the quantiles by Brent's method on the mixture CDF (scipy.stats.gamma). `prior`: an
    object with alphas, betas and weights."""
    from scipy import integrate, optimize, stats

    parts = list(zip(prior.alphas, prior.betas, prior.weights, strict=True))
    marginal = [w * stats.nbinom.pmf(n, a, b / (b + e)) for a, b, w in parts]
    q = [m / sum(marginal) for m in marginal]
    post = [(qk, stats.gamma(a + n, scale=1 / (b + e))) for qk, (a, b, _) in zip(q, parts, strict=True)]

    def mean_log(dist):
        # over u = ln λ, where the density is λ·f(λ); from the 1e-15 to the 1 − 1e-15 quantile
        lo, hi = dist.ppf(1e-15), dist.isf(1e-15)
        value, _ = integrate.quad(
            lambda u: u * math.exp(u) * dist.pdf(math.exp(u)), math.log(lo), math.log(hi),
            epsabs=0, epsrel=1e-12, limit=400,
        )
        return value

    log_gm = sum(w * mean_log(d) for w, d in post if w > 0)

    def quantile(level):
        def cdf(x):
            return sum(w * d.cdf(x) for w, d in post) - level

        lo = min(d.ppf(level) for _, d in post)
        hi = max(d.ppf(level) for _, d in post)
        if cdf(lo) >= 0:
            return lo
        if cdf(hi) <= 0:
            return hi
        return optimize.brentq(cdf, lo, hi, xtol=1e-300, rtol=1e-14, maxiter=500)

    return {"ebgm": math.exp(log_gm), "eb05": quantile(0.05), "eb95": quantile(0.95), "q": q}

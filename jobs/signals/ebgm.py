"""Empirical-Bayes shrinkage of the reporting ratio: MGPS (DuMouchel 1999), as FDA uses it.

For a drug–reaction pair with N = a reports and E expected (E = n_D · n_R / N_total), the
model is N ~ Poisson(λ·E) with the ratio λ drawn from one prior shared by every pair, a
mixture of gamma distributions (shape α, rate β):

    λ ~ Σ_k w_k · Gamma(α_k, β_k)        (MGPS: two components, w_1 = P, w_2 = 1 − P)

so that N is marginally a mixture of negative binomials. The prior is fitted by maximum
marginal likelihood over the pairs (`fit_prior`), and each pair's posterior is again a gamma
mixture, Gamma(α_k + N, β_k + E), with weights Q_k (Q_1 is MGPS's Q_n):

- EBGM = exp(E[ln λ | N]) = exp(Σ_k Q_k (ψ(α_k + N) − ln(β_k + E)))   (ψ: digamma)
- EB05 / EB95: the 5% / 95% quantiles of the posterior mixture (vectorised bisection on its
  CDF, the regularised incomplete gamma function). A signal, as FDA screens: EB05 ≥ 2.

Two components or three. DuMouchel's two components assume that the bulk of λ is one gamma and
the second component holds the pairs reported above it. When the bulk itself is wider than a
gamma (E here is not stratified, and a reaction whose reports come mostly from drugs that
label it leaves every other drug a λ well below 1), the two-component maximum of the likelihood
spends both components on the bulk and the prior loses its upper tail: it then shrinks every
pair towards the bulk, real signals included. `fit_prior` therefore fits two and three
components and keeps the one with the lower BIC (pass `components=(2,)` for strict MGPS).

Zero counts are not stored (gold.drug_reaction_counts holds pairs with a ≥ 1), so the fit
conditions on N ≥ N* (N* = 1 by default, openEBGM's recommendation). We normalise the
*mixture* by P(N ≥ N*) — the exact conditional likelihood of the model above:

    L = Π Σ_k w_k f_k(n) / Σ_k w_k S_k,   S_k = P_k(N ≥ N*)

openEBGM (negLLsquash) and PhViD truncate each component separately, Π Σ_k w_k f_k(n) / S_k;
that fits w as the shares among the *observed* pairs, while the posterior weights (theirs and
ours) use w as the shares among all pairs. With the joint normalisation the fitted w are the
ones the posterior needs (tests/signals/test_ebgm.py checks that a fit recovers the parameters
it simulated from).

Squashing (after DuMouchel & Pregibon 2001): pairs with the same N whose E fall in the same
cell of a logarithmic grid (1% wide) are one point at their mean E, with their number as its
weight. The fit works on ~10³–10⁴ points instead of ~10⁵ pairs; the tests hold the squashed
fit to the full one.

Pure numpy/scipy; `jobs.signals.alerts` squashes in Spark, collects the points to the driver,
fits, and joins the scores back.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

EB05_SIGNAL = 2.0  # FDA's screening threshold
QUANTILE_ITERATIONS = 60  # bisection halvings: the bracket shrinks by 2⁻⁶⁰, far below 1e-12
# Starting points, ((α, β, w) per component): openEBGM's documented two-component examples;
# a bulk split in two narrow components; and, for three components, narrow bulk components
# with a wide tail. The fit also starts from the last prior (a warm start) and grows the best
# two-component fit by a tail component.
STARTS = {
    2: (
        ((0.2, 0.1, 1 / 3), (2.0, 4.0, 2 / 3)),
        ((0.2, 0.1, 0.2), (10.0, 10.0, 0.8)),
        ((0.5, 0.5, 0.1), (2.0, 2.0, 0.9)),
        ((10.0, 10.0, 0.8), (0.5, 0.2, 0.2)),
        ((5.0, 8.0, 0.5), (50.0, 100.0, 0.5)),
    ),
    3: (
        ((2.0, 3.0, 0.5), (20.0, 30.0, 0.49), (0.2, 0.1, 0.01)),
        ((5.0, 8.0, 0.5), (50.0, 100.0, 0.49), (0.5, 0.5, 0.01)),
        ((10.0, 10.0, 0.6), (2.0, 4.0, 0.35), (0.2, 0.1, 0.05)),
    ),
}
TAIL = (0.2, 0.1, 0.01)  # the component added to the best two-component fit
_LOG_BOUNDS = (math.log(1e-4), math.log(1e5))  # α and β, searched on the log scale
_LOGIT_BOUNDS = (-15.0, 15.0)  # weights relative to the first component's
# The likelihood is flat along the tail component's parameters (a few hundred pairs in 10⁵):
# with finite-difference gradients and scipy's default tolerances the fit stopped ~1
# log-likelihood unit short of the maximum on the signals benchmark — enough to move the EB05
# of a pair with 12 reports from 2.5 to 1.3. Exact gradients and tight tolerances.
_TOLERANCES = {"ftol": 1e-12, "gtol": 1e-8, "maxiter": 5000}


@dataclass(frozen=True)
class Prior:
    """A gamma-mixture prior: component k is Gamma(alphas[k], betas[k]) (shape, rate) with
    weight weights[k]. `Prior.mgps(α1, β1, α2, β2, P)` is DuMouchel's two-component one."""

    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self):
        k = len(self.alphas)
        if not k or len(self.betas) != k or len(self.weights) != k:
            raise ValueError(f"not a gamma-mixture prior: {self}")
        if min(*self.alphas, *self.betas) <= 0 or min(self.weights) < 0:
            raise ValueError(f"not a gamma-mixture prior: {self}")
        if abs(sum(self.weights) - 1) > 1e-9:
            raise ValueError(f"not a gamma-mixture prior (weights do not sum to 1): {self}")

    @classmethod
    def mgps(cls, alpha1: float, beta1: float, alpha2: float, beta2: float, p: float) -> Prior:
        return cls((alpha1, alpha2), (beta1, beta2), (p, 1 - p))

    @property
    def components(self) -> int:
        return len(self.alphas)

    def sorted(self) -> Prior:
        """The same prior with its components by increasing variance α/β² (the last is the
        widest: the one that holds the pairs reported far above expectation)."""
        order = sorted(range(self.components), key=lambda k: self.alphas[k] / self.betas[k] ** 2)
        return Prior(
            tuple(self.alphas[k] for k in order),
            tuple(self.betas[k] for k in order),
            tuple(self.weights[k] for k in order),
        )

    def as_dict(self) -> dict:
        """alpha1, beta1, p1, alpha2, … (the columns of gold.signal_prior)."""
        out = {}
        for k, (a, b, w) in enumerate(zip(self.alphas, self.betas, self.weights, strict=True), start=1):
            out |= {f"alpha{k}": a, f"beta{k}": b, f"p{k}": w}
        return out


@dataclass(frozen=True)
class PriorFit:
    prior: Prior
    neg_log_likelihood: float  # of the squashed points, at the optimum
    bic: float  # 2·NLL + (3K − 1)·ln(pairs): the fit with the lower one was kept
    pairs: int  # pairs with N ≥ n_star that the fit used
    points: int  # (N, E) points after squashing
    n_star: int
    converged: bool
    message: str
    seconds: float
    alternatives: dict = field(default_factory=dict)  # components → (NLL, BIC) of every fit made


# --- the marginal likelihood


def _log_nbinom(n: np.ndarray, e: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """ln P(N = n) when N ~ Poisson(λE), λ ~ Gamma(α, β): a negative binomial."""
    return (
        special.gammaln(alpha + n)
        - special.gammaln(alpha)
        - special.gammaln(n + 1)
        - alpha * np.log1p(e / beta)
        + special.xlogy(n, e)
        - n * np.log(beta + e)
    )


def _log_components(n, e, prior: Prior) -> np.ndarray:
    """ln(w_k · f_k(n)) per component (rows) and pair (columns); −inf for a weight of 0."""
    with np.errstate(divide="ignore"):
        return np.stack(
            [
                np.log(w) + _log_nbinom(n, e, a, b)
                for a, b, w in zip(prior.alphas, prior.betas, prior.weights, strict=True)
            ]
        )


def _log_mixture(n, e, prior: Prior) -> np.ndarray:
    """ln of the marginal P(N = n) under the prior."""
    return special.logsumexp(_log_components(n, e, prior), axis=0)


def _log_at_least(n_star: int, e: np.ndarray, prior: Prior) -> np.ndarray:
    """ln P(N ≥ n_star) under the prior mixture."""
    if n_star <= 0:
        return np.zeros_like(e)
    total = np.zeros_like(e)
    for a, b, w in zip(prior.alphas, prior.betas, prior.weights, strict=True):
        if n_star == 1:  # 1 − P(N = 0), without cancellation when E is tiny
            total += w * -np.expm1(-a * np.log1p(e / b))
        else:
            total += w * stats.nbinom.sf(n_star - 1, a, b / (b + e))
    return np.log(total)


def neg_log_likelihood(prior: Prior, n, e, weights=None, n_star: int = 1) -> float:
    """−ln L of the counts n ≥ n_star with expectations e (points weighted by `weights`)."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    w = np.ones_like(n) if weights is None else np.asarray(weights, dtype=float)
    ll = _log_mixture(n, e, prior) - _log_at_least(n_star, e, prior)
    return float(-(w * ll).sum())


def neg_log_likelihood_and_gradient(x, k: int, n, e, w, n_star: int) -> tuple[float, np.ndarray]:
    """−ln L and its gradient in the fit's coordinates x = (ln α_1..k, ln β_1..k, logits of
    w_2..k against w_1), for n_star ≤ 1. Exact derivatives: with finite differences the
    optimiser stops early on the flat ridges of the tail component's parameters.

        ∂ ln f_k/∂α = ψ(α + n) − ψ(α) − ln(1 + E/β)      ∂ ln f_k/∂β = αE/(β(β + E)) − n/(β + E)
        S_k = 1 − (1 + E/β)^−α:  ∂S_k/∂α = (1 − S_k) ln(1 + E/β),  ∂S_k/∂β = −(1 − S_k) αE/(β(β + E))
    """
    prior = _from_x(x, k)
    alpha, beta, weight = (np.asarray(v)[:, None] for v in (prior.alphas, prior.betas, prior.weights))
    log_f = _log_nbinom(n, e, alpha, beta)
    with np.errstate(divide="ignore"):
        log_wf = np.log(weight) + log_f
    log_l = special.logsumexp(log_wf, axis=0)
    r = np.exp(log_wf - log_l)  # the posterior weights of the components, per point
    d_alpha = r * (special.digamma(alpha + n) - special.digamma(alpha) - np.log1p(e / beta))
    d_beta = r * (alpha * e / (beta * (beta + e)) - n / (beta + e))
    d_logit = r - weight
    ll = log_l
    if n_star == 1:
        p0 = np.exp(-alpha * np.log1p(e / beta))  # P_k(N = 0)
        seen = -np.expm1(-alpha * np.log1p(e / beta))
        total = (weight * seen).sum(axis=0)
        ll = ll - np.log(total)
        d_alpha = d_alpha - weight * p0 * np.log1p(e / beta) / total
        d_beta = d_beta + weight * p0 * alpha * e / (beta * (beta + e)) / total
        d_logit = d_logit - weight * (seen - total) / total
    elif n_star > 1:
        raise ValueError("the exact gradient is for n_star 0 or 1")
    grad = np.r_[
        -(d_alpha * w).sum(axis=1) * alpha[:, 0],  # chain rule: the fit works on ln α, ln β
        -(d_beta * w).sum(axis=1) * beta[:, 0],
        -(d_logit[1:] * w).sum(axis=1),
    ]
    return float(-(w * ll).sum()), grad


# --- squashing and the fit


def squash(n, e, width: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, e, weight) points: pairs with the same n whose e fall in the same cell of a
    logarithmic grid (cells `width` wide in ln e, ≈ 1% apart by default) are one point at
    their mean e, weighted by their number. width = 0 merges only identical (n, e)."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    if n.size == 0:
        return n, e, n
    cell = np.floor(np.log(e) / width) if width > 0 else e
    keys, ids = np.unique(np.stack([n, cell]), axis=1, return_inverse=True)
    ids = ids.ravel()
    weights = np.bincount(ids).astype(float)
    return keys[0], np.bincount(ids, weights=e) / weights, weights


def _to_x(prior: Prior) -> np.ndarray:
    w = np.clip(np.asarray(prior.weights), 1e-6, None)
    return np.r_[np.log(prior.alphas), np.log(prior.betas), np.log(w[1:] / w[0])]


def _from_x(x, k: int) -> Prior:
    x = np.asarray(x, dtype=float)
    weights = special.softmax(np.r_[0.0, x[2 * k :]])
    return Prior(tuple(np.exp(x[:k]).tolist()), tuple(np.exp(x[k : 2 * k]).tolist()), tuple(weights.tolist()))


def _from_start(components) -> Prior:
    total = sum(w for _, _, w in components)
    return Prior(
        tuple(a for a, _, _ in components), tuple(b for _, b, _ in components),
        tuple(w / total for _, _, w in components),
    )


def _grown(prior: Prior) -> Prior:
    """`prior` with a wide tail component added (its weight taken from the others)."""
    a, b, w = TAIL
    return Prior(prior.alphas + (a,), prior.betas + (b,), tuple(x * (1 - w) for x in prior.weights) + (w,))


def fit_prior(
    n,
    e,
    weights=None,
    n_star: int = 1,
    width: float = 0.01,
    components: tuple[int, ...] = (2, 3),
    start: Prior | None = None,
) -> PriorFit:
    """The maximum-marginal-likelihood prior for pairs with counts n and expectations e (pairs
    with n < n_star are left out), with each number of `components` in turn; the one with the
    lowest BIC is returned. With `weights`, (n, e) are points squashed already (as `squash`
    makes them, e.g. in Spark); without, they are pairs and are squashed here. `start`: a
    previous fit to try first (a warm start)."""
    t0 = time.monotonic()
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    w = np.ones_like(n) if weights is None else np.asarray(weights, dtype=float)
    keep = (n >= n_star) & np.isfinite(e) & (e > 0) & (w > 0)
    if not keep.any():
        raise ValueError(f"no pairs with N ≥ {n_star} and E > 0 to fit the prior to")
    if weights is None:
        ni, ei, wi = squash(n[keep], e[keep], width)
    else:
        ni, ei, wi = n[keep], e[keep], w[keep]
    pairs = wi.sum()

    def fit(k: int, starts: list[Prior]):
        # per pair, so that the tolerances mean the same at any size
        if n_star <= 1:

            def objective(x):
                value, grad = neg_log_likelihood_and_gradient(x, k, ni, ei, wi, n_star)
                if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                    return 1e300, np.zeros_like(x)
                return value / pairs, grad / pairs
        else:

            def objective(x):
                value = neg_log_likelihood(_from_x(x, k), ni, ei, wi, n_star) / pairs
                return value if np.isfinite(value) else 1e300

        bounds = [_LOG_BOUNDS] * (2 * k) + [_LOGIT_BOUNDS] * (k - 1)
        best = None
        for s in starts:
            r = optimize.minimize(
                objective, _to_x(s), method="L-BFGS-B", jac=n_star <= 1, bounds=bounds, options=_TOLERANCES
            )
            if best is None or r.fun < best.fun:
                best = r
        return best

    results = {}
    for k in sorted(set(components)):
        starts = [_from_start(s) for s in STARTS.get(k, ())]
        if start is not None and start.components == k:
            starts.insert(0, start)
        if k - 1 in results:
            starts.append(_grown(_from_x(results[k - 1].x, k - 1)))
        if not starts:
            raise ValueError(f"no starting points for a {k}-component prior")
        results[k] = fit(k, starts)
    bic = {k: 2 * r.fun * pairs + (3 * k - 1) * math.log(pairs) for k, r in results.items()}
    k = min(bic, key=bic.get)
    best = results[k]
    return PriorFit(
        prior=_from_x(best.x, k).sorted(),
        neg_log_likelihood=float(best.fun * pairs),
        bic=float(bic[k]),
        pairs=int(round(pairs)),
        points=int(ni.size),
        n_star=n_star,
        converged=bool(best.success),
        message=str(best.message),
        seconds=time.monotonic() - t0,
        alternatives={j: (float(r.fun * pairs), float(bic[j])) for j, r in results.items()},
    )


# --- the posterior of each pair


def posterior_weights(prior: Prior, n, e) -> np.ndarray:
    """Q_k: the posterior probability that the pair's λ comes from component k (rows)."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    log = _log_components(n, e, prior)
    return np.exp(log - special.logsumexp(log, axis=0))


def posterior_quantile(prior: Prior, n, e, level: float, q=None) -> np.ndarray:
    """The `level` quantile of each pair's posterior mixture. It lies between the smallest and
    the largest of the components' own quantiles (exact, from the inverse incomplete gamma),
    which bracket the bisection."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    q = posterior_weights(prior, n, e) if q is None else q
    shapes = [a + n for a in prior.alphas]
    rates = [b + e for b in prior.betas]
    own = np.stack([special.gammaincinv(s, level) / r for s, r in zip(shapes, rates, strict=True)])
    lo, hi = own.min(axis=0), own.max(axis=0)
    for _ in range(QUANTILE_ITERATIONS):
        mid = 0.5 * (lo + hi)
        cdf = sum(q[k] * special.gammainc(shapes[k], rates[k] * mid) for k in range(prior.components))
        below = cdf < level
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def scores(prior: Prior, n, e) -> dict[str, np.ndarray]:
    """EBGM, EB05, EB95 per pair (arrays of the inputs' length), and `q`, the posterior
    weights of the components (one row per component)."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    q = posterior_weights(prior, n, e)
    log_gm = sum(
        q[k] * (special.digamma(a + n) - np.log(b + e))
        for k, (a, b) in enumerate(zip(prior.alphas, prior.betas, strict=True))
    )
    return {
        "ebgm": np.exp(log_gm),
        "eb05": posterior_quantile(prior, n, e, 0.05, q),
        "eb95": posterior_quantile(prior, n, e, 0.95, q),
        "q": q,
    }

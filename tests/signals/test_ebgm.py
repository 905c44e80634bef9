"""MGPS (jobs.signals.ebgm): posterior scores against closed forms and an independent scipy
computation, the prior fit against parameters it simulated from (two and three components,
and BIC choosing between them), the truncated likelihood, squashing, and finite answers at the
edges."""

import itertools
import math

import numpy as np
import pytest
from scipy import special, stats

from jobs.signals import ebgm
from tests.signals.reference import ebgm_reference

EULER_GAMMA = 0.5772156649015329


def one(prior, n, e):
    s = ebgm.scores(prior, [n], [e])
    return {"q": s["q"][:, 0].tolist(), **{k: float(s[k][0]) for k in ("ebgm", "eb05", "eb95")}}


def test_single_exponential_posterior_by_hand():
    # P = 1, Gamma(1, 1) prior, N = 0, E = 0: the posterior is Exp(1).
    # E[ln λ] = −γ; the q-quantile of Exp(1) is −ln(1 − q).
    r = one(ebgm.Prior.mgps(1.0, 1.0, 5.0, 2.0, 1.0), 0, 0.0)
    assert r["ebgm"] == pytest.approx(math.exp(-EULER_GAMMA), rel=1e-12)
    assert r["eb05"] == pytest.approx(-math.log(0.95), rel=1e-10)
    assert r["eb95"] == pytest.approx(-math.log(0.05), rel=1e-10)
    assert r["q"] == [1.0, 0.0]


def test_posterior_weight_and_quantile_by_hand():
    # α1 = α2 = 1: each marginal is geometric, f_i(n) = p_i (1 − p_i)^n with p_i = β_i/(β_i + E).
    # β1 = 1, β2 = 3, E = 1, n = 2: f1 = ½·¼ = 1/8, f2 = ¾·(¼)² = 3/64; P = ½ → Q = 8/11.
    prior = ebgm.Prior.mgps(1.0, 1.0, 1.0, 3.0, 0.5)
    r = one(prior, 2, 1.0)
    assert r["q"] == pytest.approx([8 / 11, 3 / 11], rel=1e-12)

    # the posterior is (8/11)·Gamma(3, 2) + (3/11)·Gamma(3, 4); Gamma(3, b) has the CDF
    # 1 − e^(−bx)(1 + bx + (bx)²/2) and E[ln λ] = ψ(3) − ln b = 3/2 − γ − ln b
    def cdf(x):
        return sum(
            w * (1 - math.exp(-b * x) * (1 + b * x + (b * x) ** 2 / 2)) for w, b in ((8 / 11, 2), (3 / 11, 4))
        )

    assert cdf(r["eb05"]) == pytest.approx(0.05, abs=1e-12)
    assert cdf(r["eb95"]) == pytest.approx(0.95, abs=1e-12)
    log_gm = 8 / 11 * (1.5 - EULER_GAMMA - math.log(2)) + 3 / 11 * (1.5 - EULER_GAMMA - math.log(4))
    assert r["ebgm"] == pytest.approx(math.exp(log_gm), rel=1e-12)


# fitted to the signals benchmark's unlabelled pairs (docs/BENCHMARKS.md): the two-component
# maximum (two narrow components, no tail) and the three-component one (BIC's choice)
TWO = ebgm.Prior.mgps(6.0617, 8.3955, 109.5738, 226.0589, 0.6134)
THREE = ebgm.Prior((20.5486, 75.4798, 0.1648), (39.6694, 73.1976, 0.2615), (0.7824, 0.2142, 0.0034))
PRIORS = [
    ebgm.Prior.mgps(0.23, 0.0775, 8.15, 12.83, 0.082),  # a heavy tail (fitted to every pair)
    ebgm.Prior.mgps(0.2, 0.1, 2.0, 4.0, 1 / 3),  # openEBGM's documented starting point
    TWO,
    THREE,
]
CASES = [(0, 0.5), (1, 0.03), (1, 2.0), (3, 0.07), (4, 0.26), (8, 1.0), (12, 1.99), (16, 2.87), (63, 17.5),
         (221, 22.3), (1865, 692.0), (5, 50.0)]


@pytest.mark.parametrize("prior", PRIORS)
def test_scores_agree_with_an_independent_scipy_computation(prior):
    got = ebgm.scores(prior, [n for n, _ in CASES], [e for _, e in CASES])
    for i, (n, e) in enumerate(CASES):
        ref = ebgm_reference(prior, n, e)
        assert got["q"][:, i] == pytest.approx(ref["q"], rel=1e-9, abs=1e-300), (n, e)
        assert got["ebgm"][i] == pytest.approx(ref["ebgm"], rel=1e-9), (n, e)
        assert got["eb05"][i] == pytest.approx(ref["eb05"], rel=1e-9), (n, e)
        assert got["eb95"][i] == pytest.approx(ref["eb95"], rel=1e-9), (n, e)
        assert got["eb05"][i] < got["ebgm"][i] < got["eb95"][i]


def test_shrinkage_pulls_small_counts_towards_the_bulk():
    # the same ratio N/E = 8: with 8 reports the prior's bulk (99.7% of pairs) still counts,
    # with 800 the data win
    small, large = one(THREE, 8, 1.0), one(THREE, 800, 100.0)
    assert small["ebgm"] < large["ebgm"] < 8.0
    assert small["eb05"] < 2.0 < large["eb05"]
    assert large["ebgm"] == pytest.approx(8.0, rel=0.02)
    # a heavier upper tail (8% of pairs in a wide component) shrinks the small count far less
    assert one(PRIORS[0], 8, 1.0)["eb05"] > 2.0


def test_without_a_tail_component_the_prior_shrinks_a_real_signal_away():
    # the benchmark's faintest signal (12 reports where 1.99 were expected) and a strong chance
    # pair (8 where 0.89 were): the two-component prior shrinks the signal below EB05 = 2, the
    # three-component one keeps it above and the chance pair far below
    signal, chance = (12, 1.986), (8, 0.893)
    assert one(TWO, *signal)["eb05"] < 1.2
    assert one(THREE, *chance)["eb05"] < 1.2 < 2.0 < one(THREE, *signal)["eb05"]


def test_edges_are_finite():
    prior = THREE
    n = np.array([0, 0, 1, 1, 10**6, 10**6, 3, 0])
    e = np.array([0.0, 1e-12, 1e-12, 1e9, 1e-12, 1e6, 1e-300, 1e9])
    got = ebgm.scores(prior, n, e)
    for name, v in got.items():
        assert np.all(np.isfinite(v)), name
    assert got["q"].sum(axis=0) == pytest.approx(np.ones(n.size))
    assert np.all(got["eb05"] <= got["ebgm"]) and np.all(got["ebgm"] <= got["eb95"])
    assert got["ebgm"][5] == pytest.approx(1.0, rel=1e-3)  # N = E = 10⁶: λ ≈ 1
    for p in (0.0, 1.0):  # a one-component prior
        one_component = ebgm.scores(ebgm.Prior.mgps(1.0, 1.0, 2.0, 2.0, p), n, e)
        assert all(np.all(np.isfinite(v)) for v in one_component.values())


def simulate(prior: ebgm.Prior, pairs: int, seed: int):
    """(N, E) of the pairs with N ≥ 1, drawn from the model with this prior."""
    rng = np.random.default_rng(seed)
    e = np.exp(rng.normal(0.5, 1.5, pairs))  # E from ~0.02 to ~200, as in the benchmark
    component = rng.choice(prior.components, size=pairs, p=prior.weights)
    lam = rng.gamma(np.asarray(prior.alphas)[component], 1 / np.asarray(prior.betas)[component])
    n = rng.poisson(lam * e)
    seen = n >= 1
    return n[seen], e[seen]


TRUE = ebgm.Prior.mgps(alpha1=0.5, beta1=0.25, alpha2=8.0, beta2=12.0, p=0.1)
# a bulk of two narrow components (means 0.5 and 1) and a wide tail
TRUE3 = ebgm.Prior((20.0, 100.0, 0.3), (40.0, 100.0, 0.2), (0.75, 0.22, 0.03))


def close_to(fit: ebgm.Prior, truth: ebgm.Prior, rel: float, p_abs: float) -> bool:
    """Every component's α and β within `rel` of the truth's and its weight within `p_abs`,
    in some order of the components."""
    if fit.components != truth.components:
        return False
    for order in itertools.permutations(range(fit.components)):
        if all(
            abs(fit.alphas[i] - truth.alphas[j]) <= rel * truth.alphas[j]
            and abs(fit.betas[i] - truth.betas[j]) <= rel * truth.betas[j]
            and abs(fit.weights[i] - truth.weights[j]) <= p_abs
            for i, j in zip(order, range(truth.components), strict=True)
        ):
            return True
    return False


def test_fit_recovers_the_two_component_prior_it_simulated_from_and_bic_keeps_two():
    n, e = simulate(TRUE, 300_000, seed=1)
    assert n.min() == 1 and n.size < 300_000  # the zero counts are gone, as in the counts table
    fit = ebgm.fit_prior(n, e)  # two and three components tried
    assert fit.prior.components == 2 and set(fit.alternatives) == {2, 3}
    assert fit.alternatives[2][1] < fit.alternatives[3][1] == max(b for _, b in fit.alternatives.values())
    assert fit.converged and fit.n_star == 1 and fit.pairs == n.size
    assert fit.points < n.size / 5  # squashed
    assert close_to(fit.prior, TRUE, rel=0.15, p_abs=0.015), fit.prior
    # it is the maximum: the truth's likelihood is not higher
    assert ebgm.neg_log_likelihood(fit.prior, n, e) <= ebgm.neg_log_likelihood(TRUE, n, e) + 1e-6


def test_fit_recovers_a_three_component_prior_and_bic_chooses_three():
    n, e = simulate(TRUE3, 300_000, seed=2)
    fit = ebgm.fit_prior(n, e)
    assert fit.prior.components == 3 and fit.alternatives[3][1] < fit.alternatives[2][1]
    assert ebgm.neg_log_likelihood(fit.prior, n, e) <= ebgm.neg_log_likelihood(TRUE3, n, e) + 1e-6
    # the narrow components' means and every weight are sharp; their shapes less so (Poisson
    # noise hides how narrow they are), the tail's shape is recovered
    got, want = fit.prior, TRUE3.sorted()
    def by_mean(prior):
        return sorted(zip(prior.alphas, prior.betas, prior.weights, strict=True), key=lambda c: c[0] / c[1])

    for g, t in zip(by_mean(got), by_mean(want), strict=True):
        assert g[0] / g[1] == pytest.approx(t[0] / t[1], rel=0.05)
        assert g[2] == pytest.approx(t[2], abs=0.01)
    # the widest, last by `sorted`
    assert got.alphas[-1] == pytest.approx(want.alphas[-1], rel=0.25)
    assert got.betas[-1] == pytest.approx(want.betas[-1], rel=0.25)


def test_ignoring_the_truncation_biases_the_fit():
    # the same data fitted as if zero counts had been possible but absent (n_star = 0) cannot
    # find the prior: the recovery check can fail
    n, e = simulate(TRUE, 300_000, seed=1)
    naive = ebgm.fit_prior(n, e, n_star=0, components=(2,))
    assert not close_to(naive.prior, TRUE, rel=0.15, p_abs=0.015), naive.prior


def test_squashed_fit_matches_the_fit_on_every_pair():
    n, e = simulate(TRUE, 40_000, seed=2)
    full = ebgm.fit_prior(n, e, width=0, components=(2,))
    squashed = ebgm.fit_prior(n, e, width=0.01, components=(2,))
    assert full.points == len(set(zip(n.tolist(), e.tolist(), strict=True)))
    assert squashed.points < full.points / 3
    for x, y in zip(squashed.prior.as_dict().values(), full.prior.as_dict().values(), strict=True):
        assert x == pytest.approx(y, rel=2e-2)
    # and the squashed optimum is (almost) as likely on the full data
    assert ebgm.neg_log_likelihood(squashed.prior, n, e) == pytest.approx(
        ebgm.neg_log_likelihood(full.prior, n, e), rel=1e-6
    )


def test_squash_merges_a_log_grid_cell_per_count():
    n, e, w = ebgm.squash([1, 1, 1, 2, 1], [1.0, 1.005, 1.5, 1.0, 1.0], width=0.01)
    points = sorted(zip(n.tolist(), e.tolist(), w.tolist(), strict=True))
    # ln 1 = 0 and ln 1.005 = 0.00499 share the cell [0, 0.01); 1.5 and N = 2 are apart
    assert [(p[0], p[2]) for p in points] == [(1.0, 3.0), (1.0, 1.0), (2.0, 1.0)]
    assert points[0][1] == pytest.approx((1.0 + 1.005 + 1.0) / 3, rel=1e-15)
    assert points[1][1] == 1.5 and points[2][1] == 1.0


@pytest.mark.parametrize("n_star", [1, 3])
@pytest.mark.parametrize("prior", [PRIORS[0], THREE])
def test_truncated_likelihood_is_a_distribution_over_n_at_least_n_star(n_star, prior):
    for e in (0.01, 1.0, 30.0):
        ns = np.arange(n_star, 20_000)
        ll = np.array([-ebgm.neg_log_likelihood(prior, [k], [e], n_star=n_star) for k in ns[:50]])
        # the first 50 terms by the function itself, the rest of the tail from the marginal
        rest = ns[50:].astype(float)
        tail = special.logsumexp(ebgm._log_mixture(rest, np.full(rest.size, e), prior))
        at_least = ebgm._log_at_least(n_star, np.array([e]), prior)[0]
        total = np.exp(special.logsumexp(ll)) + np.exp(tail - at_least)
        assert total == pytest.approx(1.0, abs=1e-9), e


@pytest.mark.parametrize("n_star", [0, 1])
@pytest.mark.parametrize("prior", [PRIORS[0], THREE])
def test_exact_gradient_matches_central_differences(n_star, prior):
    n, e = simulate(TRUE3, 5_000, seed=4)
    w = np.ones_like(e)
    x = ebgm._to_x(prior)
    k = prior.components
    value, grad = ebgm.neg_log_likelihood_and_gradient(x, k, n.astype(float), e, w, n_star)
    assert value == pytest.approx(ebgm.neg_log_likelihood(prior, n, e, n_star=n_star), rel=1e-12)
    h = 1e-5
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        numeric = (
            ebgm.neg_log_likelihood(ebgm._from_x(up, k), n, e, n_star=n_star)
            - ebgm.neg_log_likelihood(ebgm._from_x(down, k), n, e, n_star=n_star)
        ) / (2 * h)
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-4), i


def test_negative_binomial_marginal_matches_scipy():
    n = np.array([0, 1, 5, 40])
    e = np.array([0.3, 2.0, 7.0, 0.01])
    got = ebgm._log_nbinom(n.astype(float), e, 0.23, 0.0775)
    want = stats.nbinom.logpmf(n, 0.23, 0.0775 / (0.0775 + e))
    assert got == pytest.approx(want, rel=1e-10)


def test_fit_needs_pairs_and_priors_are_checked():
    with pytest.raises(ValueError, match="no pairs"):
        ebgm.fit_prior([0, 0], [1.0, 2.0])
    with pytest.raises(ValueError, match="not a gamma-mixture prior"):
        ebgm.Prior.mgps(0.0, 1.0, 1.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="do not sum to 1"):
        ebgm.Prior((1.0, 2.0), (1.0, 1.0), (0.5, 0.6))


def test_sorted_puts_the_widest_component_last_and_names_the_columns():
    prior = ebgm.Prior((0.2, 8.0, 100.0), (0.1, 12.0, 200.0), (0.1, 0.5, 0.4)).sorted()
    assert prior.alphas == (100.0, 8.0, 0.2)  # variances 0.0025, 0.056, 20
    assert prior.as_dict() == {
        "alpha1": 100.0, "beta1": 200.0, "p1": 0.4,
        "alpha2": 8.0, "beta2": 12.0, "p2": 0.5,
        "alpha3": 0.2, "beta3": 0.1, "p3": 0.1,
    }

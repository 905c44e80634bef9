"""The Delta tables the signal job writes (to move into `jobs/tables.py` later).

Counts are kept incrementally: `gold.signal_report_contribution` remembers, per report, what
the report currently adds to every count (and what it added before its last change), so that
a follow-up is reversed exactly. The count tables hold only sums of those contributions.
"""

from __future__ import annotations

from jobs.tables import Table


def _ddl(*columns: str) -> str:
    return ", ".join(columns)


# One row per report: what it counts for now (`drugs`, `reactions`, …) and what it counted for
# before the batch that last changed it (`prev_*`). `batch` is that batch, named by its run
# (the app id carrying the streaming query's id) and batch id: the count deltas of a batch are
# exactly the rows stamped with it (current − previous), so a re-run of the batch re-derives
# the same deltas, and a fresh checkpoint, whose batch ids start at 0 again, stamps anew.
CONTRIBUTION = Table(
    "gold.signal_report_contribution",
    _ddl(
        "safetyreportid STRING",
        "safetyreportversion INT",
        "present BOOLEAN",  # false once the report left silver
        "event_date DATE",  # receivedate, never later than the day the report arrived
        "occurcountry STRING",
        "drugs ARRAY<STRING>",  # distinct generic names of the counted drugs (suspect by default)
        "reactions ARRAY<STRING>",  # distinct MedDRA preferred terms
        "overdose BOOLEAN",  # gold's overdose rule (overdose term or dose above the maximum)
        # receivedate after the day the report arrived (a data fault): counted on its arrival
        # day, but never moves the event-time frontier
        "future_dated BOOLEAN",
        "prev_present BOOLEAN",
        "prev_event_date DATE",
        "prev_occurcountry STRING",
        "prev_drugs ARRAY<STRING>",
        "prev_reactions ARRAY<STRING>",
        "prev_overdose BOOLEAN",
        "batch STRING",  # <run>/<batch id>
        "signals_updated_at TIMESTAMP",
    ),
    key=("safetyreportid",),
)

# a of the 2×2 table: reports that name the drug and the reaction.
DRUG_REACTION_COUNTS = Table(
    "gold.drug_reaction_counts",
    _ddl("generic_name STRING", "reactionmeddrapt STRING", "reports BIGINT", "signals_updated_at TIMESTAMP"),
    key=("generic_name", "reactionmeddrapt"),
)

# The margins: dimension 'drug' (n_D per generic name), 'reaction' (n_R per preferred term)
# and 'total' (value '*': N, every report in silver).
MARGINAL_COUNTS = Table(
    "gold.signal_marginal_counts",
    _ddl("dimension STRING", "value STRING", "reports BIGINT", "signals_updated_at TIMESTAMP"),
    key=("dimension", "value"),
)

# Reports per event-time window for the spike series: alert_type 'reporting_spike' (subjects
# all | country=C | drug=D | drug=D;country=C) and 'overdose_cluster' (drug=D, drug=D;country=C).
WINDOW_COUNTS = Table(
    "gold.signal_window_counts",
    _ddl(
        "alert_type STRING",
        "subject STRING",
        "window_start DATE",
        "reports BIGINT",
        "signals_updated_at TIMESTAMP",
    ),
    key=("alert_type", "subject", "window_start"),
)

_FIRST = tuple(
    f"first_{c}_{suffix}"
    for c in ("evans", "ror", "ic", "ebgm", "signal")
    for suffix in ("at TIMESTAMP", "event_date DATE")
)

SAFETY_SIGNAL = Table(
    "gold.safety_signal",
    _ddl(
        "generic_name STRING",
        "reactionmeddrapt STRING",
        "a BIGINT",
        "b BIGINT",
        "c BIGINT",
        "d BIGINT",  # the 2×2 table, as counted
        "expected_reports DOUBLE",  # E = n_D · n_R / N
        "prr DOUBLE",
        "prr_chi2 DOUBLE",  # χ² with Yates' correction
        "ror DOUBLE",
        "ror_lower95 DOUBLE",
        "ror_upper95 DOUBLE",
        "ic DOUBLE",
        "ic025 DOUBLE",
        "ic975 DOUBLE",
        # MGPS (jobs.signals.ebgm): the posterior geometric mean of λ = N/E and its 5%/95%
        # quantiles, under the gamma-mixture prior of gold.signal_prior; null without a prior
        "ebgm DOUBLE",
        "eb05 DOUBLE",
        "eb95 DOUBLE",
        "zero_cell_corrected BOOLEAN",  # PRR/ROR computed with +0.5 in every cell
        "statistics_note STRING",  # why a statistic is corrected or null
        "labelled BOOLEAN",  # the reference data lists the reaction on the drug's label
        "evans BOOLEAN",
        "ror_signal BOOLEAN",
        "ic_signal BOOLEAN",
        "ebgm_signal BOOLEAN",  # EB05 ≥ 2 (and a ≥ min_count)
        "is_signal BOOLEAN",  # the configured rule (SignalParams.rule)
        *_FIRST,
        "evaluated_event_date DATE",  # the event-time frontier the row was last computed at
        "signals_updated_at TIMESTAMP",
    ),
    key=("generic_name", "reactionmeddrapt"),
    change_data_feed=True,
)

# The MGPS prior fitted at each evaluation (appended; the latest row is the one in use):
# λ ~ Σ_k p_k · Gamma(alpha_k, beta_k) (shape, rate), components by increasing variance (the
# last is the widest); the third is null when two components had the lower BIC.
SIGNAL_PRIOR = Table(
    "gold.signal_prior",
    _ddl(
        "fitted_at TIMESTAMP",
        "evaluated_event_date DATE",  # the event-time frontier of the counts it was fitted to
        "components INT",
        "alpha1 DOUBLE",
        "beta1 DOUBLE",
        "p1 DOUBLE",
        "alpha2 DOUBLE",
        "beta2 DOUBLE",
        "p2 DOUBLE",
        "alpha3 DOUBLE",
        "beta3 DOUBLE",
        "p3 DOUBLE",
        "fit_pairs STRING",  # which pairs: unlabelled | all
        "pairs BIGINT",  # pairs with N ≥ n_star in the fit
        "points BIGINT",  # (N, E) points after squashing
        "n_star INT",  # the fit conditions on N ≥ n_star (zero counts are not stored)
        "neg_log_likelihood DOUBLE",
        "bic DOUBLE",
        "bic_two_components DOUBLE",  # for comparison (null when not fitted)
        "bic_three_components DOUBLE",
        "converged BOOLEAN",
        "message STRING",
        "fit_seconds DOUBLE",
    ),
    key=("fitted_at",),
)

SPIKE_ALERT = Table(
    "gold.spike_alert",
    _ddl(
        "alert_type STRING",  # reporting_spike | overdose_cluster
        "subject STRING",
        "generic_name STRING",
        "occurcountry STRING",
        "window_start DATE",
        "window_end DATE",  # exclusive
        "observed_reports BIGINT",
        "baseline_mean DOUBLE",  # expected reports in the window (Poisson mean)
        "baseline_windows INT",  # covered windows the baseline averages
        "ratio DOUBLE",
        "p_value DOUBLE",  # P(X ≥ observed | Poisson(baseline_mean))
        "alpha DOUBLE",
        "is_alert BOOLEAN",
        "status STRING",  # provisional | final | late | withdrawn
        "first_detected_at TIMESTAMP",
        "first_detected_event_date DATE",
        "evaluated_event_date DATE",
        "signals_updated_at TIMESTAMP",
    ),
    key=("alert_type", "subject", "window_start"),
    change_data_feed=True,
)

# The one alert table the dashboards and the serving load read: the shape of
# sql/migrations/V003__facts.sql (vigil.fact_alert) and jobs/serving/targets.py, column for column.
ALERT = Table(
    "gold.alert",
    _ddl(
        "alert_type STRING",  # safety_signal | reporting_spike | overdose_cluster
        "subject STRING",  # drug=D;reaction=R | all | country=C | drug=D | drug=D;country=C
        "window_start DATE",
        "window_end DATE",
        "statistic STRING",  # eb05 | prr | ror_lower95 | ic025 (what raised it) | poisson_p
        "statistic_value DOUBLE",
        "threshold DOUBLE",
        "evidence_reports BIGINT",
        "expected_reports DOUBLE",
        "status STRING",
        "first_detected_at TIMESTAMP",
        "gold_updated_at TIMESTAMP",
    ),
    key=("alert_type", "subject", "window_start"),
    change_data_feed=True,
)

COUNT_TABLES = (DRUG_REACTION_COUNTS, MARGINAL_COUNTS, WINDOW_COUNTS)
ALL = (CONTRIBUTION, *COUNT_TABLES, SAFETY_SIGNAL, SIGNAL_PRIOR, SPIKE_ALERT, ALERT)

"""`patient.reaction[]`: which preferred terms, their outcomes, and the seriousness they imply.

Reaction fragments are pre-built for every (term, outcome) pair and shared between reports.
Seriousness follows the outcomes: a fatal outcome makes the report serious with
seriousnessdeath; a typically serious term usually makes it serious; otherwise it sometimes is.
"""

from __future__ import annotations

from generators.reference import ReferenceData
from generators.sampling import mapping_table, weighted_table

OUTCOME_CODES = ("1", "2", "3", "4", "5", "6")
NO_OUTCOME = 6  # index of the fragment without reactionoutcome
CRITERIA_FIELDS = {
    "hospitalization": "seriousnesshospitalization",
    "other": "seriousnessother",
    "lifethreatening": "seriousnesslifethreatening",
    "disabling": "seriousnessdisabling",
}


class ReactionCatalogue:
    def __init__(self, ref: ReferenceData):
        mix = ref.report_mix
        self.terms = ref.terms
        self.index = {t.pt: i for i, t in enumerate(ref.terms)}
        version = str(mix["meddra_version"])
        # fragments[i][k]: term i with outcome OUTCOME_CODES[k], or without an outcome (k == 6)
        self.fragments = [
            [
                *({"reactionmeddrapt": t.pt, "reactionmeddraversionpt": version,
                   "reactionoutcome": code} for code in OUTCOME_CODES),
                {"reactionmeddrapt": t.pt, "reactionmeddraversionpt": version},
            ]
            for t in ref.terms
        ]
        self.fatal = [t.fatal_term for t in ref.terms]
        self.typically_serious = [t.typically_serious for t in ref.terms]
        self.background = weighted_table(
            list(range(len(ref.terms))), [t.background_weight for t in ref.terms]
        )
        self.outcome_mild = [OUTCOME_CODES.index(c) for c in mapping_table(mix["outcome_non_serious_term"])]
        self.outcome_serious = [OUTCOME_CODES.index(c) for c in mapping_table(mix["outcome_serious_term"])]
        self.outcome_missing = float(mix["reaction_outcome_missing_share"])
        self.count_table = mapping_table({int(k): v for k, v in mix["reactions_per_report"].items()})
        self.labelled_share = float(mix["labelled_reaction_share"])
        self.serious_if_typical = float(mix["serious_when_typically_serious_term"])
        self.serious_otherwise = float(mix["serious_share_otherwise"])
        self.criteria = [CRITERIA_FIELDS[c] for c in mapping_table(mix["seriousness_criteria"])]

    def labelled_table(self, labelled: tuple[tuple[str, float], ...]) -> list[int]:
        return weighted_table([self.index[pt] for pt, _ in labelled], [w for _, w in labelled], 1024)

    def term_index(self, pt: str) -> int:
        return self.index[pt]

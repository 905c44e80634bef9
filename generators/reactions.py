"""`patient.reaction[]`: which preferred terms, their outcomes, and the seriousness they imply.

Reaction fragments (dicts and their JSON bytes) are pre-built for every (term, outcome) pair and
shared between reports. A report's terms and each term's outcome are one table lookup each: a
per-drug table mixes the drug's labelled terms with the background, and a per-term table holds
its outcomes (fatal terms always fatal; otherwise "no outcome" at the stated share, then the
serious or non-serious outcome mix). Seriousness follows the outcomes: a fatal outcome makes the
report serious with seriousnessdeath; a typically serious term usually makes it serious;
otherwise it sometimes is.
"""

from __future__ import annotations

import orjson

from generators.reference import ReferenceData
from generators.sampling import mapping_table, weighted_table

TERM_TABLE_BITS = 12
TERM_TABLE_SIZE = 1 << TERM_TABLE_BITS  # per drug; an index is one getrandbits(TERM_TABLE_BITS)
OUTCOME_TABLE_BITS = 8
OUTCOME_TABLE_SIZE = 1 << OUTCOME_TABLE_BITS
# what a drawn reaction says about the report's seriousness, in increasing order
MILD, TYPICALLY_SERIOUS, FATAL = 0, 1, 2

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
        self.fragments_json = [[orjson.dumps(f) for f in per_term] for per_term in self.fragments]
        self.fatal = [t.fatal_term for t in ref.terms]
        self.typically_serious = [t.typically_serious for t in ref.terms]
        self._background_weights = [t.background_weight for t in ref.terms]
        missing = float(mix["reaction_outcome_missing_share"])
        mild = _outcome_table(mix["outcome_non_serious_term"], missing)
        serious = _outcome_table(mix["outcome_serious_term"], missing)
        fatal = [OUTCOME_CODES.index("5")] * OUTCOME_TABLE_SIZE
        # per term, OUTCOME_TABLE_SIZE (fragment JSON, severity) entries to draw from
        self.outcomes = []
        for i, t in enumerate(ref.terms):
            table = fatal if t.fatal_term else serious if t.typically_serious else mild
            entries = {o: (self.fragments_json[i][o], _severity(t, o)) for o in set(table)}
            self.outcomes.append([entries[o] for o in table])
        self.count_table = mapping_table({int(k): v for k, v in mix["reactions_per_report"].items()})
        self.labelled_share = float(mix["labelled_reaction_share"])
        self.serious_if_typical = float(mix["serious_when_typically_serious_term"])
        self.serious_otherwise = float(mix["serious_share_otherwise"])
        self.criteria = [CRITERIA_FIELDS[c] for c in mapping_table(mix["seriousness_criteria"])]

    def term_table(self, labelled: tuple[tuple[str, float], ...]) -> list[int]:
        """A drug's reaction terms: its labelled reactions at `labelled_share`, else the
        background mix of all terms."""
        weights = [w * (1 - self.labelled_share) for w in self._background_weights]
        background_total = sum(self._background_weights)
        labelled_total = sum(w for _, w in labelled)
        weights = [w / background_total for w in weights]
        for pt, w in labelled:
            weights[self.index[pt]] += self.labelled_share * w / labelled_total
        return weighted_table(list(range(len(self.terms))), weights, TERM_TABLE_SIZE)

    def term_index(self, pt: str) -> int:
        return self.index[pt]


def _outcome_table(mix: dict, missing_share: float) -> list[int]:
    """Outcome indices: NO_OUTCOME at `missing_share`, else drawn from `mix` ({code: weight})."""
    total = sum(mix.values())
    weights = {OUTCOME_CODES.index(str(code)): (1 - missing_share) * w / total
               for code, w in mix.items()}
    weights[NO_OUTCOME] = weights.get(NO_OUTCOME, 0.0) + missing_share
    return mapping_table(weights, OUTCOME_TABLE_SIZE)


def _severity(term, outcome: int) -> int:
    if outcome == OUTCOME_CODES.index("5"):
        return FATAL
    return TYPICALLY_SERIOUS if term.typically_serious else MILD

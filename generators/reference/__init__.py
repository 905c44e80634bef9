"""Reference data the generator draws from: drugs, MedDRA preferred terms, demographics, report mix.

The data live beside this module as plain files so that the pipeline can read them too
(`drugs.jsonl` with Spark's `spark.read.json` or pandas' `read_json(lines=True)`,
`meddra_pt.csv` with any CSV reader). This module only loads and checks them.
"""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

REFERENCE_DIR = Path(__file__).resolve().parent
DRUGS_FILE = REFERENCE_DIR / "drugs.jsonl"
MEDDRA_FILE = REFERENCE_DIR / "meddra_pt.csv"
DEMOGRAPHICS_FILE = REFERENCE_DIR / "demographics.yaml"
REPORT_MIX_FILE = REFERENCE_DIR / "report_mix.yaml"

# drugstructuredosageunit codes (ICH E2B(R2) unit list; openFDA documents 001–004) for the
# units drugs.jsonl uses: 012 ml, 025 iu, 032 DF (dosage form: a tablet, a patch, an inhalation)
DOSE_UNIT_CODES = {"g": "002", "mg": "003", "ug": "004", "mL": "012", "IU": "025", "DF": "032"}

# MedDRA preferred terms for overdose and poisoning (reference/openfda-drug-event.md)
OVERDOSE_PTS = (
    "Overdose",
    "Accidental overdose",
    "Intentional overdose",
    "Prescribed overdose",
    "Toxicity to various agents",
    "Poisoning",
    "Accidental poisoning",
    "Poisoning deliberate",
    "Exposure to toxic agent",
    "Systemic toxicity",
    "Chemical poisoning",
)


@dataclass(frozen=True)
class Drug:
    generic_name: str
    drug_class: str
    brand_names: tuple[str, ...]
    product_names: tuple[str, ...]
    routes: tuple[str, ...]
    dosage_form: str
    dose_unit: str
    dose_unit_code: str
    usual_single_dose: float
    max_daily_dose: float | None
    usual_frequency: str
    indications: tuple[str, ...]
    labelled_reactions: tuple[tuple[str, float], ...]
    report_weight: float


@dataclass(frozen=True)
class PreferredTerm:
    pt: str
    soc: str
    background_weight: float
    typically_serious: bool
    fatal_term: bool


@dataclass(frozen=True)
class ReferenceData:
    drugs: tuple[Drug, ...]
    terms: tuple[PreferredTerm, ...]
    demographics: dict
    report_mix: dict

    @functools.cached_property
    def drug_by_name(self) -> dict[str, Drug]:
        """Generic name → drug; also accepts any listed product name, case-insensitively."""
        index: dict[str, Drug] = {}
        for drug in self.drugs:
            for name in (drug.generic_name, *drug.product_names):
                index[name.upper()] = drug
        return index

    @functools.cached_property
    def term_by_name(self) -> dict[str, PreferredTerm]:
        return {t.pt.lower(): t for t in self.terms}

    def profile_for(self, drug: Drug) -> dict:
        """The demographic profile (age bands, female share, weights) of a drug's users."""
        demo = self.demographics
        name = demo.get("drug_profiles", {}).get(drug.generic_name) or demo["class_profiles"][
            drug.drug_class
        ]
        return demo["profiles"][name]


def _drug_from_json(row: dict) -> Drug:
    return Drug(
        generic_name=row["generic_name"],
        drug_class=row["drug_class"],
        brand_names=tuple(row["brand_names"]),
        product_names=tuple(row["product_names"]),
        routes=tuple(row["routes"]),
        dosage_form=row["dosage_form"],
        dose_unit=row["dose_unit"],
        dose_unit_code=row["dose_unit_code"],
        usual_single_dose=float(row["usual_single_dose"]),
        max_daily_dose=None if row["max_daily_dose"] is None else float(row["max_daily_dose"]),
        usual_frequency=row["usual_frequency"],
        indications=tuple(row["indications"]),
        labelled_reactions=tuple((r["pt"], float(r["weight"])) for r in row["labelled_reactions"]),
        report_weight=float(row["report_weight"]),
    )


def load_drugs(path: Path = DRUGS_FILE) -> tuple[Drug, ...]:
    with open(path, encoding="utf-8") as f:
        return tuple(_drug_from_json(json.loads(line)) for line in f if line.strip())


def load_terms(path: Path = MEDDRA_FILE) -> tuple[PreferredTerm, ...]:
    with open(path, encoding="utf-8", newline="") as f:
        return tuple(
            PreferredTerm(
                pt=row["pt"],
                soc=row["soc"],
                background_weight=float(row["background_weight"]),
                typically_serious=row["typically_serious"] == "1",
                fatal_term=row["fatal_term"] == "1",
            )
            for row in csv.DictReader(f)
        )


def _load_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _check_report_mix(mix: dict) -> dict:
    # YAML reads a bare NO (Norway) or ON as a boolean: insist on text codes
    bad = [c for c in mix["countries"] if not (isinstance(c, str) and len(c) == 2)]
    if bad:
        raise ValueError(f"{REPORT_MIX_FILE}: country codes must be quoted text, got {bad!r}")
    return mix


@functools.cache
def load_reference() -> ReferenceData:
    """All reference data, loaded once per process."""
    return ReferenceData(
        drugs=load_drugs(),
        terms=load_terms(),
        demographics=_load_yaml(DEMOGRAPHICS_FILE),
        report_mix=_check_report_mix(_load_yaml(REPORT_MIX_FILE)),
    )

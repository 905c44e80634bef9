"""The `patient.drug[]` entries of reports, pre-built per drug and role.

Each drug gets a few dozen ready-made entries (product-name variant, dose, route, indication,
dosage text, action taken) for its role as suspect and as concomitant drug. Normal use stays at
or below the drug's max daily dose; only an injected overdose goes above it.
"""

from __future__ import annotations

import math
import random

from generators.reference import Drug

# usual_frequency → (drugseparatedosagenumb, drugintervaldosageunitnumb, drugintervaldosagedefinition)
# interval unit codes: 801 year, 802 month, 803 week, 804 day, 805 hour
INTERVALS: dict[str, tuple[str, str, str] | None] = {
    "QD": ("1", "1", "804"),
    "BID": ("2", "1", "804"),
    "TID": ("3", "1", "804"),
    "QID": ("4", "1", "804"),
    "Q4H": ("1", "4", "805"),
    "Q6H": ("1", "6", "805"),
    "Q8H": ("1", "8", "805"),
    "Q12H": ("1", "12", "805"),
    "Q72H": ("1", "72", "805"),
    "QW": ("1", "1", "803"),
    "TIW": ("3", "1", "803"),
    "Q2W": ("1", "2", "803"),
    "Q3W": ("1", "3", "803"),
    "Q4W": ("1", "4", "803"),
    "Q8W": ("1", "8", "803"),
    "QM": ("1", "1", "802"),
    "Q3M": ("1", "3", "802"),
    "Q6M": ("1", "6", "802"),
    "QY": ("1", "1", "801"),
    "PRN": None,
    "ONCE": None,
}
_INTERVAL_DAYS = {"801": 365.0, "802": 30.0, "803": 7.0, "804": 1.0, "805": 1 / 24}

UNIT_TEXT = {"mg": "MG", "ug": "MCG", "g": "G", "IU": "IU", "DF": "DF", "mL": "ML"}
UNIT_WORD = {"mg": "MILLIGRAM", "ug": "MICROGRAM", "g": "GRAM", "IU": "INTERNATIONAL UNIT",
             "DF": "DOSAGE FORM", "mL": "MILLILITRE"}


def doses_per_day(frequency: str) -> float:
    """How many single doses a day the frequency implies (PRN/ONCE count as one)."""
    interval = INTERVALS[frequency]
    if interval is None:
        return 1.0
    separate, every, unit = interval
    return float(separate) / (float(every) * _INTERVAL_DAYS[unit])


def dosing_day_amount(single_dose: float, frequency: str) -> float:
    """What a patient takes on a day with a dose: several doses a day add up; a weekly or
    monthly dose is taken whole on its day. This is what the max daily dose bounds."""
    return single_dose * max(1.0, doses_per_day(frequency))


def number_text(value: float) -> str:
    return f"{value:g}" if value < 1e6 else str(int(value))


# A product named with its strength ("OXYCODONE 10 MG") has its structured dose counted in
# tablets (DF) this share of the time, as real reports often do.
DOSE_IN_TABLETS_SHARE = 0.5


def strength_name(drug: Drug) -> str | None:
    """The product name that states one dosage form's strength, the drug's usual single dose
    ("OXYCODONE 10 MG"), where the reference has one."""
    suffix = f" {number_text(drug.usual_single_dose)} {UNIT_TEXT[drug.dose_unit]}"
    return next((n for n in drug.product_names if n.endswith(suffix)), None)


def _strengths(drug: Drug) -> list[float]:
    """Single doses seen in normal use: the usual one and neighbours that stay within the max."""
    usual = drug.usual_single_dose
    candidates = [usual, usual, usual, usual * 0.5, usual * 2]
    if drug.max_daily_dose is None:
        return [c for c in candidates if c != usual * 2] or [usual]
    allowed = [c for c in candidates
               if dosing_day_amount(c, drug.usual_frequency) <= drug.max_daily_dose + 1e-9]
    return allowed or [usual]


def _dosage_text(rng: random.Random, drug: Drug, dose: float) -> str:
    unit = drug.dose_unit
    pick = rng.random()
    if pick < 0.55:
        return f"{number_text(dose)} {UNIT_TEXT[unit]}, {drug.usual_frequency}"
    if pick < 0.75:
        return f"{number_text(dose)} {UNIT_TEXT[unit]}, UNK"
    if pick < 0.85:
        return f"{number_text(dose)} {UNIT_WORD[unit]}"
    return rng.choice(("UNK", "UNK UNK, UNKNOWN FREQ.", "UNK, UNKNOWN", "1 DF, UNK"))


def build_entries(
    drug: Drug,
    characterization: str,
    rng: random.Random,
    missing: dict,
    active_substance_share: float,
    actiondrug_table: list[str],
    variants: int,
) -> list[dict]:
    strengths = _strengths(drug)
    interval = INTERVALS[drug.usual_frequency]
    entries = []
    for _ in range(variants):
        # brand and generic names are the common cases; salts, strengths and "BRAND (GENERIC)" rarer
        names = drug.product_names
        name = names[0] if rng.random() < 0.35 else rng.choice(names)
        entry: dict = {"drugcharacterization": characterization, "medicinalproduct": name}
        if rng.random() >= missing["structured_dose"]:
            dose = rng.choice(strengths)
            entry["drugstructuredosagenumb"] = number_text(dose)
            entry["drugstructuredosageunit"] = drug.dose_unit_code
            if name == strength_name(drug) and rng.random() < DOSE_IN_TABLETS_SHARE:
                # the same dose as a count of the tablets the name states: "1 DF", "0.5 DF"
                entry["drugstructuredosagenumb"] = number_text(dose / drug.usual_single_dose)
                entry["drugstructuredosageunit"] = "032"
            if interval is not None and rng.random() < 0.6:
                entry["drugseparatedosagenumb"] = interval[0]
                entry["drugintervaldosageunitnumb"] = interval[1]
                entry["drugintervaldosagedefinition"] = interval[2]
        else:
            dose = drug.usual_single_dose
        if rng.random() >= missing["dosage_text"]:
            entry["drugdosagetext"] = _dosage_text(rng, drug, dose)
        if rng.random() < 0.4:
            entry["drugdosageform"] = drug.dosage_form
        if rng.random() >= missing["route"]:
            routes = drug.routes
            entry["drugadministrationroute"] = routes[0] if rng.random() < 0.7 else rng.choice(routes)
        elif rng.random() < 0.3:
            entry["drugadministrationroute"] = "065"  # unknown
        if rng.random() >= missing["indication"]:
            entry["drugindication"] = rng.choice(drug.indications).upper()
        elif rng.random() < 0.3:
            entry["drugindication"] = "PRODUCT USED FOR UNKNOWN INDICATION"
        if rng.random() >= missing["actiondrug"]:
            entry["actiondrug"] = actiondrug_table[rng.randrange(len(actiondrug_table))]
        if rng.random() < active_substance_share:
            entry["activesubstance"] = {"activesubstancename": drug.generic_name}
        entries.append(entry)
    return entries


# Real reports often give a dose only as text; an injected overdose does too, this share of the
# time (where the unit is one of mass, which the pipeline reads from text).
OVERDOSE_DOSE_AS_TEXT_SHARE = 0.25
# and counts tablets of a product named with its strength (DOSE_IN_TABLETS_SHARE) this share.
OVERDOSE_IN_TABLETS_SHARE = 0.2
_MASS_UNITS = ("mg", "ug", "g")


def overdose_entry(drug: Drug, rng: random.Random) -> dict:
    """A suspect-drug entry whose single dose alone is above the max daily dose (where the
    drug has one; else far above its usual dose): in the structured fields or only as text,
    in the drug's unit or as a count of dosage forms of a stated strength."""
    if drug.max_daily_dose is not None:
        dose = drug.max_daily_dose * rng.uniform(1.5, 6.0)
    else:
        dose = drug.usual_single_dose * rng.uniform(8.0, 20.0)
    dose = float(f"{dose:.3g}")
    name = rng.choice(drug.product_names)
    amount, unit, unit_code = number_text(dose), UNIT_TEXT[drug.dose_unit], drug.dose_unit_code
    words = (f"{amount} {UNIT_WORD[drug.dose_unit]}",)
    tablets_named = drug.dose_unit in _MASS_UNITS and strength_name(drug) is not None
    if tablets_named and rng.random() < OVERDOSE_IN_TABLETS_SHARE:
        name = strength_name(drug)
        amount, unit, unit_code = number_text(math.ceil(dose / drug.usual_single_dose)), "DF", "032"
        words = (f"{amount} {UNIT_WORD['DF']}",)
    texts = (f"{amount} {unit}, ONCE", f"{amount} {unit}, TOTAL", f"{amount} {unit}, QD")
    entry = {"drugcharacterization": "1", "medicinalproduct": name}
    if drug.dose_unit in _MASS_UNITS and rng.random() < OVERDOSE_DOSE_AS_TEXT_SHARE:
        entry["drugdosagetext"] = rng.choice((*texts, *words))
    else:
        entry.update({
            "drugstructuredosagenumb": amount,
            "drugstructuredosageunit": unit_code,
            "drugseparatedosagenumb": "1",
            "drugintervaldosageunitnumb": "1",
            "drugintervaldosagedefinition": "804",
            "drugdosagetext": rng.choice((*texts, "UNK, OVERDOSE")),
        })
    entry.update({
        "drugadministrationroute": drug.routes[0],
        "actiondrug": rng.choice(("1", "5", "6")),
        "activesubstance": {"activesubstancename": drug.generic_name},
    })
    return entry

"""Patients (age + unit, age group, sex, weight) per demographic profile, pre-built in pools.

A pool per profile holds a few thousand patient fragments with FAERS-like missing fields; a
report takes one by index. Fragments are shared between reports and must not be mutated.
"""

from __future__ import annotations

import random

from generators.sampling import weighted_table

POOL_BITS = 10
POOL_SIZE = 1 << POOL_BITS

# patientagegroup: 1 neonate, 2 infant, 3 child, 4 adolescent, 5 adult, 6 elderly
def age_group(age_years: float) -> str:
    if age_years < 28 / 365:
        return "1"
    if age_years < 2:
        return "2"
    if age_years < 12:
        return "3"
    if age_years < 18:
        return "4"
    if age_years < 65:
        return "5"
    return "6"


def child_weight_kg(age_years: float) -> float:
    """Rough median weight for age (growth charts, both sexes) before adult size."""
    if age_years < 1:
        return 3.5 + 6.5 * age_years
    if age_years < 10:
        return 10.0 + 2.2 * (age_years - 1) + 0.12 * (age_years - 1) ** 2
    return 31.0 + 4.6 * (age_years - 10)


def _age_fields(age_years: float) -> dict[str, str]:
    # units: 801 year, 802 month, 803 week, 804 day
    if age_years < 28 / 365:
        return {"patientonsetage": str(max(1, int(age_years * 365))), "patientonsetageunit": "804"}
    if age_years < 2:
        return {"patientonsetage": str(max(1, int(age_years * 12))), "patientonsetageunit": "802"}
    return {"patientonsetage": str(int(age_years)), "patientonsetageunit": "801"}


def build_patient_pool(
    profile: dict, adult_weight: dict, missing: dict, age_group_share: float, rng: random.Random
) -> list[dict[str, str]]:
    bands = profile["age_bands"]
    band_table = weighted_table([(lo, hi) for lo, hi, _ in bands], [w for *_, w in bands], 1024)
    female_share = float(profile["female_share"])
    weights = profile.get("weight_kg", adult_weight)
    pool = []
    for _ in range(POOL_SIZE):
        lo, hi = band_table[rng.randrange(len(band_table))]
        age = rng.uniform(lo, hi)
        female = rng.random() < female_share
        patient: dict[str, str] = {}
        if rng.random() >= missing["age"]:
            patient.update(_age_fields(age))
            if rng.random() < age_group_share:
                patient["patientagegroup"] = age_group(age)
        if rng.random() >= missing["sex"]:
            patient["patientsex"] = "2" if female else "1"
        elif rng.random() < 0.3:
            patient["patientsex"] = "0"
        if rng.random() >= missing["weight"]:
            if age < 18:
                kg = child_weight_kg(age) * rng.gauss(1.0, 0.12)
            else:
                mean, sd = weights["female" if female else "male"]
                kg = rng.gauss(mean, sd)
            kg = min(max(kg, 2.0 if age < 1 else 30.0 if age >= 18 else 8.0), 220.0)
            patient["patientweight"] = f"{kg:.1f}".removesuffix(".0")
        pool.append(patient)
    return pool

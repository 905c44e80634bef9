"""People and organizations, made with Faker once at start-up and then drawn from by index.

Calling Faker per report is what makes a naive generator slow; a few hundred names built up
front look the same in the data and cost nothing per report.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from faker import Faker

JOURNALS = (
    "DRUG SAF",
    "PHARMACOEPIDEMIOL DRUG SAF",
    "BR J CLIN PHARMACOL",
    "J CLIN PHARMACOL",
    "ANN PHARMACOTHER",
    "CLIN TOXICOL (PHILA)",
    "EUR J CLIN PHARMACOL",
    "BMJ CASE REP",
    "J MED CASE REP",
    "INTERN MED",
    "AM J HEALTH SYST PHARM",
    "CUREUS",
)


@dataclass(frozen=True)
class Manufacturer:
    name: str  # as FAERS shows it: upper case
    code: str  # three letters used in companynumb, e.g. US-ABC-2025012345


@dataclass(frozen=True)
class Pools:
    manufacturers: tuple[Manufacturer, ...]
    literature_references: tuple[str, ...]


def build_pools(seed: int, manufacturers: int = 160, references: int = 300) -> Pools:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    makers: list[Manufacturer] = []
    codes: set[str] = set()
    while len(makers) < manufacturers:
        name = fake.company().upper().replace(",", "")
        letters = re.sub(r"[^A-Z]", "", name)
        code = letters[:3]
        if len(code) < 3 or code in codes:
            code = (letters[:2] + chr(ord("A") + rng.randrange(26))) if len(letters) >= 2 else None
        if not code or code in codes:
            continue
        codes.add(code)
        suffix = rng.choice(("PHARMACEUTICALS", "PHARMA", "LABORATORIES", "INC", "LLC", "LTD"))
        makers.append(Manufacturer(name=f"{name} {suffix}", code=code))
    refs = []
    for _ in range(references):
        authors = ", ".join(
            f"{fake.last_name().upper()} {fake.first_name()[0]}" for _ in range(rng.randint(1, 5))
        )
        title = fake.sentence(nb_words=rng.randint(6, 12)).rstrip(".").upper()
        year = rng.randint(2012, 2025)
        refs.append(
            f"{authors}. {title}. {rng.choice(JOURNALS)} {year};{rng.randint(1, 60)}"
            f"({rng.randint(1, 12)}):{rng.randint(1, 900)}-{rng.randint(901, 999)}."
        )
    return Pools(manufacturers=tuple(makers), literature_references=tuple(refs))

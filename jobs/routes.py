"""Routes of administration, grouped by the scale their doses are on.

The reference data's usual and maximum doses are for the route they were written for, a drug's
first listed route. A dose given another way is often on another scale: 2 g of a 1% diclofenac
gel is 20 mg of diclofenac on the skin; baclofen pumped into the spinal fluid works in
micrograms a day where tablets take tens of milligrams; a 10-microgram estradiol vaginal
tablet is no dose "far below" a 1 mg oral one. Gold therefore compares a dose with the
reference only where the dose's route is in the same group as the reference's, or unknown.

A route is the E2B code in `drugadministrationroute` (ICH E2B(R2) list, 001-067). Where that is
missing, "unknown" (065), "other" (050), transmammary or transplacental (063, 064: the route to a
child through its mother, not hers) or no code at all, the words of the route field, the
product name, the dosage form and the dosage text decide (`BACLOFEN INTRATHECAL`, `GEL`,
`2 PUFFS TWICE DAILY`); where they say nothing, the route stays unknown.
"""

from __future__ import annotations

import re

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# Routes whose doses reach the blood whole, or nearly: an oral, injected, sublingual or rectal
# milligram is one scale (the reference's doses differ little between them).
SYSTEMIC = "systemic"
GROUPS: dict[str, tuple[str, ...]] = {
    SYSTEMIC: ("002", "013", "030", "040", "041", "042", "048", "051", "054", "058", "060"),
    "skin": ("003", "044", "046", "061"),  # cutaneous, iontophoresis, occlusive dressing, topical
    "transdermal": ("062",),
    "inhaled": ("007", "039", "055"),  # endotracheal, intratracheal, respiratory (inhalation)
    "nasal": ("045",),
    "eye": ("021", "031", "047", "056", "057"),
    "ear": ("001",),
    "spinal": ("008", "020", "029", "037"),  # epidural, intracisternal, intrameningeal, intrathecal
    "vaginal": ("005", "015", "019", "067"),  # endocervical, intra-uterine, intracervical, vaginal
}
UNSTATED = ("050", "065")  # "other" and "unknown": the words decide
# Transmammary and transplacental: how a drug reached a breastfed child or a foetus through its
# mother (a parent-child report), not how she took it. The dose is hers, on whatever scale her
# route puts it, so these codes leave the scale to the words too; and the patient's age and sex
# are the child's, not those of the product's users (`jobs.gold`).
THROUGH_PARENT = ("063", "064")
# Any other code (intra-articular, intraperitoneal, dental, …) is a group of its own.
_GROUP_OF_CODE = {code: group for group, codes in GROUPS.items() for code in codes}

# Words that name a route, by group: stems match any ending (INHALATION, INHALED), the rest
# only whole. GEL is whole: not GELATIN, and not the LIQUI-GEL capsules taken by mouth. The
# first such word decides, so a product's own words come before its dosage text's
# (`KLACID FOR ORAL SUSPENSION`, "TOOK WITH ICE CREAM").
WORDS: dict[str, tuple[str, ...]] = {
    SYSTEMIC: ("ORAL", "ORALLY", "TABLET*", "CAPSULE*", "CAPLET*", "SYRUP*", "INJECT*", "INFUSION*",
               "INTRAVENOUS*", "INTRAMUSCULAR*", "SUBCUTANEOUS*", "SUBLINGUAL*", "SUPPOSITOR*"),
    "spinal": ("INTRATHECAL*", "EPIDURAL*", "INTRASPINAL"),
    "eye": ("OPHTHALMIC", "EYE DROP*", "INTRAVITREAL", "INTRAOCULAR"),
    "ear": ("OTIC", "EAR DROP*"),
    "nasal": ("NASAL*", "INTRANASAL*"),
    "inhaled": ("INHAL*", "NEBULI*", "PUFF*"),
    "transdermal": ("TRANSDERMAL*", "PATCH*", "TTS"),
    "skin": ("TOPICAL*", "CUTANEOUS", "GEL", "EMULGEL", "CREAM*", "OINTMENT*", "LOTION*"),
    "vaginal": ("VAGINAL*", "PESSAR*", "INTRAUTERINE"),
}


def _word_pattern(word: str) -> str:
    return word[:-1] + r"\w*" if word.endswith("*") else word


# A word starts after neither a letter, a digit nor a hyphen (LIQUI-GEL), and not after ICE
# (real reports name ICE CREAM, which is food); `\b` ends it. The lookahead for a word's first
# letter lets most positions fail at once: 30% less time over 474,378 generated drugs.
_FIRST_LETTERS = "".join(sorted({w[0] for ws in WORDS.values() for w in ws}))
_ANY_WORD = (rf"(?=[{_FIRST_LETTERS}])(?<![-\w])(?<!ICE )("
             + "|".join(_word_pattern(w) for ws in WORDS.values() for w in ws) + r")\b")


def group_of_code(code: str | None) -> str | None:
    """The group of an E2B route code; None where it says nothing of the dose's scale (missing,
    050, 065, 063 and 064, no code)."""
    code = (code or "").strip()
    if not re.fullmatch(r"[0-9]{3}", code) or code in UNSTATED + THROUGH_PARENT:
        return None
    return _GROUP_OF_CODE.get(code, code)


def with_group(df: DataFrame, name: str, route: str, *texts: str) -> DataFrame:
    """Adds column `name`: `group_of_code` of the `route` column where it holds a code that says
    something; else the group of the first route word in the route's own text (a sender who
    wrote "ORAL") and the `texts` columns; else null. In two steps, so that the word is read
    once (in one expression, each test of it read it again)."""
    code = F.trim(F.col(route))
    stated = code.rlike(r"^[0-9]{3}$") & ~code.isin(*UNSTATED, *THROUGH_PARENT)
    by_code = F.create_map(*[F.lit(x) for kv in _GROUP_OF_CODE.items() for x in kv])
    word_col = f"_{name}_word"
    word = F.col(word_col)
    by_word = F.when(word == "", F.lit(None).cast("string"))
    for group, words in WORDS.items():
        for w in words:
            by_word = by_word.when(word.startswith(w[:-1]) if w.endswith("*") else word == w, group)
    text = F.upper(F.concat_ws(" ", code, *[F.col(t) for t in texts]))
    return (df.withColumn(word_col, F.when(~F.coalesce(stated, F.lit(False)),
                                           F.regexp_extract(text, _ANY_WORD, 1)))
            .withColumn(name, F.when(stated, F.coalesce(by_code[code], code)).otherwise(by_word))
            .drop(word_col))

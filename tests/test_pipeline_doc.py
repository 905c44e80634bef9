"""docs/PIPELINE.md lists every validation rule, so that the page senders read cannot drift
from the rules silver applies."""

import re

from jobs import silver_rules
from jobs.settings import PROJECT_ROOT


def test_every_rule_is_listed_once_in_the_input_contract():
    text = (PROJECT_ROOT / "docs" / "PIPELINE.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.MULTILINE)
    assert sorted(listed) == sorted(rule.name for rule in silver_rules.RULES)

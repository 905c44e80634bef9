"""Every Bicep file parses; broken syntax is reported with its place."""

from pathlib import Path

import pytest
from offline_checks.bicep import validate_bicepparam_file
from offline_checks.bicep_parse import parse_bicep
from offline_checks.shared import BICEP_ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "bicep"
BICEP_FILES = sorted(BICEP_ROOT.rglob("*.bicep"))
PARAM_FILES = sorted(BICEP_ROOT.rglob("*.bicepparam"))


def _name(path: Path) -> str:
    return str(path.relative_to(BICEP_ROOT))


def test_the_template_and_its_parameter_files_are_there():
    names = {_name(path) for path in BICEP_FILES + PARAM_FILES}
    assert {"main.bicep", "main.dev.bicepparam", "main.prod.bicepparam"} <= names
    assert any(name.startswith("modules/") for name in names)


@pytest.mark.parametrize("path", BICEP_FILES, ids=_name)
def test_bicep_file_parses(path):
    assert parse_bicep(path).syntax_errors == []


@pytest.mark.parametrize("path", PARAM_FILES, ids=_name)
def test_parameter_file_parses_and_fits_its_template(path):
    assert validate_bicepparam_file(path) == []


def test_unclosed_object_is_a_syntax_error():
    errors = parse_bicep(FIXTURES / "syntax_error.bicep").syntax_errors
    assert errors and "syntax error" in errors[0]
    assert "syntax_error.bicep:2:" in errors[0]


def test_unterminated_string_in_a_parameter_file_is_a_syntax_error():
    problems = validate_bicepparam_file(FIXTURES / "modules" / "syntax_error.bicepparam")
    assert problems and "syntax error" in problems[0]


def test_parameter_file_that_does_not_fit_its_template_is_reported():
    problems = "\n".join(validate_bicepparam_file(FIXTURES / "modules" / "broken.bicepparam"))
    assert "sets param 'colour', which child.bicep does not declare" in problems
    assert "param 'tier': 'Gold' is not one of the @allowed values" in problems
    assert "param 'count': 0 breaks @minValue(1)" in problems
    assert "does not set 'name', which child.bicep requires" in problems


def test_parameter_file_may_declare_variables():
    assert validate_bicepparam_file(FIXTURES / "modules" / "good.bicepparam") == []


def test_parameter_file_must_use_an_existing_template():
    problems = validate_bicepparam_file(FIXTURES / "modules" / "missing_template.bicepparam")
    assert problems == [
        f"{FIXTURES / 'modules' / 'missing_template.bicepparam'}: "
        "`using 'nowhere.bicep'` names a file that does not exist"
    ]

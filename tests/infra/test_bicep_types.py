"""Every resource's Type@apiVersion and written property exists in the published Azure types;
modules are called with the parameters they declare."""

from pathlib import Path

import pytest
from offline_checks.bicep import validate_bicep_file, validate_bicep_tree
from offline_checks.shared import BICEP_ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "bicep"
BICEP_FILES = sorted(BICEP_ROOT.rglob("*.bicep"))


def _problems(name: str, azure_types) -> str:
    return "\n".join(validate_bicep_file(FIXTURES / name, azure_types))


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(BICEP_ROOT)))
def test_resources_match_the_azure_types(path, azure_types):
    assert validate_bicep_file(path, azure_types) == []


def test_misspelled_property_is_reported(azure_types):
    problems = _problems("misspelled_property.bicep", azure_types)
    assert (
        "misspelled_property.bicep:9: resource namespace 'Microsoft.EventHub/namespaces"
        "@2024-01-01': namespace.properties.disableLocalAuthh: unknown property "
        "(did you mean 'disableLocalAuth'?)"
    ) in problems


def test_misspelled_property_deep_inside_an_object_is_reported(azure_types):
    problems = _problems("misspelled_property.bicep", azure_types)
    assert (
        "hub.properties.captureDescription.destination.properties.blobContainr: unknown property"
    ) in problems


def test_unpublished_api_version_is_reported(azure_types):
    problems = _problems("unknown_api_version.bicep", azure_types)
    assert "API version 2099-01-01 of microsoft.eventhub is not in the schemas" in problems


def test_unknown_resource_type_is_reported(azure_types):
    problems = _problems("unknown_api_version.bicep", azure_types)
    assert "resource type Microsoft.KeyVault/vault does not exist in API version 2023-07-01" in (problems)


@pytest.mark.parametrize(
    "expected",
    [
        "account.properties.primaryEndpoints: property is read-only",
        "account: required property 'sku' is missing",
        "resource container: its parent is a 'Microsoft.Storage/storageAccounts/blobServices', "
        "so its type must be the full name",
        "resource hub: its parent is a 'Microsoft.Storage/storageAccounts'",
        "publicContainer.properties.publicAccess: 'Everyone' is not allowed "
        "(expected 'Blob', 'Container', 'None')",
        "an existing resource takes only name, parent and scope, not location",
    ],
)
def test_structural_mistakes_are_reported(expected, azure_types):
    assert expected in _problems("wrong_shapes.bicep", azure_types)


@pytest.mark.parametrize(
    "expected",
    [
        "module child: passes 'nmae', which child.bicep does not declare",
        "module child: does not pass 'name', which child.bicep requires",
        "module child: param 'tier': 'Gold' is not one of the @allowed values",
        "module child: param 'count': 100 breaks @maxValue(32)",
        "main.bicep:15: child.bicep has no output 'endpoit'",
        "module missing: 'does-not-exist.bicep' does not exist",
    ],
)
def test_module_calls_that_do_not_fit_the_module_are_reported(expected, azure_types):
    assert expected in _problems("modules/main.bicep", azure_types)


def test_a_syntax_error_stops_the_other_checks(azure_types):
    problems = validate_bicep_file(FIXTURES / "syntax_error.bicep", azure_types)
    assert problems and all("syntax error" in problem for problem in problems)


def test_the_whole_tree_in_one_call(azure_types):
    assert validate_bicep_tree(BICEP_ROOT, azure_types.root) == []


def test_discriminated_objects_are_checked_by_their_kind(azure_types):
    problems = _problems("discriminated.bicep", azure_types)
    assert "group.properties.policies[0].rateLimitTreshold: unknown property" in problems
    assert (
        "group.properties.policies[1].type: unknown value 'QuotaPolicy' (known: ThrottlingPolicy)" in problems
    )
    assert "policies[0].rateLimitThreshold" not in problems

"""The platform's security rules hold for infra/bicep, and each one catches its setting
turned off."""

from pathlib import Path

import pytest
from offline_checks.bicep_parse import parse_bicep
from offline_checks.bicep_rules import RULES
from offline_checks.shared import BICEP_ROOT

SECURITY_OFF = Path(__file__).parent / "fixtures" / "bicep" / "security_off.bicep"

# What each rule must say about the fixture with every setting turned off.
EXPECTED_ON_FIXTURE = {
    "eventhubs_local_auth_disabled": "namespace.properties.disableLocalAuth must be true",
    "eventhubs_tls_1_2": "namespace.properties.minimumTlsVersion must be '1.2', not '1.0'",
    "storage_tls_1_2": "account.properties.minimumTlsVersion must be 'TLS1_2', not 'TLS1_0'",
    "storage_https_only": "account.properties.supportsHttpsTrafficOnly must be true",
    "storage_no_shared_key": "account.properties.allowSharedKeyAccess must be false, not true",
    "storage_no_public_blob_access": "account.properties.allowBlobPublicAccess must be false",
    "storage_hierarchical_namespace": "account.properties.isHnsEnabled must be true, not false",
    "sql_tls_1_2": "server.properties.minimalTlsVersion must be '1.2', not '1.0'",
    "sql_entra_only_auth": "azureADOnlyAuthentication must be true",
    "keyvault_rbac": "vault.properties.enableRbacAuthorization must be true, not false",
    "keyvault_soft_delete": "vault.properties.enableSoftDelete must be true, not false",
    "keyvault_purge_protection": "vault.properties.enablePurgeProtection must be true",
    "diagnostics_eventhubs": "namespace has no diagnostic setting",
    "diagnostics_sql_database": "database has no diagnostic setting",
    "diagnostics_keyvault": "vault has no diagnostic setting",
    "role_connector_storage_blob_data_contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "role_connector_eventhubs_data_receiver": "a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
    "role_generator_eventhubs_data_sender": "2b629674-e913-4c01-ae53-ef4638d8f975",
    "role_assignment_names_are_guids": "ownerAssignment.name must be guid(...)",
    "databricks_premium": "workspace.sku.name must be 'premium', not 'standard'",
}


@pytest.fixture(scope="module")
def repo_files():
    return [parse_bicep(path) for path in sorted(BICEP_ROOT.rglob("*.bicep"))]


@pytest.fixture(scope="module")
def fixture_files():
    return [parse_bicep(SECURITY_OFF)]


def test_every_rule_has_a_broken_case():
    assert {rule.name for rule in RULES} == set(EXPECTED_ON_FIXTURE)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rule_holds_for_the_deployment(rule, repo_files):
    assert rule.check(repo_files) == [], rule.reason


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rule_catches_its_setting_turned_off(rule, fixture_files):
    problems = "\n".join(rule.check(fixture_files))
    assert EXPECTED_ON_FIXTURE[rule.name] in problems


def test_sql_logins_are_reported(fixture_files):
    rule = next(rule for rule in RULES if rule.name == "sql_entra_only_auth")
    problems = "\n".join(rule.check(fixture_files))
    assert "administratorLoginPassword must not be set" in problems


def test_a_rule_fails_when_its_resource_is_missing():
    rule = next(rule for rule in RULES if rule.name == "databricks_premium")
    assert rule.check([]) == ["no Microsoft.Databricks/workspaces is declared"]

"""main.bicep offers what the deployment steps (docs/DEPLOY.md) and the jobs rely on."""

import pytest
from offline_checks.bicep_parse import Arr, parse_bicep, parse_bicepparam
from offline_checks.shared import BICEP_ROOT

MAIN = BICEP_ROOT / "main.bicep"


@pytest.fixture(scope="module")
def main():
    return parse_bicep(MAIN)


@pytest.mark.parametrize(
    "output",
    [
        "eventHubsNamespaceFqdn",
        "eventHubNames",
        "storageDfsEndpoint",
        "storageBlobEndpoint",
        "sqlServerFqdn",
        "sqlDatabaseName",
        "databricksWorkspaceUrl",
        "generatorIdentityClientId",
        "keyVaultUri",
    ],
)
def test_main_outputs(main, output):
    assert output in main.outputs


def test_adverse_events_hub_is_the_default(main):
    assert main.params["eventHubNames"].default == ["adverse-events"]


def test_event_hubs_is_standard_by_default_and_premium_on_request(main):
    param = main.params["eventHubsSku"]
    assert param.default == "Standard"
    assert list(param.decorators["allowed"][0]) == ["Standard", "Premium"]


def test_sql_database_is_serverless_general_purpose_by_default(main):
    assert main.params["sqlDatabaseSkuName"].default == "GP_S_Gen5"
    assert main.params["sqlDatabaseSkuTier"].default == "GeneralPurpose"


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_each_environment_has_a_parameter_file(environment):
    parsed = parse_bicepparam(BICEP_ROOT / f"main.{environment}.bicepparam")
    assert parsed.using == "main.bicep"
    assert parsed.variables["environmentName"] == environment
    assert isinstance(parsed.variables["eventHubNames"], Arr)

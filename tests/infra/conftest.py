"""Fixtures for the offline checks of deployment assets (Bicep now, the Databricks bundle next)."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# The checks are a package beside the tests; make it importable whatever pytest's import mode.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from offline_checks.azure_types import AzureTypes  # noqa: E402
from offline_checks.shared import missing_reason, shared_path  # noqa: E402


def require_shared(relative: str) -> Path:
    reason = missing_reason(relative)
    if reason:
        pytest.skip(reason)
    return shared_path(relative)


@pytest.fixture(scope="session")
def azure_types() -> AzureTypes:
    return AzureTypes(require_shared("schemas/azure-types"))


@pytest.fixture(scope="session")
def bundle_schema_path() -> Path:
    return require_shared("schemas/databricks-bundle/jsonschema.json")

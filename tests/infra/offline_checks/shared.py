"""Where the published schemas live: `$VIGIL_SHARED`, by default `<repo root>/../shared`.

They are not copied into the repository; on a machine without them, the tests that need them
skip and say what is missing and where it is published.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BICEP_ROOT = REPO_ROOT / "infra" / "bicep"

# Path under the shared folder -> where it is published.
PUBLISHED = {
    "schemas/azure-types": (
        "Azure/bicep-types-az, folder generated/ (https://github.com/Azure/bicep-types-az)"
    ),
    "schemas/databricks-bundle/jsonschema.json": (
        "databricks/cli, file bundle/schema/jsonschema.json (https://github.com/databricks/cli),"
        " or `databricks bundle schema`"
    ),
}


def shared_root() -> Path:
    return Path(os.environ.get("VIGIL_SHARED", REPO_ROOT.parent / "shared"))


def shared_path(relative: str) -> Path:
    return shared_root() / relative


def missing_reason(relative: str) -> str | None:
    """Why a shared file cannot be used, or None when it is there."""
    path = shared_path(relative)
    if path.exists():
        return None
    source = PUBLISHED.get(relative, "the project's shared folder")
    return f"{path} is missing: set VIGIL_SHARED to a folder holding {relative}, published in {source}"

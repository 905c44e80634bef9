"""Vigil's security rules for its Azure resources, checked on parsed Bicep.

Rules are data: a name, the reason it exists, and a check over all parsed files that returns
problems. Security settings must be literals in the template (not parameters), so that no
parameter file can switch them off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .bicep_parse import Arr, BicepFile, Expr, Obj, Resource, identifiers_in

EVENT_HUBS = "Microsoft.EventHub/namespaces"
STORAGE = "Microsoft.Storage/storageAccounts"
SQL_SERVER = "Microsoft.Sql/servers"
SQL_DATABASE = "Microsoft.Sql/servers/databases"
SQL_ENTRA_ONLY = "Microsoft.Sql/servers/azureADOnlyAuthentications"
KEY_VAULT = "Microsoft.KeyVault/vaults"
DATABRICKS = "Microsoft.Databricks/workspaces"
DIAGNOSTICS = "Microsoft.Insights/diagnosticSettings"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

# Built-in role definition ids; the same in every tenant.
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
EVENT_HUBS_DATA_RECEIVER = "a638d3c7-ab3a-418d-83e6-5f17a39d4fde"
EVENT_HUBS_DATA_SENDER = "2b629674-e913-4c01-ae53-ef4638d8f975"

_ABSENT = object()


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str
    check: Callable[[list[BicepFile]], list[str]]


def check_rules(files: list[BicepFile]) -> dict[str, list[str]]:
    """Each rule's problems over the files (an empty list: the rule holds)."""
    return {rule.name: rule.check(files) for rule in RULES}


def declared(files: list[BicepFile], type_name: str) -> Iterator[tuple[BicepFile, Resource]]:
    """Resources of a type that the files create (not `existing` references)."""
    for parsed in files:
        for resource in parsed.resources:
            if resource.type_name.lower() == type_name.lower() and not resource.existing:
                yield parsed, resource


def setting(name: str, type_name: str, path: str, expected, reason: str) -> Rule:
    """Every declared `type_name` sets `path` to the literal `expected`."""

    def check(files: list[BicepFile]) -> list[str]:
        found = list(declared(files, type_name))
        if not found:
            return [f"no {type_name} is declared"]
        problems = []
        for parsed, resource in found:
            actual = _get(resource.body, path)
            if type(actual) is not type(expected) or actual != expected:
                problems.append(
                    f"{parsed.path}:{resource.line}: {resource.symbol}.{path} must be "
                    f"{_show(expected)}, not {_show(actual)}"
                )
        return problems

    return Rule(name, reason, check)


def diagnostics(name: str, type_name: str) -> Rule:
    """Every declared `type_name` has a diagnostic setting sending enabled logs to Log Analytics."""

    def check(files: list[BicepFile]) -> list[str]:
        found = list(declared(files, type_name))
        if not found:
            return [f"no {type_name} is declared"]
        return [
            f"{parsed.path}:{resource.line}: {resource.symbol} has no diagnostic setting "
            "with enabled logs sent to a Log Analytics workspace"
            for parsed, resource in found
            if not any(_sends_logs(diag, resource.symbol) for _, diag in declared([parsed], DIAGNOSTICS))
        ]

    return Rule(name, f"{type_name} logs must reach Log Analytics", check)


def role(name: str, role_id: str, scope_type: str, principal: str, reason: str) -> Rule:
    """A role assignment gives `role_id` on a `scope_type` to a service principal whose id
    expression names `principal` (for example `generatorPrincipalId`)."""

    def check(files: list[BicepFile]) -> list[str]:
        for parsed, assignment in declared(files, ROLE_ASSIGNMENT):
            body = assignment.body
            target = parsed.resource(_symbol(body.get("scope")) or "")
            props = body.get("properties")
            if target is None or target.type_name.lower() != scope_type.lower():
                continue
            if not isinstance(props, Obj) or props.get("principalType") != "ServicePrincipal":
                continue
            principal_id = props.get("principalId")
            if (
                role_id in _mentions(parsed, props.get("roleDefinitionId"))
                and isinstance(principal_id, Expr)
                and principal.lower() in principal_id.text.lower()
            ):
                return []
        return [f"no role assignment gives role {role_id} on a {scope_type} to the {principal}"]

    return Rule(name, reason, check)


def _sql_entra_only(files: list[BicepFile]) -> list[str]:
    found = list(declared(files, SQL_SERVER))
    if not found:
        return [f"no {SQL_SERVER} is declared"]
    problems = []
    for parsed, server in found:
        where = f"{parsed.path}:{server.line}: {server.symbol}"
        admins = _get(server.body, "properties.administrators")
        if _get(admins, "administratorType") != "ActiveDirectory":
            problems.append(f"{where}.properties.administrators.administratorType must be 'ActiveDirectory'")
        if _get(admins, "azureADOnlyAuthentication") is not True:
            problems.append(f"{where}.properties.administrators.azureADOnlyAuthentication must be true")
        for key in ("administratorLogin", "administratorLoginPassword"):
            if _get(server.body, f"properties.{key}") is not _ABSENT:
                problems.append(f"{where}.properties.{key} must not be set (no SQL logins)")
    for parsed, resource in declared(files, SQL_ENTRA_ONLY):
        if _get(resource.body, "properties.azureADOnlyAuthentication") is not True:
            problems.append(
                f"{parsed.path}:{resource.line}: {resource.symbol} turns Entra-only authentication off"
            )
    return problems


def _role_assignment_names(files: list[BicepFile]) -> list[str]:
    return [
        f"{parsed.path}:{assignment.line}: {assignment.symbol}.name must be guid(...) of its "
        "scope, principal and role, so that redeploying finds the same assignment"
        for parsed, assignment in declared(files, ROLE_ASSIGNMENT)
        if not (isinstance(name := _get(assignment.body, "name"), Expr) and name.text.startswith("guid("))
    ]


def _sends_logs(diagnostic: Resource, symbol: str) -> bool:
    body = diagnostic.body
    if _symbol(_get(body, "scope")) != symbol or _get(body, "properties.workspaceId") in (_ABSENT, None, ""):
        return False
    logs = _get(body, "properties.logs")
    return isinstance(logs, Arr) and any(_get(log, "enabled") is True for log in logs)


def _get(value, path: str):
    for key in path.split("."):
        if not isinstance(value, Obj) or key not in value:
            return _ABSENT
        value = value[key]
    return value


def _symbol(value) -> str | None:
    if isinstance(value, Expr) and value.node.type == "identifier":
        return value.text
    return None


def _mentions(parsed: BicepFile, value) -> str:
    """The text of a value, with the variables it refers to spelled out (one level deep)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Expr):
        return ""
    texts = [value.text]
    for name in identifiers_in(value.node):
        if name in parsed.variables:
            texts.append(_flatten(parsed.variables[name]))
    return " ".join(texts)


def _flatten(value) -> str:
    if isinstance(value, Obj):
        return " ".join(_flatten(v) for v in value.values())
    if isinstance(value, Arr):
        return " ".join(_flatten(v) for v in value)
    return value.text if isinstance(value, Expr) else str(value)


def _show(value) -> str:
    if value is _ABSENT:
        return "unset"
    if isinstance(value, Expr):
        return f"the expression `{value.text}`"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


RULES = [
    setting(
        "eventhubs_local_auth_disabled",
        EVENT_HUBS,
        "properties.disableLocalAuth",
        True,
        "Event Hubs clients authenticate with Entra ID; SAS keys are switched off",
    ),
    setting(
        "eventhubs_tls_1_2",
        EVENT_HUBS,
        "properties.minimumTlsVersion",
        "1.2",
        "Event Hubs accepts TLS 1.2 or later only",
    ),
    setting(
        "storage_tls_1_2",
        STORAGE,
        "properties.minimumTlsVersion",
        "TLS1_2",
        "storage accepts TLS 1.2 or later only",
    ),
    setting(
        "storage_https_only",
        STORAGE,
        "properties.supportsHttpsTrafficOnly",
        True,
        "storage refuses plain HTTP",
    ),
    setting(
        "storage_no_shared_key",
        STORAGE,
        "properties.allowSharedKeyAccess",
        False,
        "storage account keys cannot be used; access is by Entra identity",
    ),
    setting(
        "storage_no_public_blob_access",
        STORAGE,
        "properties.allowBlobPublicAccess",
        False,
        "no container can be made anonymously readable",
    ),
    setting(
        "storage_hierarchical_namespace",
        STORAGE,
        "properties.isHnsEnabled",
        True,
        "the lakehouse needs ADLS Gen2 (hierarchical namespace)",
    ),
    setting(
        "sql_tls_1_2",
        SQL_SERVER,
        "properties.minimalTlsVersion",
        "1.2",
        "Azure SQL accepts TLS 1.2 or later only",
    ),
    Rule("sql_entra_only_auth", "Azure SQL accepts Entra ID sign-ins only, no SQL logins", _sql_entra_only),
    setting(
        "keyvault_rbac",
        KEY_VAULT,
        "properties.enableRbacAuthorization",
        True,
        "Key Vault access is granted by Azure RBAC, not access policies",
    ),
    setting(
        "keyvault_soft_delete",
        KEY_VAULT,
        "properties.enableSoftDelete",
        True,
        "deleted secrets can be recovered",
    ),
    setting(
        "keyvault_purge_protection",
        KEY_VAULT,
        "properties.enablePurgeProtection",
        True,
        "a deleted vault cannot be purged before its retention ends",
    ),
    diagnostics("diagnostics_eventhubs", EVENT_HUBS),
    diagnostics("diagnostics_sql_database", SQL_DATABASE),
    diagnostics("diagnostics_keyvault", KEY_VAULT),
    role(
        "role_connector_storage_blob_data_contributor",
        STORAGE_BLOB_DATA_CONTRIBUTOR,
        STORAGE,
        "connector",
        "Unity Catalog reaches ADLS through the Databricks access connector",
    ),
    role(
        "role_connector_eventhubs_data_receiver",
        EVENT_HUBS_DATA_RECEIVER,
        EVENT_HUBS,
        "connector",
        "the streaming job reads Event Hubs as the access connector",
    ),
    role(
        "role_generator_eventhubs_data_sender",
        EVENT_HUBS_DATA_SENDER,
        EVENT_HUBS,
        "generator",
        "the generator sends to Event Hubs with its own identity",
    ),
    Rule(
        "role_assignment_names_are_guids",
        "role assignment names are deterministic, so redeploys are idempotent",
        _role_assignment_names,
    ),
    setting(
        "databricks_premium",
        DATABRICKS,
        "sku.name",
        "premium",
        "Unity Catalog and access control need the Premium tier",
    ),
]

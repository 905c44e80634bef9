"""Vigil's own Databricks Asset Bundle (databricks.yml and jobs/*.job.yml), checked offline.

It validates against the published bundle schema; its jobs run notebooks that exist, named as the
bundle CLI wants them, with every widget set and none misspelled; and it has the shape the platform
needs: a continuous streaming job, a serving load every 15 minutes, retries and failure e-mails
from variables, job clusters that run the azure profile, and no secret in the configuration.
Broken copies of the real bundle show that the checks fail when they should.
"""

import ast
import re
import shutil
from pathlib import Path

import pytest
from offline_checks.bundle import (
    Bundle,
    find_notebook,
    load_bundle,
    validate_bundle,
    widgets_defined,
    widgets_read,
)
from offline_checks.shared import REPO_ROOT

# job -> task -> the notebook it runs
EXPECTED_TASKS = {
    "vigil_streaming": {"bronze": "01_bronze.ipynb", "silver": "02_silver.ipynb", "gold": "03_gold.ipynb"},
    "vigil_serving_load": {"serving_load": "05_serving_load.ipynb"},
    "vigil_signals": {"signals": "04_signals.ipynb"},
    "vigil_realtime": {"realtime": "06_realtime.ipynb"},
}
# Notebooks that are not pipeline stages, and so need no job.
NOT_STAGES = {"00_platform_check.ipynb"}
# The CLI wants a local notebook path with its extension (and strips it on deploy).
NOTEBOOK_EXTENSIONS = (".ipynb", ".py", ".sql", ".scala", ".r")
UNITY_CATALOG_MODES = {
    "SINGLE_USER", "USER_ISOLATION", "DATA_SECURITY_MODE_DEDICATED", "DATA_SECURITY_MODE_STANDARD"
}
VAR_REFERENCE = re.compile(r"\$\{var\.([A-Za-z][\w-]*)\}")
SECRET_REFERENCE = re.compile(r"\{\{secrets/(?:\$\{var\.[\w-]+\}|[\w.-]+)/[\w.-]+\}\}")


def bundle_files(root: Path) -> list[Path]:
    return [root / "databricks.yml", *sorted((root / "jobs").glob("*.job.yml"))]


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    loaded, problems = load_bundle(REPO_ROOT)
    assert problems == []
    return loaded


def default(bundle: Bundle, variable: str):
    return bundle.config["variables"][variable].get("default")


def notebook_tasks(bundle: Bundle):
    """(job name, task, the notebook file it names) for every notebook task."""
    for name, job in bundle.jobs().items():
        origin = bundle.origin("resources", "jobs", name)
        for task in job["tasks"]:
            yield name, task, origin.parent / task["notebook_task"]["notebook_path"]


def unset_or_unknown_widgets(bundle: Bundle) -> list[str]:
    """Widgets a notebook reads that its task does not set, and parameters it sets that the
    notebook never defines (a misspelled name would leave the notebook on its local default)."""
    problems = []
    for name, task, path in notebook_tasks(bundle):
        notebook = find_notebook(path)
        given = set(task["notebook_task"].get("base_parameters") or {})
        given |= {p["name"] for p in bundle.jobs()[name].get("parameters") or []}
        where = f"{name}.{task['task_key']}"
        problems += [f"{where}: widget '{w}' is not set" for w in sorted(widgets_read(notebook) - given)]
        problems += [f"{where}: '{p}' is not a widget of {notebook.name}"
                     for p in sorted(given - widgets_defined(notebook))]
    return problems


# --- the real bundle -----------------------------------------------------------------------------


def test_bundle_validates(bundle_schema_path):
    assert validate_bundle(REPO_ROOT, bundle_schema_path) == []


def test_jobs_run_the_stage_notebooks(bundle):
    tasks = {name: {} for name in bundle.jobs()}
    for name, task, path in notebook_tasks(bundle):
        tasks[name][task["task_key"]] = path.name
    assert tasks == EXPECTED_TASKS


def test_every_stage_notebook_has_a_job(bundle):
    run = {path.name for _, _, path in notebook_tasks(bundle)}
    stages = {p.name for p in (REPO_ROOT / "notebooks").glob("*.ipynb")} - NOT_STAGES
    assert stages - run == set(), "a stage notebook that no job in jobs/*.job.yml runs"


def test_notebook_paths_are_files_with_their_extension(bundle):
    for name, task, path in notebook_tasks(bundle):
        assert not task["notebook_task"].get("source"), "notebooks come from the bundle, not Git"
        assert path.suffix in NOTEBOOK_EXTENSIONS, f"{name}.{task['task_key']}: {path.name} has no extension"
        assert path.is_file(), f"{name}.{task['task_key']}: {path} does not exist"


def test_every_widget_is_set_and_every_parameter_is_a_widget(bundle):
    assert unset_or_unknown_widgets(bundle) == []


def test_stage_tasks_set_every_pipeline_widget(bundle):
    # The stage notebooks pass all their widgets (getAll) to jobs.pipeline.run_stage, whose local
    # defaults are WIDGET_DEFAULTS; read it from the source, without importing pyspark.
    tree = ast.parse((REPO_ROOT / "jobs" / "pipeline.py").read_text(encoding="utf-8"))
    widget_defaults = next(
        ast.literal_eval(node.value) for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "WIDGET_DEFAULTS"
    )
    for _, task, path in notebook_tasks(bundle):
        if path.name in {*EXPECTED_TASKS["vigil_streaming"].values(), "06_realtime.ipynb"}:
            assert widgets_read(path) == set(widget_defaults)
            assert set(task["notebook_task"]["base_parameters"]) == set(widget_defaults)


def test_realtime_job_is_the_paused_alternative_to_the_streaming_job(bundle):
    """Both write the same tables: the realtime job is deployed paused, to switch to."""
    job = bundle.jobs()["vigil_realtime"]
    assert job["continuous"] == {"pause_status": "PAUSED", "task_retry_mode": "ON_FAILURE"}
    assert job["max_concurrent_runs"] == 1


def test_streaming_clusters_generate_code_as_the_local_session_does(bundle):
    """The local session's codegen cache size and method limit (jobs/runtime.py), on the
    streaming clusters too."""
    from jobs.runtime import CODEGEN_CACHE_ENTRIES, CODEGEN_HUGE_METHOD_LIMIT

    for name in ("vigil_streaming", "vigil_realtime"):
        for cluster in bundle.jobs()[name]["job_clusters"]:
            conf = cluster["new_cluster"].get("spark_conf") or {}
            assert conf.get("spark.sql.codegen.cache.maxEntries") == CODEGEN_CACHE_ENTRIES, name
            assert conf.get("spark.sql.codegen.hugeMethodLimit") == CODEGEN_HUGE_METHOD_LIMIT, name


def test_streaming_job_is_continuous_and_streams_from_event_hubs(bundle):
    job = bundle.jobs()["vigil_streaming"]
    assert job["continuous"] == {"pause_status": "UNPAUSED", "task_retry_mode": "ON_FAILURE"}
    assert "schedule" not in job and "trigger" not in job
    assert job["max_concurrent_runs"] == 1
    # Continuous jobs allow neither task dependencies nor per-task retry policies.
    for task in job["tasks"]:
        assert "depends_on" not in task and "max_retries" not in task
    assert len({task["job_cluster_key"] for task in job["tasks"]}) == 1, "the stages share one cluster"
    for task in job["tasks"]:
        parameters = task["notebook_task"]["base_parameters"]
        assert parameters["profile"] == "azure"
        assert parameters["source"] == "kafka"
        assert parameters["topic"] == "adverse-events"
        assert parameters["eventhubs_auth"] == "${var.eventhubs_auth}"
        assert parameters["service_credential"] == "${var.service_credential}"
        assert parameters["secret_scope"] == "${var.secret_scope}"
        trigger = parameters["trigger"]
        if reference := VAR_REFERENCE.fullmatch(trigger):
            trigger = default(bundle, reference.group(1))
        assert re.fullmatch(r"\d+ (second|seconds|minute|minutes)", trigger), "streams never end: an interval"
    assert default(bundle, "eventhubs_auth") == "service_credential"


def test_serving_load_runs_every_15_minutes_one_at_a_time(bundle):
    job = bundle.jobs()["vigil_serving_load"]
    assert job["schedule"] == {"quartz_cron_expression": "${var.serving_load_cron}", "timezone_id": "UTC"}
    assert default(bundle, "serving_load_cron") == "0 0/15 * * * ?"
    assert "continuous" not in job
    assert job["max_concurrent_runs"] == 1


def test_scheduled_tasks_retry_from_a_variable(bundle):
    assert isinstance(default(bundle, "max_retries"), int) and default(bundle, "max_retries") >= 1
    for name, job in bundle.jobs().items():
        if "schedule" in job:
            for task in job["tasks"]:
                assert task["max_retries"] == "${var.max_retries}", f"{name}.{task['task_key']}"


def test_failures_are_emailed_to_addresses_from_a_variable(bundle):
    assert bundle.config["variables"]["notification_emails"]["type"] == "complex"
    for name, job in bundle.jobs().items():
        assert job["email_notifications"]["on_failure"] == "${var.notification_emails}", name


def test_job_clusters_run_the_azure_profile_under_unity_catalog(bundle):
    for name, job in bundle.jobs().items():
        clusters = {c["job_cluster_key"]: c["new_cluster"] for c in job["job_clusters"]}
        for task in job["tasks"]:
            assert task.get("job_cluster_key") in clusters, f"{name}.{task['task_key']}: no job cluster"
        for key, cluster in clusters.items():
            where = f"{name}/{key}"
            assert cluster["data_security_mode"] in UNITY_CATALOG_MODES, where
            assert cluster["spark_version"] == "${var.spark_version}", where
            assert cluster["node_type_id"] == "${var.node_type_id}", where
            assert VAR_REFERENCE.fullmatch(str(cluster["num_workers"])), where
            env = cluster["spark_env_vars"]
            assert env["VIGIL_PROFILE"] == "azure", where
            assert env["VIGIL_EVENTHUB_NAMESPACE"] == "${var.eventhubs_namespace}", where
            assert env["VIGIL_STORAGE_ACCOUNT"] == "${var.storage_account}", where
            assert env["VIGIL_CATALOG"] == "${var.catalog}", where


def test_serving_load_cluster_names_the_sql_database(bundle):
    env = bundle.jobs()["vigil_serving_load"]["job_clusters"][0]["new_cluster"]["spark_env_vars"]
    assert env["VIGIL_SQL_SERVER"] == "${var.sql_server}"
    assert env["VIGIL_SQL_DATABASE"] == "${var.sql_database}"


def test_runtime_runs_the_spark_the_project_pins(bundle):
    assert re.fullmatch(r"17\.\d+\.x-scala2\.13", default(bundle, "spark_version"))
    requirements = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^pyspark==4\.0\.", requirements, re.MULTILINE), "DBR 17.x runs Spark 4.0"


def test_task_libraries_are_pinned_as_in_requirements(bundle):
    lines = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))
    for name, task, _ in notebook_tasks(bundle):
        for library in task.get("libraries") or []:
            package, _, version = library["pypi"]["package"].partition("==")
            assert pins.get(package) == version, f"{name}.{task['task_key']}: {package}=={version}"


def test_every_variable_is_declared_and_used(bundle):
    referenced = set()
    for path in bundle_files(REPO_ROOT):
        referenced |= set(VAR_REFERENCE.findall(path.read_text(encoding="utf-8")))
    declared = set(bundle.config["variables"])
    assert referenced - declared == set(), "referenced but not declared"
    assert declared - referenced == set(), "declared but never used"


def test_no_secret_in_the_configuration(bundle):
    for path in bundle_files(REPO_ROOT):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"SharedAccessKey|AccountKey=|Password=|dapi[0-9a-f]{16}", text, re.I), path
    for name, job in bundle.jobs().items():
        for cluster in job["job_clusters"]:
            for var, value in cluster["new_cluster"].get("spark_env_vars", {}).items():
                if re.search(r"SECRET|PASSWORD|KEY|TOKEN", var):
                    assert SECRET_REFERENCE.fullmatch(value), f"{name}: {var} is not a secret reference"


def test_targets(bundle):
    dev, prod = bundle.config["targets"]["dev"], bundle.config["targets"]["prod"]
    assert dev["mode"] == "development" and dev["default"] is True
    # A development deploy must not start the streaming cluster by itself.
    assert dev["resources"]["jobs"]["vigil_streaming"]["continuous"]["pause_status"] == "PAUSED"
    assert prod["mode"] == "production"
    assert prod["run_as"] == {"service_principal_name": "${var.run_as_service_principal}"}
    assert "default" not in bundle.config["variables"]["run_as_service_principal"], "prod must name it"
    assert prod["workspace"]["root_path"].startswith("/Workspace/Users/"), "not a folder every user can edit"


def test_deployment_outputs_have_no_default(bundle):
    # Values that differ per deployment must be passed in, never guessed.
    for variable in ("eventhubs_namespace", "storage_account", "sql_server", "sql_database"):
        assert "default" not in bundle.config["variables"][variable], variable


# --- broken copies of the real bundle ------------------------------------------------------------


@pytest.fixture
def broken(tmp_path) -> Path:
    """The bundle's configuration and notebooks, copied for a test to break."""
    root = tmp_path / "bundle"
    (root / "jobs").mkdir(parents=True)
    for path in bundle_files(REPO_ROOT):
        shutil.copy(path, root / path.relative_to(REPO_ROOT))
    shutil.copytree(REPO_ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns("artifacts", ".ipynb_checkpoints"))
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_copy_validates(broken, bundle_schema_path):
    assert validate_bundle(broken, bundle_schema_path) == []


def test_renamed_notebook_is_reported(broken, bundle_schema_path):
    (broken / "notebooks" / "02_silver.ipynb").rename(broken / "notebooks" / "02_silver_v2.ipynb")
    assert validate_bundle(broken, bundle_schema_path) == [
        f"{broken / 'jobs' / 'vigil_streaming.job.yml'}: job vigil_streaming, task silver: "
        "notebook '../notebooks/02_silver.ipynb' does not exist"
    ]


def test_missing_parameter_is_reported(broken, bundle_schema_path):
    _edit(broken / "jobs" / "vigil_serving_load.job.yml", '              batch_size: "10000"\n', "")
    assert validate_bundle(broken, bundle_schema_path) == [
        f"{broken / 'jobs' / 'vigil_serving_load.job.yml'}: job vigil_serving_load, task serving_load: "
        "05_serving_load.ipynb reads widget 'batch_size', which neither the task's base_parameters "
        "nor the job's parameters set"
    ]


def test_missing_parameter_of_a_getall_notebook_is_reported(broken, bundle_schema_path):
    # The stage notebooks read their widgets through dbutils.widgets.getAll(), not one by one.
    _edit(broken / "jobs" / "vigil_streaming.job.yml", "              trigger: ${var.stream_trigger}\n", "")
    problems = validate_bundle(broken, bundle_schema_path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        f"job vigil_streaming, task {stage}: {stage_notebook} reads widget 'trigger', which neither the "
        "task's base_parameters nor the job's parameters set"
        for stage, stage_notebook in EXPECTED_TASKS["vigil_streaming"].items()
    ]


def test_misspelled_parameter_is_reported(broken):
    _edit(broken / "jobs" / "vigil_streaming.job.yml", "max_offsets_per_trigger:", "max_offset_per_trigger:")
    loaded, _ = load_bundle(broken)
    problems = unset_or_unknown_widgets(loaded)
    assert "vigil_streaming.bronze: widget 'max_offsets_per_trigger' is not set" in problems
    assert "vigil_streaming.bronze: 'max_offset_per_trigger' is not a widget of 01_bronze.ipynb" in problems


def test_misspelled_key_is_reported(broken, bundle_schema_path):
    _edit(broken / "jobs" / "vigil_streaming.job.yml", "task_retry_mode:", "task_retry_mod:")
    problems = "\n".join(validate_bundle(broken, bundle_schema_path))
    assert "resources.jobs.vigil_streaming.continuous: Additional properties are not allowed" in problems
    assert "'task_retry_mod' was unexpected" in problems

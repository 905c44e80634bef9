"""Validate a Databricks Asset Bundle offline: `databricks.yml` merged with its `include:` files,
against the bundle JSON Schema; every notebook task's notebook exists; every widget a notebook
reads is set by its task's `base_parameters` or its job's `parameters`.

Each function returns a list of problems, one line each; an empty list means valid.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonschema
import regex
import yaml
from jsonschema.exceptions import ValidationError

from .shared import shared_path

SCHEMA = "schemas/databricks-bundle/jsonschema.json"
# A notebook may be named with its extension left off, as in the workspace. (The bundle CLI itself
# wants the extension on a local path and strips it on deploy; tests/infra/test_bundle.py holds
# Vigil's own bundle to that.)
NOTEBOOK_SUFFIXES = ("", ".ipynb", ".py", ".sql", ".scala", ".r")
WIDGET_READ = regex.compile(r"""(?:dbutils\.widgets\.get|getArgument)\(\s*["']([^"']+)["']\s*[,)]""")
WIDGET_DEFINED = regex.compile(
    r"""dbutils\.widgets\.(?:text|dropdown|combobox|multiselect)\(\s*(?:name\s*=\s*)?["']([^"']+)["']"""
)
# `getAll()` hands every defined widget's value to the code, so each one counts as read.
WIDGETS_READ_ALL = regex.compile(r"dbutils\.widgets\.getAll\(\s*\)")


@dataclass
class Bundle:
    root: Path
    config: dict = field(default_factory=dict)
    # ("resources", "jobs", "<name>") -> the file that defines it; relative paths start there
    origins: dict[tuple[str, ...], Path] = field(default_factory=dict)

    def origin(self, *key: str) -> Path:
        return self.origins.get(key, self.root / "databricks.yml")

    def jobs(self) -> dict[str, dict]:
        jobs = self.config.get("resources", {}).get("jobs", {})
        return jobs if isinstance(jobs, dict) else {}


def validate_bundle(bundle_root: Path, schema_path: Path | None = None) -> list[str]:
    """All checks on the bundle whose databricks.yml is in `bundle_root`."""
    bundle, problems = load_bundle(bundle_root)
    if bundle is None:
        return problems
    problems += schema_problems(bundle, schema_path or shared_path(SCHEMA))
    problems += job_problems(bundle)
    problems += notebook_problems(bundle)
    return problems


def load_bundle(bundle_root: Path) -> tuple[Bundle | None, list[str]]:
    """databricks.yml with the files its `include:` globs name merged in, as the CLI does."""
    main = next(
        (bundle_root / n for n in ("databricks.yml", "databricks.yaml") if (bundle_root / n).is_file()), None
    )
    if main is None:
        return None, [f"{bundle_root}: no databricks.yml"]
    bundle = Bundle(bundle_root)
    problems = _merge_file(bundle, main)
    includes = bundle.config.get("include") or []
    for pattern in includes if isinstance(includes, list) else []:
        matches = sorted(p for p in bundle_root.glob(str(pattern)) if p.is_file())
        if not matches:
            problems.append(f"{main}: include '{pattern}' matches no file")
        for path in matches:
            problems += _merge_file(bundle, path)
    return bundle, problems


def schema_problems(bundle: Bundle, schema_path: Path) -> list[str]:
    validator = _validator(schema_path)
    problems = []
    for top in validator.iter_errors(bundle.config):
        for error in _leaf_errors(top):
            path = list(error.absolute_path)
            where = bundle.origin(*map(str, path[:3])) if path[:1] == ["resources"] else bundle.origin()
            message = error.message if len(error.message) < 200 else error.message[:200] + "…"
            problems.append(f"{where}: {_dotted(path)}: {message}")
    return sorted(set(problems))


def _leaf_errors(error: ValidationError) -> list[ValidationError]:
    """The errors inside a `oneOf`/`anyOf` error's branch that fits the value.

    Nearly every bundle field is "a value, or a ${var...} reference"; a branch that fails only
    on type or pattern is the one the value did not take, so its errors say nothing useful.
    """
    if not error.context:
        return [error]
    branches = defaultdict(list)
    for inner in error.context:
        branches[inner.relative_schema_path[0]].append(inner)
    fitting = [
        errors
        for errors in branches.values()
        if any(inner.validator not in ("type", "pattern") for inner in errors)
    ]
    if not fitting:
        return [error]  # fits no branch: the oneOf error itself says so
    best = max(fitting, key=lambda errors: max(len(inner.absolute_path) for inner in errors))
    return [leaf for inner in best for leaf in _leaf_errors(inner)]


def job_problems(bundle: Bundle) -> list[str]:
    return [
        f"{bundle.origin('resources', 'jobs', name)}: job {name}: has both `schedule` and "
        "`continuous`; Databricks allows one"
        for name, job in bundle.jobs().items()
        if isinstance(job, dict) and "schedule" in job and "continuous" in job
    ]


def notebook_problems(bundle: Bundle) -> list[str]:
    problems = []
    for name, job in bundle.jobs().items():
        if not isinstance(job, dict):
            continue
        origin = bundle.origin("resources", "jobs", name)
        job_parameters = {p.get("name") for p in job.get("parameters") or [] if isinstance(p, dict)}
        for task in _notebook_tasks(job.get("tasks") or []):
            notebook_task = task["notebook_task"]
            notebook_path = notebook_task.get("notebook_path")
            if not _is_local(notebook_path, notebook_task):
                continue
            where = f"{origin}: job {name}, task {task.get('task_key')}"
            notebook = find_notebook(origin.parent / notebook_path)
            if notebook is None:
                problems.append(f"{where}: notebook '{notebook_path}' does not exist")
                continue
            given = set(notebook_task.get("base_parameters") or {}) | job_parameters
            problems += [
                f"{where}: {notebook.name} reads widget '{widget}', which neither the task's "
                "base_parameters nor the job's parameters set"
                for widget in sorted(widgets_read(notebook) - given)
            ]
    return problems


def find_notebook(path: Path) -> Path | None:
    for suffix in NOTEBOOK_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def widgets_read(notebook: Path) -> set[str]:
    """Names passed to `dbutils.widgets.get("…")` (or `getArgument`) in a notebook's code; with
    `dbutils.widgets.getAll()`, every widget the notebook defines."""
    code = notebook_code(notebook)
    read = set(WIDGET_READ.findall(code))
    if WIDGETS_READ_ALL.search(code):
        read |= widgets_defined(notebook)
    return read


def widgets_defined(notebook: Path) -> set[str]:
    """Names of the widgets a notebook creates (`dbutils.widgets.text("…", …)` and the like)."""
    return set(WIDGET_DEFINED.findall(notebook_code(notebook)))


def notebook_code(notebook: Path) -> str:
    """A notebook's code: a source file as it is, or an .ipynb's code cells joined."""
    text = notebook.read_text(encoding="utf-8")
    if notebook.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        text = "\n".join("".join(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "code")
    return text


def _merge_file(bundle: Bundle, path: Path) -> list[str]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        return [f"{path}: not valid YAML: {error}".splitlines()[0]]
    if not isinstance(document, dict):
        return [f"{path}: the top level must be a mapping"]
    problems = []
    for kind, entries in (document.get("resources") or {}).items():
        for name in entries if isinstance(entries, dict) else {}:
            key = ("resources", kind, name)
            if key in bundle.origins:
                problems.append(f"{path}: {kind} '{name}' is already defined in {bundle.origins[key]}")
            bundle.origins[key] = path
    _deep_merge(bundle.config, document)
    return problems


def _deep_merge(target: dict, source: dict) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


def _notebook_tasks(tasks: list) -> Iterator[dict]:
    for task in tasks:
        if not isinstance(task, dict):
            continue
        if isinstance(task.get("notebook_task"), dict):
            yield task
        inner = (task.get("for_each_task") or {}).get("task")
        if isinstance(inner, dict):
            yield from _notebook_tasks([inner])


def _is_local(notebook_path, notebook_task: dict) -> bool:
    """A path in this repository (not a workspace path, a Git source or a variable)."""
    return (
        isinstance(notebook_path, str)
        and not notebook_path.startswith("/")
        and "${" not in notebook_path
        and notebook_task.get("source", "WORKSPACE") != "GIT"
    )


def _dotted(path: list) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(top level)"


def _regex_pattern(validator, pattern, instance, schema):
    # The bundle schema's patterns use \p{L} and \p{N}, which only the `regex` engine knows.
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _compiled(pattern: str):
    return regex.compile(pattern)


@cache
def _validator(schema_path: Path):
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator_class = jsonschema.validators.extend(base, {"pattern": _regex_pattern})
    return validator_class(schema)

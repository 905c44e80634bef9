"""What a notebook needs from Databricks — `dbutils.widgets` and `display` — with local stand-ins.

On Databricks the notebook's own `dbutils` and `display` are returned. Locally, widgets take
their defaults, overridden by `VIGIL_WIDGET_<NAME>` environment variables the way a job's
parameters override a notebook's defaults on Databricks; `display` prints the rows.
"""

from __future__ import annotations

import os


class InputWidgetNotDefined(KeyError):
    """Raised by `get` for a widget that was never defined, as on Databricks."""


class LocalWidgets:
    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:  # noqa: N803 - Databricks' signature
        self._values[name] = os.environ.get(f"VIGIL_WIDGET_{name.upper()}", defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        self.text(name, defaultValue, label)
        if self._values[name] not in choices:
            raise ValueError(f"widget {name!r}: {self._values[name]!r} is not one of {choices}")

    def get(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise InputWidgetNotDefined(f"no widget named {name!r} is defined") from None

    def getAll(self) -> dict[str, str]:  # noqa: N802 - Databricks' name
        return dict(self._values)

    def removeAll(self) -> None:  # noqa: N802
        self._values.clear()


class LocalDBUtils:
    def __init__(self) -> None:
        self.widgets = LocalWidgets()


def local_display(obj, rows: int = 50) -> None:
    """Print a DataFrame's first rows untruncated; anything else as it prints."""
    show = getattr(obj, "show", None)
    if callable(show):
        show(rows, truncate=False)
    else:
        print(obj)


def _databricks_globals() -> dict:
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


_globals = _databricks_globals()
dbutils = _globals.get("dbutils") or LocalDBUtils()
display = _globals.get("display") or local_display

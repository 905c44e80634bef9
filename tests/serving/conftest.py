"""Fixtures for the serving tests: a fresh data root (Delta tables + DuckDB file) per test."""

from __future__ import annotations

import pytest

from jobs.settings import Settings

from .lake import Lake


@pytest.fixture
def lake_settings(tmp_path) -> Settings:
    return Settings(profile="local", data_root=str(tmp_path / "data"), kafka_bootstrap=None)


@pytest.fixture
def lake(spark, lake_settings) -> Lake:
    return Lake(spark, lake_settings)

"""Signal tests reuse the pipeline tests' hand-made events and per-test data roots."""

from tests.pipeline.conftest import fresh_settings  # noqa: F401 - a fixture

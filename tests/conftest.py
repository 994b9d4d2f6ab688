import jax
import pytest

import jcevns  # noqa: F401  (switches on x64)


def pytest_configure(config):
    assert jax.config.jax_enable_x64, "jcevns must enable float64 on import"


@pytest.fixture(scope="session")
def analyses():
    """Every analysis and preset, built once per test session."""
    return {(name, preset): jcevns.build(name, preset) for name in jcevns.ANALYSES for preset in jcevns.PRESETS}

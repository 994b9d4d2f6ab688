import jax
import pytest

import jcevns  # noqa: F401  (switches on x64)

#: Experiments with the reference presets (calibrated, printed); the others have their own tests.
REFERENCE = tuple(n for n in jcevns.ANALYSES if set(jcevns.PRESETS) <= set(jcevns.experiments.get(n).presets))


def pytest_configure(config):
    assert jax.config.jax_enable_x64, "jcevns must enable float64 on import"


@pytest.fixture(scope="session")
def analyses():
    """Every analysis and preset, built once per test session."""
    return {(name, preset): jcevns.build(name, preset) for name in REFERENCE for preset in jcevns.PRESETS}

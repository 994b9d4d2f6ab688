"""The CsI 2021 profiled scans spread over several devices equal the single-device results.

Simulated CPU devices need ``XLA_FLAGS`` before JAX starts, so each run is a subprocess.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

WORK = textwrap.dedent(
    """
    import sys
    import numpy as np
    import jax
    import jcevns
    from jcevns.experiments import csi2021_fits as fits, csi2021_likelihood as lik
    an = jcevns.build("csi2021")
    bm = lik.binned_model(flux=True)
    pts = np.column_stack([np.linspace(-0.5, 0.9, 37), np.linspace(0.8, -0.5, 37)])  # 37: padding
    v, ok = fits.template_scan(an, bm, ("eps_ee_u", "eps_ee_d"), pts, batch=8)
    assert jax.device_count() == int(sys.argv[2]) and ok.all()
    np.save(sys.argv[1], v)
    """
)


@pytest.mark.slow
def test_csi2021_scan_on_three_devices_equals_one(tmp_path):
    out = {}
    for n in (1, 3):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XLA_FLAGS": f"--xla_force_host_platform_device_count={n}"}
        path = tmp_path / f"{n}.npy"
        proc = subprocess.run([sys.executable, "-c", WORK, str(path), str(n)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out[n] = np.load(path)
    np.testing.assert_allclose(out[3], out[1], rtol=1e-12, atol=1e-12)

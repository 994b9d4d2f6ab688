"""Scans and toys spread over several devices and processes equal the single-device results.

Simulated CPU devices need ``XLA_FLAGS`` before JAX starts, so each check runs in a subprocess.
"""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

#: A small profiled scan and a small toy belt; prints nothing, saves the numbers to argv[1].
WORK = textwrap.dedent(
    """
    import sys
    import numpy as np
    import jax
    {init}
    import jcevns
    from jcevns import toys
    lik = jcevns.likelihood(jcevns.build("csi2017-newqf"))
    grid = {{"sin2w": np.linspace(0.15, 0.35, 7), "eps_ee_u": np.linspace(-0.1, 0.3, 3)}}
    scan = jcevns.scan(lik, grid).values.ravel()
    out = [scan]
    if {with_toys}:
        prof = jcevns.scan(lik, {{"sin2w": np.linspace(0.15, 0.35, 5)}}, profile=("eps_ee_d",))
        belt = toys.neyman(lik, "mu_nu", np.linspace(0.0, 50.0, 9), 37, key=4, keep_toys=True, chunk_size=64)
        out += [prof.values.ravel(), prof.profiled["eps_ee_d"].ravel(), belt.t_toys.ravel(), belt.critical]
    if jax.process_index() == 0:
        np.save(sys.argv[1], np.concatenate(out))
    print("devices", jax.device_count(), "processes", jax.process_count())
    """
)


def _run(code: str, out: Path, env_extra: dict, args=(), timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    return subprocess.Popen([sys.executable, "-c", code, str(out), *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc, timeout=300):
    try:
        text, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        text, _ = proc.communicate()
        pytest.fail(f"subprocess timed out:\n{text[-2000:]}")
    assert proc.returncode == 0, text[-3000:]
    return text


@pytest.mark.parametrize("with_toys", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_four_devices_equal_one(tmp_path, with_toys):
    """A scan (and, slow: a profiled scan and a toy belt) on 4 simulated devices."""
    code = WORK.format(init="", with_toys=with_toys)
    one = _run(code, tmp_path / "one.npy", {"XLA_FLAGS": "--xla_force_host_platform_device_count=1"})
    four = _run(code, tmp_path / "four.npy", {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})
    assert "devices 1" in _finish(one)
    assert "devices 4" in _finish(four)
    a, b = np.load(tmp_path / "one.npy"), np.load(tmp_path / "four.npy")
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_equal_one(tmp_path):
    """``jax.distributed`` on localhost (CPU, two processes with one device each)."""
    port = _free_port()
    init = (f"jax.distributed.initialize(coordinator_address='127.0.0.1:{port}', num_processes=2, "
            "process_id=int(sys.argv[2]), initialization_timeout=60)")
    code = WORK.format(init=init, with_toys=False)
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    procs = [_run(code, tmp_path / "dist.npy", env, args=(str(i),)) for i in range(2)]
    texts = [_finish(p) for p in procs]
    assert all("devices 2 processes 2" in t for t in texts), texts[0][-2000:]
    single = _run(WORK.format(init="", with_toys=False), tmp_path / "single.npy", env)
    _finish(single)
    np.testing.assert_allclose(np.load(tmp_path / "dist.npy"), np.load(tmp_path / "single.npy"), rtol=1e-12,
                               atol=1e-12)

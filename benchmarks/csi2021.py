"""Benchmarks of the CsI 2021 analysis (PE x arrival time, 224 bins, 9 nuisances).

Usage::

    python benchmarks/csi2021.py [--quick] [--out DIR] [--host-devices N]   # DIR defaults to bench_out/

Rows (``DIR/csi2021.json``): one 2D prediction (all bins, after compilation); a profiled 1000-point
sin2w scan (all nuisances, template path); a profiled 1e5-point (eps_ee_u, eps_ee_d) plane
(1e4 with ``--quick``); the first-call (compile) time of the scan. Goals (2 CPU cores): 1 ms,
2 s, 30 s, 15 s. Measured, not asserted. ``--host-devices N`` splits the CPU into N JAX devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=N``, set before JAX starts) so that the
scans use N cores through :mod:`jcevns.sharding`; without it JAX runs these small batched fits on
one core.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__" and "--host-devices" in sys.argv:  # must precede the first JAX import
    _n = sys.argv[sys.argv.index("--host-devices") + 1]
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={_n}"

import jax  # noqa: E402
import numpy as np  # noqa: E402

import jcevns  # noqa: E402
from jcevns.experiments import csi2021_fits as fits  # noqa: E402
from jcevns.experiments import csi2021_likelihood as lik  # noqa: E402


def _median(f, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(f())
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="bench_out")
    ap.add_argument("--host-devices", type=int, default=None, help="JAX CPU devices (set before JAX starts)")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    an = jcevns.build("csi2021")
    p = an.params()
    bm = lik.binned_model(flux=True)
    rows = []

    class Rows(list):
        def append(self, r):  # print each row as it is measured
            super().append(r)
            print(r, flush=True)

    rows = Rows()
    t = time.perf_counter()
    jax.block_until_ready(jcevns.predict(p, an))
    rows.append({"name": "predict_2d_first_call_s", "value": time.perf_counter() - t, "goal": None})
    rows.append({"name": "predict_2d_s", "value": _median(lambda: jcevns.predict(p, an), 50), "goal": 1e-3})
    grid = np.linspace(0.15, 0.35, 1000)
    t = time.perf_counter()
    fits.template_scan(an, bm, ("sin2w",), grid)
    rows.append({"name": "sin2w_scan_1000_first_call_s", "value": time.perf_counter() - t, "goal": 15.0})
    rows.append({"name": "sin2w_scan_1000_s",
                 "value": _median(lambda: fits.template_scan(an, bm, ("sin2w",), grid + 1e-6)[0], 3), "goal": 2.0})
    n = 100 if a.quick else 316
    u, d = np.meshgrid(np.linspace(-0.6, 0.9, n), np.linspace(-0.6, 0.9, n), indexing="ij")
    pts = np.column_stack([u.ravel(), d.ravel()])
    fits.template_scan(an, bm, ("eps_ee_u", "eps_ee_d"), pts[:4096])  # compile
    t = time.perf_counter()
    _, ok = fits.template_scan(an, bm, ("eps_ee_u", "eps_ee_d"), pts)
    rows.append({"name": f"nsi_plane_{pts.shape[0]}_s", "value": time.perf_counter() - t, "goal": 30.0,
                 "converged_fraction": float(np.mean(ok))})
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "cpu_count": os.cpu_count(), "load": os.getloadavg(),
            "jax": jax.__version__, "device": str(jax.devices()[0]), "n_devices": jax.device_count()}
    name = "csi2021.json" if jax.device_count() == 1 else f"csi2021_{jax.device_count()}dev.json"
    (out / name).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    for r in rows:
        met = r["goal"] is not None and r["value"] <= r["goal"]
        goal = "" if r["goal"] is None else f" (goal {r['goal']:g} s: {'met' if met else 'not met'})"
        print(f"{r['name']:32s} {r['value']:.4g}{goal}")
    print(f"load averages {meta['load']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

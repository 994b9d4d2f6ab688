"""Toy-fit, Feldman-Cousins belt and R_n-plane speed (jcevns.toys, jcevns.scan).

Usage::

    python benchmarks/toys.py [--quick] [--out DIR]      # DIR defaults to bench_out/

Writes ``DIR/toys.json`` and ``DIR/toys.md``. Rows ``toys/...`` carry ``fits_per_s``:

* ``toys/fits_exact/csi2017-newqf``: profiled chi-square fits of generated toys at one
  parameter point, pulls solved exactly (closed form), vmapped;
* ``toys/fits_newton/csi2017-newqf``: the same with the Poisson statistic, whose pulls are
  profiled by Newton iterations;
* ``toys/fits_lbfgs/csi2017-newqf``: a physics parameter (eps_ee_d) profiled by L-BFGS per toy;
* ``toys/fc_belt_mu_nu/csi2017-newqf``: a full 90 % Feldman-Cousins belt for the effective
  magnetic moment (2000 toys x 100 grid points); ``fits_per_s`` counts the fits a grid search
  of the toys' best fits would need (``n_search + 1`` per toy) over the wall time, an equivalent
  rate: the counts are linear in ``mu_nu^2``, so the belt finds the best fits by a few fits and
  Newton steps instead (:mod:`jcevns._linear`); ``toys_per_s`` (column points/s) is the direct rate;
* ``scan/sin2w_rn/lar2020``: the (sin2w, R_n) plane, one full prediction per point (the form
  factors at the compressed recoil nodes of :mod:`jcevns.reshaping`; ``n_interp`` of them
  instead of ``n_nodes``).

Times are medians of repeats after a first (compiling) call, which is reported as ``first_s``.
Goals (2 CPU cores): >= 1e5 exact fits/s, >= 1e4 Newton fits/s, belt <= 10 s, R_n plane
>= 2e5 points/s. They are measured, not asserted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jcevns  # noqa: E402
from jcevns import generators, reshaping, toys  # noqa: E402


def _time(fn, repeats: int):
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times), times


def _fit_row(name, lik, n, repeats, profile=()):
    param = "sin2w"
    data = toys.generate(lik, param, 0.24, n, key=1)
    tm = generators.adapter(lik, param, None, profile)
    model = tm.model(jax.numpy.asarray(0.24))
    kernel = jax.jit(jax.vmap(lambda d, m: tm.with_data(d).fit(m)[0], in_axes=(0, None)))
    first, med, times = _time(lambda: kernel(data, model).block_until_ready(), repeats)
    return dict(name=name, n=n, first_s=first, median_s=med, min_s=min(times), max_s=max(times),
                fits_per_s=n / med, repeats=repeats)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--out", default="bench_out")
    args = ap.parse_args(argv)
    q = args.quick
    rows = []
    an = jcevns.build("csi2017-newqf")
    rows.append(_fit_row("toys/fits_exact/csi2017-newqf", jcevns.likelihood(an), 4096 if q else 1 << 18, 3))
    rows.append(_fit_row("toys/fits_newton/csi2017-newqf", jcevns.likelihood(an, "poisson"),
                         2048 if q else 1 << 15, 3))
    rows.append(_fit_row("toys/fits_lbfgs/csi2017-newqf", jcevns.likelihood(an), 256 if q else 4096, 2,
                         profile=("eps_ee_d",)))

    lik = jcevns.likelihood(an)
    n_toys, n_grid = (100, 20) if q else (2000, 100)
    grid = np.linspace(0.0, 60.0, n_grid)
    belt = {}

    def run_belt():
        belt["res"] = toys.neyman(lik, "mu_nu", grid, n_toys, key=2)

    first, med, times = _time(run_belt, 1 if q else 2)
    n_fits = n_toys * n_grid * (min(41, n_grid) + 1)
    rows.append(dict(name="toys/fc_belt_mu_nu/csi2017-newqf", n=n_toys * n_grid, first_s=first, median_s=med,
                     min_s=min(times), max_s=max(times), fits_per_s=n_fits / med, toys_per_s=n_toys * n_grid / med,
                     fc_interval=[i.as_list() for i in belt["res"].fc],
                     wilks_interval=[i.as_list() for i in belt["res"].wilks], repeats=len(times)))

    lar = jcevns.likelihood(jcevns.build("lar2020"))
    side = 50 if q else 316
    plane = {"sin2w": np.linspace(0.1, 0.4, side), "rn": np.linspace(2.0, 6.0, side)}
    first, med, times = _time(lambda: jcevns.scan(lar, plane, chunk_size=16384), 2)
    n_interp = int(reshaping.reshaping_parts(lar.analysis, lar.analysis.params(), {"rn": plane["rn"]})[0][0].size)
    rows.append(dict(name="scan/sin2w_rn/lar2020", n=side * side, first_s=first, median_s=med, min_s=min(times),
                     max_s=max(times), points_per_s=side * side / med, n_nodes=int(lar.analysis.t_nodes.size),
                     n_interp=n_interp,
                     repeats=len(times)))

    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                jax=jax.__version__, jcevns=jcevns.__version__, backend=jax.default_backend(),
                devices=[str(d) for d in jax.devices()], cpu_count=os.cpu_count(),
                load_average=os.getloadavg(), python=platform.python_version(), quick=q)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "toys.json").write_text(json.dumps({"meta": meta, "measurements": rows}, indent=1) + "\n")
    lines = [f"# Toy benchmarks ({meta['date']}, {meta['backend']}, {len(meta['devices'])} device(s), "
             f"load average {meta['load_average'][0]:.1f})", "",
             "| name | n | first call [s] | median [s] | fits/s | points/s |", "|---|---|---|---|---|---|"]
    for r in rows:
        fps = f"{r['fits_per_s']:.3g}" if "fits_per_s" in r else ""
        pps = f"{r.get('points_per_s', r.get('toys_per_s', 0)):.3g}" if ("points_per_s" in r or "toys_per_s" in r) \
            else ""
        lines.append(f"| {r['name']} | {r['n']} | {r['first_s']:.2f} | {r['median_s']:.3f} | {fps} | {pps} |")
    (out / "toys.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

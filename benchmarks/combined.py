"""Benchmarks of combined fits and forecasts: CsI 2017 (new QF) + CENNS-10 LAr.

Usage::

    python benchmarks/combined.py [--quick] [--out DIR]      # DIR defaults to bench_out/

Rows (written to ``DIR/combined.json`` and ``DIR/combined.md``, same fields as
``benchmarks/run.py``):

* ``scan_nsi_combined``: the profiled (eps_ee_u, eps_ee_d) plane of the combination, 1e5 points
  (1e4 with ``--quick``), on the event-template path (the row records that the templates were
  used: both components' templates at the base point, concatenated bins);
* ``scan_nsi_single``: the same plane on CsI alone, for the cost of adding an experiment;
* ``fisher``: a forecast (``jcevns.fisher``, two parameters, pulls marginalised) on the
  combination, steady state, with the first call's compile time.

Each timing is the median of repeats after one warm-up call (which is the compile-time
measurement); wall clock around calls that end in NumPy arrays.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import _row, _time  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: 1e4-point planes, few repeats")
    ap.add_argument("--out", default="bench_out", help="output directory (default bench_out/)")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    import jax
    import numpy as np

    import jcevns
    from jcevns.forward import templates_if_exact

    backend = jax.default_backend()
    device = str(jax.devices()[0].device_kind)
    csi = jcevns.likelihood(jcevns.build("csi2017-newqf"))
    lar = jcevns.likelihood(jcevns.build("lar2020"))
    both = jcevns.combine(csi, lar)
    side = 100 if a.quick else 317  # 1e4 or ~1e5 points
    grid = {"eps_ee_u": np.linspace(-0.5, 0.5, side), "eps_ee_d": np.linspace(-0.5, 0.5, side)}
    repeats = 2 if a.quick else 5
    rows = []
    for label, lik in (("scan_nsi_combined", both), ("scan_nsi_single", csi)):
        uses_templates = templates_if_exact(lik.analysis.params(), lik.analysis, tuple(grid)) is not None
        t0 = time.perf_counter()
        jcevns.scan(lik, grid)
        first = time.perf_counter() - t0
        ts = _time(lambda lik=lik: jcevns.scan(lik, grid).values, repeats)
        rows.append(_row(f"{label}/{lik.analysis.name}", backend, device, side * side, ts,
                         compile_s=max(first - min(ts), 0.0), path="templates" if uses_templates else "full",
                         note="profiled (eps_ee_u, eps_ee_d) plane, pulls exact"))
    params = both.analysis.params(eps_ee_u=0.05)
    names = ["sin2w", "eps_ee_u"]
    t0 = time.perf_counter()
    fc = jcevns.fisher(both, params, names)
    first = time.perf_counter() - t0
    ts = _time(lambda: jcevns.fisher(both, params, names), repeats)
    rows.append(_row(f"fisher/{both.analysis.name}", backend, device, 1, ts, compile_s=max(first - min(ts), 0.0),
                     note=f"Fisher matrix of {names} at the Asimov point, pulls marginalised; "
                          f"sigma = {', '.join(f'{s:.3g}' for s in fc.sigma)}"))
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "backend": backend, "device": device,
            "cpu_count": os.cpu_count(), "load_avg": os.getloadavg(), "jax": jax.__version__, "quick": a.quick}
    payload = {"meta": meta, "measurements": rows}
    tmp = out / "combined.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, out / "combined.json")
    lines = ["# Combined fits and forecasts", "", f"{meta['date']}, {backend} ({device}), load {meta['load_avg']}", "",
             "| measurement | points | median [s] | per point [s] | compile [s] | path / note |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['n']} | {r['median_s']:.3g} | {r['per_point_s']:.3g} | {r['compile_s']:.3g} "
                     f"| {r.get('path', '')} {r['note']} |")
    (out / "combined.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""jcevns benchmarks: speed, memory, accuracy and scaling, against scipy in the same run.

Usage::

    python benchmarks/run.py [--quick] [--out DIR]       # DIR defaults to bench_out/

Writes ``DIR/benchmarks.json`` (``{"meta": ..., "measurements": [...], "goals": [...]}``),
``DIR/benchmarks.md`` (a table, the goals of the benchmark issue met / not met, notes) and
``DIR/scaling.png``. ``--quick`` is the CI smoke test (about a minute on 2 cores): fewer
repeats, smaller scans, shorter NUTS chains; its numbers are not meant to be quoted.

Method:

* every time is wall clock around a call that ends in ``block_until_ready`` (or a NumPy
  conversion), repeated; the median, min and max are reported. Compile time is the first call
  minus the steady-state median (the first call of each kernel in a fresh process, so it
  includes tracing, lowering and XLA compilation);
* peak memory of a scan is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of a fresh
  subprocess that does that one scan (tracemalloc does not see XLA's allocations):
  ``peak_mem_mb`` is the whole process' peak resident set (Python + JAX + the scan),
  ``peak_mem_delta_mb`` the growth during the scan over the state after import and build;
* the scipy baseline (``benchmarks/scipy_baseline.py``: nested ``quad`` per bin, then
  ``scipy.optimize.minimize`` over the pulls) runs on a few points of the same scans, and
  ``ratio_vs_scipy`` is baseline seconds per point / jcevns seconds per point;
* recompilation is counted with the jit caches of the scan kernels and with JAX's
  backend-compile events during the steady-state repeats.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_goals  # noqa: E402
import bench_kernels  # noqa: E402
import bench_nuts  # noqa: E402
import bench_scans  # noqa: E402
from bench_common import _cpu_model, _row, _time  # noqa: E402, F401  (_row, _time: used by the other scripts)
from bench_report import _markdown, _plot  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="CI smoke test: small sizes, few repeats")
    ap.add_argument("--out", default="bench_out", help="output directory (default bench_out/)")
    ap.add_argument("--no-nuts", action="store_true", help="skip the NumPyro measurement")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(bench_scans.worker(json.loads(a.worker))))
        return 0

    t_start = time.perf_counter()
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    quick = a.quick
    load_start = os.getloadavg()

    import jax
    import jax.numpy as jnp
    import numpy as np
    import scipy_baseline as sb

    import jcevns

    jnp.ones(4).sum().block_until_ready()  # start the backend outside any timing
    backend = jax.default_backend()
    dev = jax.devices()[0]
    device = f"{dev.platform}:{getattr(dev, 'device_kind', '')}".rstrip(":")
    if backend == "cpu":
        device = f"cpu ({_cpu_model()}, {os.cpu_count()} cores)"
    meta = dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        mode="quick" if quick else "full",
        backend=backend,
        device=device,
        device_repr=str(dev),
        cpu_count=os.cpu_count(),
        jax=jax.__version__,
        jaxlib=getattr(__import__("jaxlib"), "__version__", None),
        numpy=np.__version__,
        scipy=__import__("scipy").__version__,
        python=platform.python_version(),
        platform=platform.platform(),
        jcevns=jcevns.__version__,
        x64=bool(jax.config.jax_enable_x64),
        load_average_start=load_start,
    )
    print(f"jcevns benchmarks ({meta['mode']}) on {device}, jax {meta['jax']}", flush=True)
    R = 5 if quick else 30  # repeats of single calls
    n_base = 1 if quick else 4  # scipy points per measurement
    B, D = backend, device
    rng = np.random.default_rng(0)

    rows, analyses, liks, compile_per_analysis, base_chi2_s = bench_kernels.run(R, n_base, B, D, rng, sb)
    scan_rows, scan_results = bench_scans.run(analyses, liks, base_chi2_s, quick, B, D, rng, sb, meta)
    nuts_rows, nuts_note = bench_nuts.run(a.no_nuts, quick, liks, B, D)
    acc_rows, accuracy = bench_goals.accuracy(B, D)
    rows += scan_rows + nuts_rows + acc_rows
    goals = bench_goals.goals(rows, scan_results, compile_per_analysis)

    meta["load_average_end"] = os.getloadavg()
    meta["total_runtime_s"] = time.perf_counter() - t_start
    meta["nuts_note"] = nuts_note
    meta["compile_s_per_analysis"] = compile_per_analysis
    result = dict(meta=meta, measurements=rows, goals=goals, accuracy=accuracy)
    (out_dir / "benchmarks.json").write_text(json.dumps(result, indent=1, default=float) + "\n")
    (out_dir / "benchmarks.md").write_text(_markdown(result))
    _plot(scan_results, meta, out_dir / "scaling.png")
    print(f"wrote {out_dir}/benchmarks.json, benchmarks.md, scaling.png in {meta['total_runtime_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

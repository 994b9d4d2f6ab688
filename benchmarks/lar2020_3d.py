"""Benchmarks of the CENNS-10 3D likelihood (measured, not asserted).

* one 3D prediction (960 bins) after compilation, goal <= 2 ms;
* a profiled (sin2w, rn) plane of 1e4 points (full predictions, every normalisation nuisance
  profiled), goal <= 30 s on 2 CPU cores.

Run: ``python benchmarks/lar2020_3d.py [--points 10000]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

import jcevns
from jcevns import forward
from jcevns.experiments import lar2020_3d
from jcevns.experiments._lar2020_3d_fit import profile_linear
from jcevns.reproduce_lar3d import chunked_map


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=10_000)
    args = parser.parse_args()

    an = jcevns.build("lar2020-3d")
    sm = an.params()
    jcevns.predict(sm, an).block_until_ready()
    n_rep = 200
    t0 = time.perf_counter()
    for _ in range(n_rep):
        jcevns.predict(sm, an).block_until_ready()
    predict_ms = (time.perf_counter() - t0) / n_rep * 1e3

    bm = lar2020_3d.binned_model(an, shape_systematics=False, signal_prior=True)
    side = int(round(np.sqrt(args.points)))
    s, r = np.meshgrid(np.linspace(0.15, 0.35, side), np.linspace(an.rn_lower + 0.01, 6.0, side), indexing="ij")
    pts = jnp.stack([s.ravel(), r.ravel()], axis=1)

    def point(x):
        return profile_linear(bm, forward._predict_kernel(sm.replace(sin2w=x[0], rn=x[1]), an)).value

    plane = jax.jit(lambda p: chunked_map(point, p))
    t0 = time.perf_counter()
    plane(pts).block_until_ready()
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    values = plane(pts).block_until_ready()
    plane_s = time.perf_counter() - t0
    print(json.dumps({
        "predict_3d_ms": round(predict_ms, 3),
        "plane_points": int(pts.shape[0]),
        "plane_s": round(plane_s, 2),
        "plane_first_call_s": round(first_s, 2),
        "plane_finite": bool(np.all(np.isfinite(np.asarray(values)))),
    }))


if __name__ == "__main__":
    main()

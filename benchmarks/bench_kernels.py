"""Single-call benchmarks per analysis: SM prediction (public, kernel, vmapped), profiled chi2
and its gradient, against the scipy baseline at random SM-like points."""

from __future__ import annotations

import statistics
import time

from bench_common import ANALYSES, SCAN_ANALYSIS, _row, _time


def run(R: int, n_base: int, B: str, D: str, rng, sb):
    """Returns ``(rows, analyses, likelihoods, compile_per_analysis, base_chi2_s)``."""
    import jax
    import jax.numpy as jnp

    import jcevns
    from jcevns import validation
    from jcevns.forward import _predict_kernel
    from jcevns.params import as_float64

    rows = []
    analyses = {name: jcevns.build(name) for name in ANALYSES}
    liks = {name: jcevns.likelihood(an) for name, an in analyses.items()}
    compile_per_analysis = {}
    base_counts_s, base_chi2_s = {}, {}
    for name, an in analyses.items():
        lik = liks[name]
        p = an.params()
        # scipy baseline: counts and a profiled chi2 point at random SM-like points
        pts = [an.params(sin2w=float(s)) for s in rng.uniform(0.2, 0.26, n_base)]
        base_counts_s[name] = sb.time_points(pts, an, lik.sigma_pulls, "counts")
        base_chi2_s[name] = sb.time_points(pts, an, lik.sigma_pulls, "chi2")
        rows.append(_row(f"scipy/counts/{name}", "scipy", "cpu (1 core)", 1, base_counts_s[name],
                         note="nested scipy.integrate.quad per bin, epsrel 1e-8"))
        if name == SCAN_ANALYSIS:
            ref_t = _time(lambda: validation.reference_counts(p, an), max(1, n_base))
            rows.append(_row(f"scipy/reference_counts/{name}", "scipy", "cpu (1 core)", 1, ref_t,
                             note="jcevns.validation.reference_counts: nested quad, epsrel 1e-10, per-T cache"))
        if name in base_chi2_s:
            rows.append(_row(f"scipy/profiled_chi2/{name}", "scipy", "cpu (1 core)", 1, base_chi2_s[name],
                             note="nested quad counts + scipy.optimize.minimize over the pulls"))
        b_counts = statistics.median(base_counts_s[name])

        # public predict: first call (trace + compile + run), then steady state
        t0 = time.perf_counter()
        jcevns.predict(p, an).block_until_ready()
        first = time.perf_counter() - t0
        ts = _time(lambda: jcevns.predict(p, an).block_until_ready(), R)
        c_pred = max(0.0, first - statistics.median(ts))
        rows.append(_row(f"predict/{name}", B, D, 1, ts, ratio=b_counts / statistics.median(ts), compile_s=c_pred,
                         note="jcevns.predict, public call (includes range validation and float64 conversion)"))
        pp = as_float64(p)
        ts_k = _time(lambda: _predict_kernel(pp, an).block_until_ready(), R * 4)
        rows.append(_row(f"predict_kernel/{name}", B, D, 1, ts_k, ratio=b_counts / statistics.median(ts_k),
                         note="the jitted kernel with pre-validated float64 params (no Python-side checks)"))
        # batched: vmap over 1024 parameter points in one call
        nb = 1024
        batch = jax.tree_util.tree_map(lambda v: jnp.broadcast_to(v, (nb,)), pp).replace(
            sin2w=jnp.linspace(0.2, 0.26, nb))
        vpred = jax.jit(jax.vmap(_predict_kernel, in_axes=(0, None)))
        t0 = time.perf_counter()
        vpred(batch, an).block_until_ready()
        first_v = time.perf_counter() - t0
        ts_v = _time(lambda: vpred(batch, an).block_until_ready(), max(3, R // 3))
        rows.append(_row(f"predict_vmap1024/{name}", B, D, nb, ts_v, ratio=b_counts / (statistics.median(ts_v) / nb),
                         compile_s=max(0.0, first_v - statistics.median(ts_v)),
                         note="jax.vmap of the kernel over 1024 points, one call"))

        # profiled chi2 (public) and gradient
        t0 = time.perf_counter()
        jcevns.profiled(p, lik)[0].block_until_ready()
        first = time.perf_counter() - t0
        ts = _time(lambda: jcevns.profiled(p, lik)[0].block_until_ready(), R)
        c_chi = max(0.0, first - statistics.median(ts))
        b_chi2 = statistics.median(base_chi2_s[name]) if name in base_chi2_s else None
        rows.append(_row(f"profiled_chi2/{name}", B, D, 1, ts, compile_s=c_chi,
                         ratio=None if b_chi2 is None else b_chi2 / statistics.median(ts),
                         note="jcevns.profiled: chi2 with the pulls profiled exactly, public call"))
        grad_eager = jax.grad(jcevns.statistic)
        t0 = time.perf_counter()
        jax.block_until_ready(grad_eager(p, lik))
        first = time.perf_counter() - t0
        ts = _time(lambda: jax.block_until_ready(grad_eager(p, lik)), R)
        c_grad = max(0.0, first - statistics.median(ts))
        rows.append(_row(f"chi2_grad/{name}", B, D, 1, ts, compile_s=c_grad,
                         note="jax.grad(jcevns.statistic)(params, lik): gradient w.r.t. every Params leaf, eager"))
        vg = jax.jit(jax.value_and_grad(lambda q: jcevns.statistic(q, lik)))
        t0 = time.perf_counter()
        jax.block_until_ready(vg(pp))
        first = time.perf_counter() - t0
        ts = _time(lambda: jax.block_until_ready(vg(pp)), R * 4)
        c_vg = max(0.0, first - statistics.median(ts))
        rows.append(_row(f"chi2_value_and_grad_jit/{name}", B, D, 1, ts, compile_s=c_vg,
                         ratio=None if b_chi2 is None else b_chi2 / statistics.median(ts),
                         note="jax.jit(jax.value_and_grad(statistic)) on float64 params: what an optimiser calls"))
        compile_per_analysis[name] = dict(predict=c_pred, profiled_chi2=c_chi, chi2_grad=c_grad,
                                          value_and_grad_jit=c_vg,
                                          predict_vmap1024=max(0.0, first_v - statistics.median(ts_v)))
        pred_row = next(r for r in rows if r["name"] == f"predict/{name}")
        print(f"  {name}: predict {pred_row['median_s'] * 1e3:.3f} ms (compile {c_pred:.2f} s), "
              f"scipy counts {b_counts:.3f} s, chi2 compile {c_chi:.2f} s, grad compile {c_grad:.2f} s", flush=True)
    return rows, analyses, liks, compile_per_analysis, base_chi2_s

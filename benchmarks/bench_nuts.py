"""NUTS benchmark: effective samples per second of jcevns.bayes.sample."""

from __future__ import annotations

import time


def run(no_nuts: bool, quick: bool, liks, B: str, D: str):
    """Returns ``(rows, note)``; the note says what was skipped or failed (``None`` if nothing)."""
    rows = []
    nuts_note = None
    if no_nuts:
        nuts_note = "skipped (--no-nuts)"
    else:
        try:
            from jcevns import bayes
        except Exception as exc:  # noqa: BLE001 - optional component
            bayes = None
            nuts_note = f"skipped: jcevns.bayes could not be imported ({type(exc).__name__}: {exc})"
        if bayes is not None:
            warm, samp, chains = (100, 100, 2) if quick else (500, 1000, 2)
            for label, an_name, names in (("sin2w", "csi2017-newqf", ["sin2w"]),
                                          ("nsi_ee_ud", "csi2017-newqf", ["eps_ee_u", "eps_ee_d"])):
                try:
                    t0 = time.perf_counter()
                    post = bayes.sample(liks[an_name], names, chains=chains, warmup=warm, samples=samp, seed=0,
                                        progress=False)
                    total = time.perf_counter() - t0
                    first_wall = float(getattr(post, "wall_s", total))
                    compile_s = None
                    if not quick:  # again with another seed: NumPyro reuses the compiled kernels
                        t0 = time.perf_counter()
                        post = bayes.sample(liks[an_name], names, chains=chains, warmup=warm, samples=samp, seed=1,
                                            progress=False)
                        total = time.perf_counter() - t0
                    ess = {k: float(post.summary[k]["ess_bulk"]) for k in names}
                    wall = float(getattr(post, "wall_s", total))
                    if not quick:
                        compile_s = max(0.0, first_wall - wall)
                    min_ess = min(ess.values())
                    rows.append(dict(
                        name=f"nuts/{label}/{an_name}", backend=B, device=D, n=chains * samp,
                        median_s=wall, min_s=wall, max_s=wall, per_point_s=wall / (chains * samp),
                        points_per_s=chains * samp / wall, peak_mem_mb=None, ratio_vs_scipy=None, repeats=1,
                        ess_bulk=ess, min_ess_bulk=min_ess, ess_per_s=min_ess / wall,
                        ess_per_s_including_compile=min_ess / first_wall, first_run_wall_s=first_wall,
                        compile_s=compile_s, chains=chains, warmup=warm, samples=samp,
                        chain_method=getattr(post, "chain_method", None),
                        divergences=getattr(post, "divergences", None),
                        r_hat={k: post.summary[k].get("r_hat") for k in names},
                        note="jcevns.bayes.sample (NumPyro NUTS, pulls sampled); full mode: two runs (seeds 0, 1), "
                             "the second reuses the compiled kernels: ess_per_s = its min bulk ESS / its wall_s, "
                             "compile_s = first wall - second wall, ess_per_s_including_compile = min bulk ESS / "
                             "first wall (quick mode: one run, compilation included); points_per_s = kept draws "
                             "per second",
                    ))
                    print(f"  NUTS {label}: ESS {ess}, wall {wall:.1f} s, {min_ess / wall:.1f} ESS/s", flush=True)
                except Exception as exc:  # noqa: BLE001
                    nuts_note = (nuts_note or "") + f" {label} failed: {type(exc).__name__}: {exc};"
                    print(f"  NUTS {label} failed: {exc}", flush=True)
    if nuts_note:
        print(f"  NUTS: {nuts_note}", flush=True)
    return rows, nuts_note

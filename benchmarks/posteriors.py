"""The posterior examples at the default settings of ``jcevns.bayes.sample``: convergence and speed.

Usage::

    python benchmarks/posteriors.py [--out DIR] [--quick]     # DIR defaults to bench_out/

Runs each example with every default (4 chains x (1000 warmup + 2000 draws), default priors,
pull mode and target acceptance, seed 0) and writes ``DIR/posteriors.json`` and
``DIR/posteriors.md``: r_hat, bulk and tail ESS, divergences, wall time (compilation included)
and bulk ESS per second. ``--quick`` runs 2 chains x (200 + 300) as a smoke test. The slow test
``tests/test_bayes.py::test_examples_converge_at_default_settings`` asserts the same criteria.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import time
from pathlib import Path

EXAMPLES = {
    "sin2w (CsI new QF)": ("csi2017-newqf", ["sin2w"]),
    "rn (LAr)": ("lar2020", ["rn"]),
    "eps_ee_u, eps_ee_d (CsI new QF)": ("csi2017-newqf", ["eps_ee_u", "eps_ee_d"]),
    "zprime_g, zprime_m (CsI new QF)": ("csi2017-newqf", ["zprime_g", "zprime_m"]),
    "mu_nu_e, mu_nu_mu, mu_nu_mubar (LAr)": ("lar2020", ["mu_nu_e", "mu_nu_mu", "mu_nu_mubar"]),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="bench_out")
    ap.add_argument("--quick", action="store_true", help="2 chains x (200 + 300): smoke test only")
    a = ap.parse_args(argv)

    import jax

    import jcevns
    from jcevns import bayes

    settings = dict(chains=2, warmup=200, samples=300) if a.quick else {}
    rows = []
    for label, (name, names) in EXAMPLES.items():
        lik = jcevns.likelihood(jcevns.build(name))
        t0 = time.perf_counter()
        post = bayes.sample(lik, names, progress=False, **settings)
        wall = time.perf_counter() - t0
        s = post.settings
        rows.append(dict(
            example=label, analysis=name, params=names, pulls=s["pulls"], target_accept_prob=s["target_accept_prob"],
            chains=s["chains"], warmup=s["warmup"], samples=s["samples"], divergences=post.divergences,
            r_hat={n: post.summary[n]["r_hat"] for n in names},
            ess_bulk={n: post.summary[n]["ess_bulk"] for n in names},
            ess_tail={n: post.summary[n]["ess_tail"] for n in names},
            wall_s=wall, ess_bulk_per_s=min(post.summary[n]["ess_bulk"] for n in names) / wall, ok=post.ok,
        ))
        print(f"{label}: ok={post.ok}, divergences {post.divergences}, wall {wall:.1f} s", flush=True)
    meta = dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        backend=jax.default_backend(), cpu_count=os.cpu_count(), jax=jax.__version__, quick=a.quick,
    )
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "posteriors.json").write_text(json.dumps(dict(meta=meta, examples=rows), indent=1) + "\n")
    lines = [
        "# Posterior examples at the default settings",
        "",
        f"`python benchmarks/posteriors.py{' --quick' if a.quick else ''}` on {meta['date']}, backend "
        f"{meta['backend']}, {meta['cpu_count']} CPU cores, jax {meta['jax']}. Wall time includes compilation.",
        "",
        "| example | pulls, target accept | chains x draws (warmup) | max r_hat | min bulk / tail ESS | divergences "
        "| wall | bulk ESS/s |",
        "|---|---|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['example']} | {r['pulls']}, {r['target_accept_prob']} | {r['chains']} x {r['samples']} "
            f"({r['warmup']}) | {max(r['r_hat'].values()):.4f} | {min(r['ess_bulk'].values()):.0f} / "
            f"{min(r['ess_tail'].values()):.0f} | {r['divergences']} | {r['wall_s']:.1f} s "
            f"| {r['ess_bulk_per_s']:.0f} |"
        )
    (out / "posteriors.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out}/posteriors.json and posteriors.md")
    return 0 if all(r["ok"] for r in rows) else 3


if __name__ == "__main__":
    raise SystemExit(main())

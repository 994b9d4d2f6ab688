"""``jcevns reproduce --toys``: Feldman-Cousins vs Wilks 90 % intervals and their coverage.

For COHERENT CsI 2017 with the new quenching factor (Papoulias, PRD 102 (2020) 113004,
arXiv:1907.11644) and CENNS-10 LAr 2020 (Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050):
``sin2w``, ``rn`` (Helm; for CsI without the 5 % form-factor term, Papoulias footnote 4), the
effective magnetic moment ``mu_nu`` and ``eps_mumu_u``, each with the papers' chi-square, its
pulls profiled. Per parameter: a toy Neyman belt on a 41-point grid, the Feldman-Cousins and
Wilks intervals, and the coverage of both at the best fit and at the two ends of the Wilks
interval (toys at those truths, nuisances profiled on the data). Sizes are set so that the
whole run takes a few minutes on two CPU cores; the toy counts are in ``toys.json``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from . import toyplots, toys
from .analyses import build
from .likelihoods import likelihood

#: Grids (41 points) wide enough for the data's intervals and the toys' best fits.
GRIDS = {
    "csi2017-newqf": {"sin2w": (0.0, 0.5), "rn": (2.0, 9.0), "mu_nu": (0.0, 50.0), "eps_mumu_u": (-0.3, 0.7)},
    "lar2020": {"sin2w": (0.0, 0.6), "rn": (1.6, 9.0), "mu_nu": (0.0, 120.0), "eps_mumu_u": (-0.6, 1.2)},
}
N_GRID = 41
BELT_TOYS = 300
COVERAGE_TOYS = 1000


def _case(name: str, param: str, preset: str, seed: int) -> dict:
    drop_ff = param == "rn" and name.startswith("csi2017")
    an = build(name, preset, **({"form_factor": "helm"} if param == "rn" else {}))
    lik = likelihood(an, drop_form_factor_uncertainty=drop_ff)
    grid = np.linspace(*GRIDS[name][param], N_GRID)
    if param == "rn":
        grid = grid[grid > an.rn_lower]
    belt = toys.neyman(lik, param, grid, BELT_TOYS, key=seed)
    ends = [belt.x_hat] + [e for i in belt.wilks for e in (i.lo, i.hi)]
    truths = np.unique(np.clip(np.asarray(ends), grid[1], grid[-2]))
    cov = toys.coverage(lik, param, truths, COVERAGE_TOYS, grid=grid, key=seed + 1)
    return {"belt": belt, "coverage": cov}


def run(preset: str = "calibrated", progress: bool = True) -> dict:
    out = {}
    for k, name in enumerate(GRIDS):
        for j, param in enumerate(GRIDS[name]):
            t0 = time.perf_counter()
            out[(name, param)] = _case(name, param, preset, seed=100 * k + 10 * j)
            if progress:
                print(f"toys: {name} {param} {time.perf_counter() - t0:.1f} s", flush=True)
    return out


def _fmt(ints) -> str:
    return " U ".join(f"[{i.lo:.4g}, {i.hi:.4g}]" for i in ints) or "empty"


def write(results: dict, wall_s: float, out_dir: Path) -> None:
    """``toys.md`` (table and notes), ``toys.json`` and ``figures/toys_coverage.png``."""
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    lines = [
        "# Feldman-Cousins vs Wilks 90 % CL intervals (toys)",
        "",
        f"Toy Neyman belts ({BELT_TOYS} toys at each of {N_GRID} grid points, likelihood-ratio ordering, pulls "
        "profiled on the data and their constraints redrawn per toy; jcevns.toys), the papers' chi-square. "
        f"Coverage: {COVERAGE_TOYS} toys at each truth (the best fit and the Wilks interval ends), binomial errors. "
        f"Wall time {wall_s:.0f} s.",
        "",
        "| analysis | parameter | best fit | Wilks 90 % | FC 90 % | truth | Wilks coverage | FC coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    payload = {}
    for (name, param), r in results.items():
        b, c = r["belt"], r["coverage"]
        for k, x in enumerate(c.true_values):
            head = f"| {name} | {param} | {b.x_hat:.4g} | {_fmt(b.wilks)} | {_fmt(b.fc)} |" if k == 0 else "| | | | | |"
            lines.append(f"{head} {x:.4g} | {c.wilks[k]:.3f} +- {c.wilks_err[k]:.3f} | "
                         f"{c.fc[k]:.3f} +- {c.fc_err[k]:.3f} |")
        payload[f"{name}/{param}"] = {"belt": b.to_dict(), "coverage": c.to_dict()}
    lines += ["", "Wilks under-covers where its coverage lies below 0.90 by more than the binomial error and "
              "over-covers where it lies above; the FC coverage is 0.90 up to the toys' error on the critical "
              "value. Physical boundaries (mu_nu >= 0, the Helm limit of R_n) make the FC critical value "
              "smaller than 2.71 next to them (Chernoff), the two eps_mumu_u minima make it larger."]
    tmp = out_dir / ".toys.md.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, out_dir / "toys.md")
    tmp = out_dir / ".toys.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    os.replace(tmp, out_dir / "toys.json")
    toyplots.coverage_figure({f"{n} {p}": r["coverage"] for (n, p), r in results.items()},
                             out_dir / "figures" / "toys_coverage.png")


def main(out: str = "results", preset: str = "calibrated", progress: bool = True) -> float:
    """Run and write the toy report; returns the wall time [s]."""
    t0 = time.perf_counter()
    results = run(preset, progress)
    wall = time.perf_counter() - t0
    write(results, wall, Path(out))
    print(f"wrote {Path(out) / 'toys.md'}, toys.json and figures/toys_coverage.png in {wall:.1f} s")
    return wall

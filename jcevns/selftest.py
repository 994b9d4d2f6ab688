"""The self-test: the fixed-grid forward model against the adaptive-quadrature reference of
:mod:`jcevns.validation` at representative parameter points (``jcevns selftest``,
``python -m jcevns.selftest``).

:func:`compare` puts :func:`jcevns.validation.reference_counts` next to
:func:`jcevns.predict_per_flavour`; :func:`run_selftest` does so at every point of
:data:`SELFTEST_POINTS` and checks the largest relative error against
:data:`jcevns.validation.TOLERANCE`.
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from .validation import TOLERANCE, reference_counts


def compare(params, analysis) -> dict:
    """Reference vs the fixed grid (:func:`jcevns.predict_per_flavour`).

    Returns:
        dict with ``reference`` and ``grid`` (``(3, n_bins)`` arrays), ``rel_error_total``
        (per bin, on the sum over flavours), ``max_rel_error_total``,
        ``max_rel_error_per_flavour`` (over flavour-bin entries whose reference exceeds 1e-6 of
        the bin total) and ``max_rel_error``, the larger of the two.
    """
    from .forward import predict_per_flavour  # the model under test (not used by the reference)

    ref = reference_counts(params, analysis)
    grid = np.asarray(predict_per_flavour(params, analysis), dtype=np.float64)
    tot_ref, tot_grid = ref.sum(axis=0), grid.sum(axis=0)
    rel_tot = np.abs(tot_grid - tot_ref) / np.abs(tot_ref)
    mask = np.abs(ref) > 1e-6 * np.abs(tot_ref)[None, :]
    rel_f = np.where(mask, np.abs(grid - ref) / np.where(mask, np.abs(ref), 1.0), 0.0)
    # where the reference is negligible the grid must be negligible too
    neg = (~mask) & (np.abs(grid - ref) > 1e-6 * np.abs(tot_ref)[None, :])
    rel_f = np.where(neg, np.inf, rel_f)
    return {
        "reference": ref,
        "grid": grid,
        "rel_error_total": rel_tot,
        "max_rel_error_total": float(rel_tot.max()),
        "max_rel_error_per_flavour": float(rel_f.max()),
        "max_rel_error": float(max(rel_tot.max(), rel_f.max())),
    }


#: Self-test points: name -> (analysis option overrides, parameter overrides). Couplings are
#: chosen so that each ingredient changes the total of every analysis by at least ~5 %
#: (``tests/test_accuracy.py`` checks it).
SELFTEST_POINTS: dict[str, tuple[dict, dict]] = {
    "sm": ({}, {}),
    "zprime_light": ({}, dict(zprime_m=1.0, zprime_g=4e-5)),
    "zprime_heavy": ({}, dict(zprime_m=1e4, zprime_g=5e-3)),
    "zprime_b-l": (dict(zprime_couplings="b-l"), dict(zprime_m=100.0, zprime_g=1e-4)),
    "nsi_diag": ({}, dict(eps_ee_u=0.1, eps_ee_d=-0.03, eps_mumu_u=0.02, eps_mumu_d=-0.05)),
    "nsi_fc_incoherent": (
        dict(fc_nsi="incoherent"),
        dict(eps_emu_u=0.1, eps_emu_d=-0.02, eps_etau_d=-0.1, eps_mutau_u=-0.05, eps_mutau_d=0.03),
    ),
    "nsi_fc_as_printed": (
        dict(fc_nsi="as_printed"),
        dict(eps_emu_u=0.1, eps_emu_d=-0.02, eps_etau_d=-0.1, eps_mutau_u=-0.05, eps_mutau_d=0.03),
    ),
    "magnetic_moment": ({}, dict(mu_nu=20.0, mu_nu_e=30.0, mu_nu_mu=10.0, mu_nu_mubar=40.0)),
    "charge_radius": ({}, dict(r2_nue=-20.0, r2_numu=15.0, r2_numubar=10.0)),
    "scalar": ({}, dict(scalar_m=10.0, scalar_g=2e-5)),
    "rn_3fm": (dict(form_factor="helm"), dict(rn=3.0)),
    "rn_6fm": (dict(form_factor="helm"), dict(rn=6.0)),
}


@lru_cache(maxsize=64)
def _build_cached(name: str, preset: str, options: tuple):
    from .analyses import build

    return build(name, preset, **dict(options))


def point_analysis(name: str, preset: str, point: str):
    """``(analysis, params)`` of one self-test point (analyses cached per option set)."""
    opts, values = SELFTEST_POINTS[point]
    an = _build_cached(name, preset, tuple(sorted(opts.items())))
    return an, an.params(**values)


def run_selftest(analyses=None, preset: str = "calibrated", points=None, progress: bool = False):
    """Compare the fixed grid with the adaptive reference at every self-test point.

    Args:
        analyses: analysis names (default: every registered analysis that has ``preset``).
        preset: ``"calibrated"`` or ``"printed"``.
        points: names from :data:`SELFTEST_POINTS` (default all).
        progress: print one line per comparison.

    Returns:
        ``(rows, ok)``: rows are dicts ``{analysis, point, max_rel_error, seconds}``;
        ``ok`` is True if every error is at most :data:`TOLERANCE` (1e-6).
    """
    from . import experiments
    from .analyses import ANALYSES

    if analyses is None:
        analyses = tuple(n for n in ANALYSES if preset in experiments.get(n).presets)
    else:
        analyses = tuple(analyses)
    points = tuple(SELFTEST_POINTS) if points is None else tuple(points)
    rows = []
    for name in analyses:
        for point in points:
            t0 = time.perf_counter()
            an, p = point_analysis(name, preset, point)
            if an.detector.smearing is not None:
                break  # the reference covers detectors without smearing (tested in their own modules)
            res = compare(p, an)
            row = dict(analysis=name, point=point, max_rel_error=res["max_rel_error"], seconds=time.perf_counter() - t0)
            rows.append(row)
            if progress:
                print(f"{name:15s} {point:20s} {row['max_rel_error']:10.2e} {row['seconds']:6.2f} s", flush=True)
    ok = all(r["max_rel_error"] <= TOLERANCE for r in rows)
    return rows, ok


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="jcevns self-test: fixed grid vs adaptive quadrature")
    ap.add_argument("--preset", default="calibrated")
    ap.add_argument("--analysis", action="append")
    ap.add_argument("--point", action="append")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows, ok = run_selftest(a.analysis, a.preset, a.point, progress=True)
    print(f"{'PASS' if ok else 'FAIL'}: max rel error {max(r['max_rel_error'] for r in rows):.2e} "
          f"(tolerance {TOLERANCE:g}), {time.perf_counter() - t0:.1f} s")
    return 0 if ok else 1



if __name__ == "__main__":
    raise SystemExit(main())

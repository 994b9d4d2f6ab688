"""``jcevns list``, ``predict``, ``selftest`` and ``export``: what the registered analyses expect,
how accurate the fixed grids are, and the likelihood as a pyhf workspace."""

from __future__ import annotations

import json
import sys

from ._common import (
    _add_analysis_arguments,
    _add_command,
    _parse_options,
    _parse_params,
)


def _bin_cells(analysis) -> list:
    """``(lo, hi, {observable: (lo, hi)})`` per bin of the full binning (energy slowest)."""
    import itertools

    edges = analysis.bin_edges
    extra = analysis.experiment.observables
    ranges = [list(zip(o.edges[:-1], o.edges[1:])) for o in extra]
    return [
        (lo, hi, {o.name: r for o, r in zip(extra, combo)})
        for lo, hi in zip(edges[:-1], edges[1:])
        for combo in itertools.product(*ranges)
    ]


def _cmd_predict(args) -> int:
    import numpy as np

    import jcevns

    options = _parse_options(args.option, args.analysis)
    analysis = jcevns.build(args.analysis, args.preset, **options)
    params = analysis.params(**_parse_params(args.set))
    per_flavour = np.asarray(jcevns.predict_per_flavour(params, analysis))
    bins = per_flavour.sum(axis=0)
    cells = _bin_cells(analysis)
    if args.json:
        out = {
            "analysis": analysis.name,
            "preset": analysis.preset,
            "observable": analysis.detector.observable,
            "bins": [{"lo": lo, "hi": hi, **extra, "events": float(n)} for (lo, hi, extra), n in zip(cells, bins)],
            "per_flavour": {f: float(v) for f, v in zip(jcevns.FLAVOURS, per_flavour.sum(axis=1))},
            "total": float(bins.sum()),
            "params": {k: v for k, v in params.to_dict().items()},
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in analysis.options().items()},
        }
        print(json.dumps(out, indent=2))
        return 0
    obs = analysis.detector.observable
    print(f"{analysis.name} (preset {analysis.preset}): expected CEvNS events, {analysis.detector.name}")
    header = f"{obs + ' bin':>16} {'nu_mu':>10} {'nu_mu_bar':>10} {'nu_e':>10} {'total':>10}"
    print(header)
    print("-" * len(header))
    for j, (lo, hi, extra) in enumerate(cells):
        cols = " ".join(f"{v:10.3f}" for v in per_flavour[:, j])
        label = f"[{lo:g}, {hi:g})" + "".join(f" {k}[{a:g}, {b:g})" for k, (a, b) in extra.items())
        print(f"{label:>16} {cols} {bins[j]:10.3f}")
    print("-" * len(header))
    cols = " ".join(f"{v:10.3f}" for v in per_flavour.sum(axis=1))
    print(f"{'total':>16} {cols} {bins.sum():10.3f}")
    return 0


def _cmd_list(args) -> int:
    from .. import experiments

    for name in experiments.names():
        print(experiments.get(name).summary_line())
    return 0


def _cmd_selftest(args) -> int:
    from .. import selftest, validation

    rows, ok = selftest.run_selftest(analyses=tuple(args.analysis or ()) or None, preset=args.preset, progress=True)
    width = max(len(r["point"]) for r in rows)
    print(f"{'analysis':<15} {'point':<{width}} {'max rel. error':>15} {'time [s]':>9}")
    worst = {}
    for r in rows:
        print(f"{r['analysis']:<15} {r['point']:<{width}} {r['max_rel_error']:15.2e} {r['seconds']:9.2f}")
        worst[r["point"]] = max(worst.get(r["point"], 0.0), r["max_rel_error"])
    print("\nlargest relative error per ingredient (fixed grid vs scipy.integrate.quad, epsrel 1e-10):")
    for point, err in worst.items():
        print(f"  {point:<{width}} {err:.2e}")
    print(f"selftest {'PASSED' if ok else 'FAILED'} (tolerance {validation.TOLERANCE:g})")
    return 0 if ok else 1

def _cmd_export(args) -> int:
    """Write the analysis' Poisson likelihood at the reference physics as a pyhf JSON workspace."""
    from pathlib import Path

    import numpy as np

    import jcevns
    from jcevns import binned
    from jcevns.likelihoods import _binned_model

    from ..outputs import check_output_dir, write_text_atomic

    path = Path(args.pyhf)
    if path.is_dir():
        raise ValueError(f"--pyhf {path} is a directory; give a file name such as ws.json")
    check_output_dir(path.parent)  # before any computation
    analysis = jcevns.build(args.analysis, args.preset, **_parse_options(args.option, args.analysis))
    spec = analysis.experiment.likelihood
    if "poisson" not in spec.statistics:
        raise ValueError(f"{analysis.name} has no Poisson likelihood; pyhf expresses only Poisson models")
    mods = list(spec.nuisances)
    if not args.approximate:
        # keep what pyhf expresses exactly: normalisations, and symmetric shapes on samples
        # without a normalisation (see jcevns.pyhf_export)
        normed = {s for m in mods if isinstance(m, binned.NormSys) for s in m.samples}
        exact = [m for m in mods if isinstance(m, binned.NormSys) or (
            m.sample not in normed and np.allclose(np.asarray(m.up) - 1.0, 1.0 - np.asarray(m.down)))]
        dropped = [m.name for m in mods if m not in exact]
        if dropped:
            print(f"jcevns: not exported (pyhf would approximate them; use --approximate): {', '.join(dropped)}",
                  file=sys.stderr)
        mods = exact
    bm = _binned_model(analysis, "poisson", mods)
    signal = np.asarray(jcevns.predict(analysis.params(), analysis))
    ws = binned.to_pyhf(bm, signal, allow_approximate=args.approximate)
    replaced = write_text_atomic(path, json.dumps(ws))
    verb = "replaced" if replaced else "wrote"
    samples, nuisances = ", ".join(bm.sample_names), ", ".join(bm.pull_names)
    print(f"{verb} {path}: {bm.n_bins} bins, samples {samples}, nuisances {nuisances}")
    return 0


def add_predict(sub) -> None:
    p = _add_command(
        sub,
        "predict",
        help="SM (or given) expected events per bin and per flavour",
        description="Expected CEvNS events per analysis bin and per neutrino flavour.",
    )
    _add_analysis_arguments(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="parameter value, e.g. --set sin2w=0.22 (list below)"
    )
    p.set_defaults(func=_cmd_predict)


def add_list(sub) -> None:
    v = sub.add_parser("list", help="the registered experiments: name, target, data set, citation")
    v.set_defaults(func=_cmd_list)


def add_selftest(sub) -> None:
    import jcevns

    s = sub.add_parser("selftest", help="fixed grids vs adaptive scipy.integrate.quad (tolerance 1e-6)")
    s.add_argument("--analysis", action="append", choices=jcevns.ANALYSES, help="restrict to these analyses")
    s.add_argument("--preset", choices=jcevns.PRESETS, default="calibrated", help="preset (default: calibrated)")
    s.set_defaults(func=_cmd_selftest)


def add_export(sub) -> None:
    x = sub.add_parser("export", help="the likelihood at the reference physics as a pyhf JSON workspace")
    _add_analysis_arguments(x)
    x.add_argument("--pyhf", required=True, metavar="PATH", help="output workspace (JSON)")
    x.add_argument("--approximate", action="store_true",
                   help="also export nuisances pyhf interpolates differently (asymmetric shapes)")
    x.set_defaults(func=_cmd_export)

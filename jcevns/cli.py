"""The ``jcevns`` command line: verbs mirror the Python API.

* ``jcevns predict ANALYSIS [--preset P] [--json] [--set name=value ...]``
* ``jcevns selftest [--analysis A ...] [--preset P]``
* ``jcevns reproduce [--out DIR] [--preset P] [--only csi|lar]``
* ``jcevns scan ANALYSIS --grid sin2w=0.1:0.4:301 [--grid ...] [--profile eps_ee_d] [--out DIR]``
* ``jcevns sample ANALYSIS --params sin2w[,rn,...] [--chains 4] [--warmup 1000] [--samples 2000] ...``
* ``jcevns toys ANALYSIS --param mu_nu --grid 0:60:61 [--toys 2000] [--json] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import sys


def _parse_assignments(items, what: str) -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"{what} must look like name=value, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
        if isinstance(out[key], list):
            out[key] = tuple(out[key])
    return out


def _cmd_predict(args) -> int:
    import numpy as np

    import jcevns

    options = _parse_assignments(args.option, "--option")
    analysis = jcevns.build(args.analysis, args.preset, **options)
    params = analysis.params(**_parse_assignments(args.set, "--set"))
    per_flavour = np.asarray(jcevns.predict_per_flavour(params, analysis))
    bins = per_flavour.sum(axis=0)
    edges = analysis.bin_edges
    if args.json:
        out = {
            "analysis": analysis.name,
            "preset": analysis.preset,
            "observable": analysis.detector.observable,
            "bins": [{"lo": lo, "hi": hi, "events": float(n)} for lo, hi, n in zip(edges[:-1], edges[1:], bins)],
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
    for j, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        cols = " ".join(f"{v:10.3f}" for v in per_flavour[:, j])
        print(f"{f'[{lo:g}, {hi:g})':>16} {cols} {bins[j]:10.3f}")
    print("-" * len(header))
    cols = " ".join(f"{v:10.3f}" for v in per_flavour.sum(axis=1))
    print(f"{'total':>16} {cols} {bins.sum():10.3f}")
    return 0


def _cmd_selftest(args) -> int:
    from . import validation

    rows, ok = validation.run_selftest(analyses=tuple(args.analysis or ()) or None, preset=args.preset, progress=True)
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


def parse_grid(item: str):
    """``"name=LO:HI:N"`` (linear) or ``"name=log:LO:HI:N"`` (log-spaced) -> ``(name, values)``."""
    import numpy as np

    if "=" not in item:
        raise ValueError(f"--grid must look like name=LO:HI:N or name=log:LO:HI:N, got {item!r}")
    name, spec = item.split("=", 1)
    parts = spec.split(":")
    log = parts[0] == "log"
    parts = parts[1:] if log else parts
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise IndexError
    except (IndexError, ValueError):
        raise ValueError(f"--grid {name} must look like {name}=LO:HI:N or {name}=log:LO:HI:N, got {item!r}") from None
    if n < 2 or not hi > lo or (log and lo <= 0):
        raise ValueError(f"--grid {name} needs N >= 2 and HI > LO (> 0 for log), got {item!r}")
    values = np.logspace(np.log10(lo), np.log10(hi), n) if log else np.linspace(lo, hi, n)
    return name.strip(), values


def _cmd_scan(args) -> int:
    from pathlib import Path

    import numpy as np

    import jcevns

    from .intervals import fit_1d
    from .plots import scan_figure
    from .profiling import parameter_bounds

    grid = dict(parse_grid(g) for g in args.grid)
    if not 1 <= len(grid) <= 2:
        raise ValueError(f"give one or two --grid parameters, got {len(grid)}")
    profile = tuple(n.strip() for n in (args.profile or "").split(",") if n.strip())
    analysis = jcevns.build(args.analysis, args.preset, **_parse_assignments(args.option, "--option"))
    lik = jcevns.likelihood(analysis, args.statistic)
    base = analysis.params(**_parse_assignments(args.set, "--set"))
    res = jcevns.scan(lik, grid, base=base, profile=profile, progress=not args.quiet)
    out = Path(args.out or f"scan/{analysis.name}")
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "analysis": analysis.name,
        "preset": analysis.preset,
        "statistic": lik.statistic,
        "names": list(res.names),
        "axes": [a.tolist() for a in res.axes],
        "values": res.values.tolist(),
        "minimum": res.minimum,
        "argmin": res.argmin(),
        "profiled": {k: v.tolist() for k, v in res.profiled.items()},
        "fixed": {k: v for k, v in base.to_dict().items() if k not in grid and k not in profile},
    }
    if res.converged is not None:
        summary["all_converged"] = bool(np.all(res.converged))
    lines = [f"{analysis.name} ({analysis.preset}): {lik.statistic} minimum {res.minimum:.4f} at "
             + ", ".join(f"{k} = {v:.6g}" for k, v in res.argmin().items())]
    if len(res.names) == 1:
        name, x = res.names[0], res.axes[0]
        # without a profiled parameter the statistic is continuous in x: refine best fit and ends
        f = None
        if not profile:
            def f(v):
                return float(jcevns.statistic(base.replace(**{name: v}), lik))
        fit = fit_1d(x, res.values, f, boundaries=(parameter_bounds((name,), analysis)[0][0], None))
        summary["best_fit"] = fit.best
        for key, ints in (("90", fit.cl90), ("1sigma", fit.one_sigma)):
            summary[f"intervals_{key}"] = [i.as_list() for i in ints]
            summary[f"kinds_{key}"] = [[i.lo_kind, i.hi_kind] for i in ints]
        lines.append(f"best fit {name} = {fit.best:.6g}")
        for i in fit.cl90:
            flag = " (widen the grid: the region reaches its end)" if "grid_edge" in (i.lo_kind, i.hi_kind) else ""
            lines.append(f"90 % CL: {i.lo:.6g} .. {i.hi:.6g}{flag}")
    (out / "scan.json").write_text(json.dumps(summary, indent=1) + "\n")
    scan_figure(res, out / "scan.png", title=f"{analysis.name} ({analysis.preset})")
    lines.append(f"wrote {out}/scan.json and {out}/scan.png")
    print("\n".join(lines))
    return 0


def _cmd_toys(args) -> int:
    """``jcevns toys``: Feldman-Cousins belt and interval, Wilks interval, coverage plot."""
    import os
    import time
    from pathlib import Path

    import numpy as np

    import jcevns

    from . import toyplots, toys

    t0 = time.perf_counter()
    if args.toys < 1 or args.coverage_points < 0:
        raise ValueError(f"--toys must be >= 1 and --coverage-points >= 0, got {args.toys}, {args.coverage_points}")
    spec = args.grid if "=" in args.grid else f"{args.param}={args.grid}"
    name, grid = parse_grid(spec)
    if name != args.param:
        raise ValueError(f"--grid names {name!r} but --param is {args.param!r}")
    options = _parse_assignments(args.option, "--option")
    drop_ff = args.param == "rn" and args.analysis.startswith("csi2017")
    if drop_ff:  # as jcevns sample and reproduce: Helm, 5 % form-factor term dropped (Papoulias fn. 4)
        options.setdefault("form_factor", "helm")
    analysis = jcevns.build(args.analysis, args.preset, **options)
    lik = jcevns.likelihood(analysis, args.statistic, drop_form_factor_uncertainty=drop_ff)
    base = analysis.params(**_parse_assignments(args.set, "--set"))
    res = toys.neyman(lik, args.param, grid, args.toys, cl=args.cl, key=args.seed, base=base,
                      nuisances=args.nuisances)
    out = Path(args.out or f"toys/{analysis.name}/{args.param}")
    out.mkdir(parents=True, exist_ok=True)
    tag = f"{analysis.name} ({analysis.preset}), {lik.statistic}"
    toyplots.belt_figure(res, out / "belt.png", title=tag)
    cov = None
    if args.coverage_points:
        truths = np.linspace(grid[0], grid[-1], args.coverage_points + 2)[1:-1]
        cov = toys.coverage(lik, args.param, truths, args.toys, grid=grid, cl=args.cl, key=args.seed + 1,
                            base=base, nuisances=args.nuisances)
        toyplots.coverage_figure({tag: cov}, out / "coverage.png")
    level = round(100 * args.cl)
    summary = {
        "param": args.param,
        f"fc_interval_{level}": [i.as_list() for i in res.fc],
        f"wilks_interval_{level}": [i.as_list() for i in res.wilks],
        "n_toys": args.toys,
        "wall_s": time.perf_counter() - t0,
        "analysis": analysis.name,
        "statistic": lik.statistic,
        "nuisances": args.nuisances,
        "best_fit": res.x_hat,
        "belt": res.to_dict(),
        "coverage": None if cov is None else cov.to_dict(),
    }
    tmp = out / ".toys.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1) + "\n")
    os.replace(tmp, out / "toys.json")
    if args.json:
        print(json.dumps({k: summary[k] for k in ("param", f"fc_interval_{level}", f"wilks_interval_{level}",
                                                  "n_toys", "wall_s")}))
        return 0
    fmt = lambda ints: " U ".join(f"[{i.lo:.4g}, {i.hi:.4g}]" for i in ints) or "empty"  # noqa: E731
    print(f"{tag}: {args.param} best fit {res.x_hat:.4g}")
    print(f"{level} % CL Feldman-Cousins ({args.toys} toys/point): {fmt(res.fc)}")
    print(f"{level} % CL Wilks (Delta chi2 <= {toys.wilks_level(args.cl):.3f}):   {fmt(res.wilks)}")
    if cov is not None:
        for x, w, we, f, fe in zip(cov.true_values, cov.wilks, cov.wilks_err, cov.fc, cov.fc_err):
            print(f"coverage at {args.param} = {x:.4g}: Wilks {w:.3f} +- {we:.3f}, FC {f:.3f} +- {fe:.3f}")
    print(f"wrote {out}/toys.json, belt.png" + (", coverage.png" if cov is not None else ""))
    return 0


def _add_toys_parser(sub) -> None:
    t = sub.add_parser(
        "toys",
        help="Feldman-Cousins interval from a toy Neyman belt, Wilks interval and their coverage",
        description="Neyman construction with likelihood-ratio (Feldman-Cousins) ordering: toys at every grid "
        "point, fitted like the data. Writes toys.json, belt.png and (with coverage points) coverage.png.",
    )
    _add_analysis_arguments(t)
    t.add_argument("--param", required=True, help="parameter of interest, e.g. mu_nu, sin2w, rn, eps_mumu_u")
    t.add_argument("--grid", required=True, metavar="LO:HI:N", help="grid of the parameter, e.g. 0:60:61")
    t.add_argument("--toys", type=int, default=1000, help="toys per grid point")
    t.add_argument("--cl", type=float, default=0.9)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--nuisances", choices=("profiled", "prior"), default="profiled")
    t.add_argument("--coverage-points", type=int, default=5, help="true values for the coverage plot (0: none)")
    t.add_argument("--statistic", choices=("chi2", "poisson"), default="chi2")
    t.add_argument("--set", action="append", metavar="NAME=VALUE", help="value of a fixed parameter")
    t.add_argument("--out", default=None, help="output directory (default: toys/<analysis>/<param>)")
    t.add_argument("--json", action="store_true", help="print a JSON summary")
    t.set_defaults(func=_cmd_toys)


def _cmd_reproduce(args) -> int:
    from . import reproduce

    return reproduce.main(out=args.out, preset=args.preset, only=args.only, toys=getattr(args, "toys", False))


#: Exit code of ``jcevns sample`` when the chains did not converge (r_hat > 1.01 or divergences).
EXIT_NOT_CONVERGED = 3


def _sample_exit_code(summary: dict) -> int:
    """0 if a ``summary.json`` dictionary shows converged chains, else :data:`EXIT_NOT_CONVERGED`.

    Every entry with an ``r_hat`` (the parameters, and the pulls under ``"nuisance"``) must have
    ``r_hat <= 1.01``, and ``divergences`` must be 0.
    """
    from .bayes import convergence_problems

    stats = {k: v for k, v in summary.items() if isinstance(v, dict) and "r_hat" in v}
    stats.update({f"pull {k}": v for k, v in summary.get("nuisance", {}).items()})
    return EXIT_NOT_CONVERGED if convergence_problems(stats, int(summary.get("divergences", 0))) else 0


def _cmd_sample(args) -> int:
    from pathlib import Path

    import jcevns

    from . import bayes

    names = [n.strip() for n in args.params.split(",") if n.strip()]
    options = _parse_assignments(args.option, "--option")
    priors = {}
    for item in args.prior or ():
        if "=" not in item:
            raise ValueError(f"--prior must look like name=LO:HI or name=log:LO:HI, got {item!r}")
        key, value = item.split("=", 1)
        priors[key.strip()] = value
    # seed 003 fits R_n with a Helm form factor and without the 5 % form-factor term in the
    # signal uncertainty (footnote 4), as `jcevns reproduce` does.
    drop_ff = "rn" in names and args.analysis.startswith("csi2017")
    if drop_ff:
        options.setdefault("form_factor", "helm")
        print("jcevns sample: rn on CsI: Helm form factor, 5 % form-factor uncertainty dropped", file=sys.stderr)
    analysis = jcevns.build(args.analysis, args.preset, **options)
    lik = jcevns.likelihood(analysis, args.statistic, drop_form_factor_uncertainty=drop_ff)
    result = bayes.sample(
        lik,
        names,
        priors=priors,
        pulls=args.pulls,
        chains=args.chains,
        warmup=args.warmup,
        samples=args.samples,
        seed=args.seed,
        progress=not args.quiet,
        target_accept_prob=args.target_accept,
    )
    out = Path(args.out if args.out is not None else Path("posterior") / analysis.name)
    result.save(out)
    print(result.to_markdown())
    print(f"wrote {out}/posterior.nc, summary.json, summary.md, corner.png, trace.png")
    summary = json.loads((out / "summary.json").read_text())
    code = _sample_exit_code(summary)
    if code:
        bar = "!" * 78
        problems = bayes.convergence_problems({**result.summary, **result.nuisance}, result.divergences)
        print(f"{bar}\nWARNING: the posterior did NOT converge:", file=sys.stderr)
        for p in problems:
            print(f"  * {p}", file=sys.stderr)
        print(f"Run longer (--warmup/--samples), narrow the priors or raise --target-accept.\n{bar}", file=sys.stderr)
    return code


def _add_analysis_arguments(parser, option_help: str = "analysis option, e.g. --option form_factor=helm"):
    """The arguments every analysis-based command shares: the analysis, ``--preset``, ``--option``."""
    import jcevns

    parser.add_argument("analysis", choices=jcevns.ANALYSES)
    parser.add_argument("--preset", choices=jcevns.PRESETS, default="calibrated")
    parser.add_argument("--option", action="append", metavar="NAME=VALUE", help=option_help)


def build_parser() -> argparse.ArgumentParser:
    import jcevns

    parser = argparse.ArgumentParser(prog="jcevns", description="Fast, differentiable CEvNS fits of COHERENT data.")
    parser.add_argument("--version", action="version", version=f"jcevns {jcevns.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="SM (or given) expected events per bin and per flavour")
    _add_analysis_arguments(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="parameter value, e.g. --set sin2w=0.22")
    p.set_defaults(func=_cmd_predict)

    s = sub.add_parser("selftest", help="fixed grids vs adaptive scipy.integrate.quad (tolerance 1e-6)")
    s.add_argument("--analysis", action="append", choices=jcevns.ANALYSES, help="restrict to these analyses")
    s.add_argument("--preset", choices=jcevns.PRESETS, default="calibrated")
    s.set_defaults(func=_cmd_selftest)

    r = sub.add_parser("reproduce", help="regenerate the two reference papers' results")
    r.add_argument("--out", default="results", help="output directory (default: results/)")
    r.add_argument("--preset", choices=jcevns.PRESETS, default="calibrated")
    r.add_argument("--only", choices=("csi", "lar"), default=None)
    r.add_argument("--toys", action="store_true", help="also Feldman-Cousins vs Wilks intervals and coverage (minutes)")
    r.set_defaults(func=_cmd_reproduce)

    c = sub.add_parser(
        "scan",
        help="profiled Delta chi2 on a 1D or 2D grid, with 90 % CL intervals (1D) or regions (2D)",
        description="Scan the test statistic (pulls profiled exactly, optionally more parameters profiled "
        "with L-BFGS) on a grid of one or two parameters. Writes scan.json and scan.png.",
    )
    _add_analysis_arguments(c)
    c.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="NAME=LO:HI:N",
        help="scanned parameter, linear (sin2w=0.1:0.4:301) or log-spaced (zprime_m=log:1:1e4:46); once or twice",
    )
    c.add_argument("--profile", default=None, help="comma-separated parameters to minimise over at every point")
    c.add_argument("--set", action="append", metavar="NAME=VALUE", help="value of a fixed parameter")
    c.add_argument("--statistic", choices=("chi2", "poisson"), default="chi2")
    c.add_argument("--out", default=None, help="output directory (default: scan/<analysis>)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_scan)

    m = sub.add_parser(
        "sample",
        help="Bayesian posterior with NumPyro NUTS (exit code 3 if r_hat > 1.01 or divergences)",
        description="Sample the posterior of some parameters with NUTS. Writes posterior.nc, summary.json, "
        "summary.md, corner.png and trace.png; exits with code 3 when the chains did not converge.",
    )
    _add_analysis_arguments(m)
    m.add_argument("--params", required=True, help="comma-separated parameters, e.g. sin2w or zprime_g,zprime_m")
    m.add_argument("--chains", type=int, default=4)
    m.add_argument("--warmup", type=int, default=1000, help="warmup steps per chain")
    m.add_argument("--samples", type=int, default=2000, help="kept draws per chain")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", default=None, help="output directory (default: posterior/<analysis>)")
    m.add_argument(
        "--pulls",
        choices=("auto", "sample", "profile"),
        default="auto",
        help="marginalise or profile the pulls (auto: profile when a mediator mass is sampled, else sample)",
    )
    m.add_argument("--statistic", choices=("chi2", "poisson"), default="chi2")
    m.add_argument(
        "--prior",
        action="append",
        metavar="NAME=SPEC",
        help="prior range, e.g. sin2w=0.1:0.4 or zprime_g=log:1e-6:1e-2",
    )
    m.add_argument(
        "--target-accept",
        type=float,
        default=None,
        help="NUTS target acceptance (default 0.9 for one parameter; 0.99 for several or for mediators)",
    )
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.set_defaults(func=_cmd_sample)
    _add_toys_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:
        print(f"jcevns: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

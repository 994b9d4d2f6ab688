"""The ``jcevns`` command line: verbs mirror the Python API.

* ``jcevns list``
* ``jcevns predict ANALYSIS [--preset P] [--json] [--set name=value ...]`` (ANALYSIS: a registered
  name or a ``.toml`` description)
* ``jcevns selftest [--analysis A ...] [--preset P]``
* ``jcevns export ANALYSIS --pyhf ws.json [--approximate]``
* ``jcevns reproduce [--out DIR] [--preset P] [--only csi|lar|combined|lar2020-3d|csi2021]``
* ``jcevns scan ANALYSIS --grid sin2w=0.1:0.4:301 [--grid ...] [--profile eps_ee_d] [--out DIR]``
* ``jcevns sample ANALYSIS --params sin2w[,rn,...] [--chains 4] [--warmup 1000] [--samples 2000] ...``
* ``jcevns forecast ANALYSIS --params sin2w,rn [--json] [--set name=value ...] [--out DIR]``
* ``jcevns toys ANALYSIS --param mu_nu --grid 0:60:61 [--toys 2000] [--json] [--out DIR]``

``scan``, ``sample`` and ``forecast`` accept combinations ``a+b`` (:func:`jcevns.combine`: shared
physics, separate nuisances; ``--option`` applies to every component).
"""

from __future__ import annotations

import argparse
import json
import sys


def _parse_options(items, analysis: str) -> dict:
    """``--option name=value`` items parsed strictly by each option's declared type
    (:mod:`jcevns.options`); unknown or repeated names raise ``ValueError``."""
    from .analyses import option_kinds
    from .options import parse_option, split_assignment

    parts = [analysis] if analysis.endswith(".toml") else [p for p in analysis.split("+") if p]
    kinds = option_kinds(parts[0])
    for part in parts[1:]:  # a combination a+b: options go to every component, so each must know them
        other = option_kinds(part)
        kinds = {k: v for k, v in kinds.items() if other.get(k) == v}
    out = {}
    for item in items or ():
        key, value = split_assignment(item, "--option")
        if key not in kinds:
            raise ValueError(f"unknown option {key!r} for analysis {analysis!r}; valid options: {sorted(kinds)}")
        if key in out:
            raise ValueError(f"--option {key} is given twice")
        out[key] = parse_option(key, value, *kinds[key])
    return out


def _default_name(analysis: str) -> str:
    """Folder name for default outputs: the experiment name, or the stem of a TOML description."""
    from pathlib import Path

    return Path(analysis).stem if analysis.endswith(".toml") else analysis


def _parse_params(items) -> dict:
    """``--set name=value`` items: one finite real number per known parameter, each name once."""
    from .options import parse_parameter, split_assignment
    from .params import PARAMETER_NAMES

    out = {}
    for item in items or ():
        key, value = split_assignment(item, "--set")
        if key in out:
            raise ValueError(f"--set {key} is given twice")
        out[key] = parse_parameter(key, value, PARAMETER_NAMES)
    return out


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
    from . import experiments

    for name in experiments.names():
        print(experiments.get(name).summary_line())
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


#: Largest number of points per ``--grid`` axis (a 1e7-point axis already needs ~1 GB per result).
MAX_GRID_POINTS = 10_000_000


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
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"--grid {name} needs finite LO and HI, got {item!r}")
    if n < 2 or not hi > lo or (log and lo <= 0):
        raise ValueError(f"--grid {name} needs N >= 2 and HI > LO (> 0 for log), got {item!r}")
    if n > MAX_GRID_POINTS:
        raise ValueError(f"--grid {name} asks for {n} points; at most {MAX_GRID_POINTS} per axis")
    values = np.logspace(np.log10(lo), np.log10(hi), n) if log else np.linspace(lo, hi, n)
    return name.strip(), values


def _cmd_scan(args) -> int:
    from pathlib import Path

    import numpy as np

    import jcevns

    from .intervals import fit_1d
    from .outputs import OutputDir, check_output_dir
    from .plots import scan_figure
    from .profiling import parameter_bounds

    grid = {}
    for item in args.grid:
        name, values = parse_grid(item)
        if name in grid:
            raise ValueError(f"--grid {name} is given twice; give each scanned parameter once")
        grid[name] = values
    if not 1 <= len(grid) <= 2:
        raise ValueError(f"give one or two --grid parameters, got {len(grid)}")
    profile = tuple(n.strip() for n in (args.profile or "").split(",") if n.strip())
    if len(set(profile)) != len(profile):
        raise ValueError(f"--profile names a parameter twice: {args.profile!r}")
    out = Path(args.out or f"scan/{_default_name(args.analysis)}")
    check_output_dir(out)  # before any computation
    lik = _build_likelihood(args.analysis, args.preset, _parse_options(args.option, args.analysis), args.statistic)
    analysis = lik.analysis
    base = analysis.params(**_parse_params(args.set))
    res = jcevns.scan(lik, grid, base=base, profile=profile, progress=not args.quiet)
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
    with OutputDir(out, command="jcevns scan") as staged:
        staged.path("scan.json").write_text(json.dumps(summary, indent=1) + "\n")
        scan_figure(res, staged.path("scan.png"), title=f"{analysis.name} ({analysis.preset})")
    lines.append(f"wrote {out}/scan.json and {out}/scan.png")
    print("\n".join(lines))
    return 0


def _cmd_toys(args) -> int:
    """``jcevns toys``: Feldman-Cousins belt and interval, Wilks interval, coverage plot."""
    import time
    from pathlib import Path

    import numpy as np

    import jcevns

    from . import toyplots, toys
    from .outputs import OutputDir, check_output_dir

    t0 = time.perf_counter()
    if args.toys < 1 or args.coverage_points < 0:
        raise ValueError(f"--toys must be >= 1 and --coverage-points >= 0, got {args.toys}, {args.coverage_points}")
    spec = args.grid if "=" in args.grid else f"{args.param}={args.grid}"
    name, grid = parse_grid(spec)
    if name != args.param:
        raise ValueError(f"--grid names {name!r} but --param is {args.param!r}")
    out = Path(args.out or f"toys/{_default_name(args.analysis)}/{args.param}")
    check_output_dir(out)  # before any computation
    options = _parse_options(args.option, args.analysis)
    fixed = _parse_params(args.set)
    # An R_n fit uses the experiment's R_n options (CsI 2017: Helm form factor) and drops the
    # form-factor term from the signal uncertainty where it has one (Papoulias footnote 4), as
    # `jcevns sample` and `jcevns reproduce` do.
    if "+" in args.analysis:  # a combination (its toys: jcevns.combined_toys)
        lik = _build_likelihood(args.analysis, args.preset, options, args.statistic)
        analysis = lik.analysis
    else:
        lik_spec = jcevns.experiments.get(args.analysis).likelihood
        drop_ff = args.param == "rn" and lik_spec.form_factor_sigma is not None
        if args.param == "rn":
            for key, value in lik_spec.rn_fit_options.items():
                options.setdefault(key, value)
        analysis = jcevns.build(args.analysis, args.preset, **options)
        lik = jcevns.likelihood(analysis, args.statistic, drop_form_factor_uncertainty=drop_ff)
    base = analysis.params(**fixed)
    res = toys.neyman(lik, args.param, grid, args.toys, cl=args.cl, key=args.seed, base=base,
                      nuisances=args.nuisances)
    tag = f"{analysis.name} ({analysis.preset}), {lik.statistic}"
    cov = None
    if args.coverage_points:
        truths = np.linspace(grid[0], grid[-1], args.coverage_points + 2)[1:-1]
        cov = toys.coverage(lik, args.param, truths, args.toys, grid=grid, cl=args.cl, key=args.seed + 1,
                            base=base, nuisances=args.nuisances)
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
    with OutputDir(out, command="jcevns toys", verbose=not args.json) as staged:
        staged.path("toys.json").write_text(json.dumps(summary, indent=1) + "\n")
        toyplots.belt_figure(res, staged.path("belt.png"), title=tag)
        if cov is not None:
            toyplots.coverage_figure({tag: cov}, staged.path("coverage.png"))
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
    _add_combinable_arguments(t)
    t.add_argument("--param", required=True, help="parameter of interest, e.g. mu_nu, sin2w, rn, eps_mumu_u")
    t.add_argument("--grid", required=True, metavar="LO:HI:N", help="grid of the parameter, e.g. 0:60:61")
    t.add_argument("--toys", type=int, default=1000, help="toys per grid point")
    t.add_argument("--cl", type=float, default=0.9)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--nuisances", choices=("profiled", "prior"), default="profiled")
    t.add_argument("--coverage-points", type=int, default=5, help="true values for the coverage plot (0: none)")
    t.add_argument("--statistic", choices=("chi2", "poisson"), default=None, help="default: the experiment's")
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
    from .outputs import check_output_dir

    names = [n.strip() for n in args.params.split(",") if n.strip()]
    if len(set(names)) != len(names):
        raise ValueError(f"--params names a parameter twice: {args.params!r}")
    out = Path(args.out if args.out is not None else Path("posterior") / args.analysis)
    check_output_dir(out)  # before any sampling
    options = _parse_options(args.option, args.analysis)
    priors = {}
    for item in args.prior or ():
        if "=" not in item:
            raise ValueError(f"--prior must look like name=LO:HI or name=log:LO:HI, got {item!r}")
        key, value = item.split("=", 1)
        if key.strip() in priors:
            raise ValueError(f"--prior {key.strip()} is given twice")
        priors[key.strip()] = value
    # An R_n fit uses the experiment's R_n options (CsI 2017: Helm form factor) and drops the
    # form-factor term from the signal uncertainty where it has one (Papoulias footnote 4), as
    # `jcevns reproduce` does.
    if "+" in args.analysis:  # a combination: each component as built by default
        lik = _build_likelihood(args.analysis, args.preset, options, args.statistic)
        analysis = lik.analysis
    else:
        spec = jcevns.experiments.get(args.analysis).likelihood
        drop_ff = "rn" in names and spec.form_factor_sigma is not None
        if "rn" in names:
            for key, value in spec.rn_fit_options.items():
                options.setdefault(key, value)
        if drop_ff:
            print(f"jcevns sample: rn: options {dict(spec.rn_fit_options)}, form-factor uncertainty "
                  f"{spec.form_factor_sigma:g} dropped from the signal normalisation", file=sys.stderr)
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


def _parameters_epilog() -> str:
    """Every parameter with its unit and valid range, for the help of commands that take them."""
    from .params import SPECS

    rows = []
    for name, spec in SPECS.items():
        bracket = "(" if spec.lower_open else "["
        unit = f" {spec.unit}" if spec.unit else ""
        rows.append(f"  {name:<12} {bracket}{spec.lower:g}, {spec.upper:g}]{unit}  {spec.doc}")
    return "parameters (name, valid range, unit):\n" + "\n".join(rows)


def _options_epilog() -> str:
    """Every analysis option with its declared type, per analysis."""
    from .analyses import ANALYSES, option_kinds

    lines = ["options (--option NAME=VALUE; bool: true/false, tuple: 3.14 or 3.14,3.2):"]
    for name in ANALYSES:
        kinds = option_kinds(name)
        lines.append(f"  {name}: " + ", ".join(f"{k} ({v[0]})" for k, v in sorted(kinds.items())))
    return "\n".join(lines)


def _add_analysis_arguments(parser, option_help: str = "analysis option, e.g. --option form_factor=helm"):
    """The arguments every analysis-based command shares: the analysis, ``--preset``, ``--option``."""
    import jcevns

    parser.add_argument(
        "analysis",
        help=f"a registered experiment ({', '.join(jcevns.ANALYSES)}; `jcevns list` describes each) or a path to "
        "a .toml experiment description",
    )
    parser.add_argument(
        "--preset",
        default=None,
        help="preset of the experiment; for the papers' analyses calibrated (default): choices that reproduce the "
        "papers' normalisation, printed: every input exactly as printed (other experiments: their first preset)",
    )
    parser.add_argument("--option", action="append", metavar="NAME=VALUE", help=option_help + "; listed below")


def _formatter():
    return argparse.RawDescriptionHelpFormatter


def _add_combinable_arguments(parser):
    """Like :func:`_add_analysis_arguments`, for commands that also take combinations ``a+b``."""
    _add_analysis_arguments(parser, "analysis option (to every component of a+b)")


def _build_likelihood(name: str, preset: str, options: dict, statistic: str):
    """The likelihood of one analysis, or the combination of ``a+b+...`` (options to every one)."""
    import jcevns

    liks = [jcevns.likelihood(jcevns.build(part, preset, **options), statistic) for part in name.split("+") if part]
    return liks[0] if len(liks) == 1 else jcevns.combine(*liks)


def _cmd_forecast(args) -> int:
    from pathlib import Path

    import jcevns

    from .outputs import OutputDir, check_output_dir
    from .plots import forecast_figure

    names = [n.strip() for n in args.params.split(",") if n.strip()]
    out = Path(args.out or f"forecast/{_default_name(args.analysis)}")
    check_output_dir(out)  # before any computation
    lik = _build_likelihood(args.analysis, args.preset, _parse_options(args.option, args.analysis), args.statistic)
    if any(n.startswith("rn") for n in names) and not lik.analysis.config.physics.uses_rn:
        raise ValueError(f"{lik.analysis.name} does not use a neutron radius here; add --option form_factor=helm")
    params = lik.analysis.params(**_parse_params(args.set))
    fc = jcevns.fisher(lik, params, names)
    with OutputDir(out, command="jcevns forecast", verbose=not args.json) as staged:
        title = f"{lik.analysis.name} ({lik.analysis.preset}): Asimov forecast"
        forecast_figure(fc, staged.path("forecast.png"), title=title)
    result = {"analysis": lik.analysis.name, "preset": lik.analysis.preset, "statistic": lik.statistic}
    result |= fc.to_dict() | {"plot": str(out / "forecast.png")}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{lik.analysis.name} ({lik.analysis.preset}): expected 1 sigma (Fisher matrix on Asimov data)")
    for n, v, sig in zip(fc.names, fc.values, fc.sigma):
        print(f"  {n:>12} = {v:.6g} +- {sig:.3g}")
    print(f"wrote {out}/forecast.png")
    return 0


def _cmd_export(args) -> int:
    """Write the analysis' Poisson likelihood at the reference physics as a pyhf JSON workspace."""
    from pathlib import Path

    import numpy as np

    import jcevns
    from jcevns import binned
    from jcevns.likelihoods import _binned_model

    from .outputs import check_output_dir, write_text_atomic

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


def build_parser() -> argparse.ArgumentParser:
    import jcevns

    from .reproduce import ONLY_CHOICES

    parser = argparse.ArgumentParser(prog="jcevns", description="Fast, differentiable CEvNS fits of COHERENT data.")
    parser.add_argument("--version", action="version", version=f"jcevns {jcevns.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "predict",
        help="SM (or given) expected events per bin and per flavour",
        description="Expected CEvNS events per analysis bin and per neutrino flavour.",
        epilog=_parameters_epilog() + "\n\n" + _options_epilog(),
        formatter_class=_formatter(),
    )
    _add_analysis_arguments(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="parameter value, e.g. --set sin2w=0.22 (list below)"
    )
    p.set_defaults(func=_cmd_predict)

    v = sub.add_parser("list", help="the registered experiments: name, target, data set, citation")
    v.set_defaults(func=_cmd_list)

    s = sub.add_parser("selftest", help="fixed grids vs adaptive scipy.integrate.quad (tolerance 1e-6)")
    s.add_argument("--analysis", action="append", choices=jcevns.ANALYSES, help="restrict to these analyses")
    s.add_argument("--preset", choices=jcevns.PRESETS, default="calibrated", help="preset (default: calibrated)")
    s.set_defaults(func=_cmd_selftest)

    x = sub.add_parser("export", help="the likelihood at the reference physics as a pyhf JSON workspace")
    _add_analysis_arguments(x)
    x.add_argument("--pyhf", required=True, metavar="PATH", help="output workspace (JSON)")
    x.add_argument("--approximate", action="store_true",
                   help="also export nuisances pyhf interpolates differently (asymmetric shapes)")
    x.set_defaults(func=_cmd_export)

    r = sub.add_parser("reproduce", help="regenerate the two reference papers' results")
    r.add_argument(
        "--out",
        default="results",
        help="output directory (default: results/); files are replaced atomically, other files are kept",
    )
    r.add_argument("--preset", choices=jcevns.PRESETS, default="calibrated", help="analysis preset (calibrated)")
    r.add_argument(
        "--only",
        choices=ONLY_CHOICES,
        default=None,
        help="run only the CsI 2017 analyses, only LAr, only their combination, or one data set's section; the "
        "other entries of an existing results.json are kept",
    )
    r.add_argument("--toys", action="store_true", help="also Feldman-Cousins vs Wilks intervals and coverage (minutes)")
    r.set_defaults(func=_cmd_reproduce)

    c = sub.add_parser(
        "scan",
        help="profiled Delta chi2 on a 1D or 2D grid, with 90 %% CL intervals (1D) or regions (2D)",
        description="Scan the test statistic (pulls profiled exactly, optionally more parameters profiled "
        "with L-BFGS) on a grid of one or two parameters. Writes scan.json and scan.png. Grid values are in "
        "the parameter's unit (below).",
        epilog=_parameters_epilog() + "\n\n" + _options_epilog(),
        formatter_class=_formatter(),
    )
    _add_combinable_arguments(c)
    c.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="NAME=LO:HI:N",
        help="scanned parameter, linear (sin2w=0.1:0.4:301) or log-spaced (zprime_m=log:1:1e4:46); once or twice",
    )
    c.add_argument("--profile", default=None, help="comma-separated parameters to minimise over at every point")
    c.add_argument("--set", action="append", metavar="NAME=VALUE", help="value of a fixed parameter (unit below)")
    c.add_argument(
        "--statistic",
        choices=("chi2", "poisson"),
        default=None,
        help="chi2: the papers' Gaussian chi-square; poisson: -2 ln L of the counts (default: the experiment's)",
    )
    c.add_argument(
        "--out", default=None, help="output directory (default: scan/<analysis>); scan.json and scan.png replaced"
    )
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_scan)

    m = sub.add_parser(
        "sample",
        help="Bayesian posterior with NumPyro NUTS (exit code 3 if r_hat > 1.01 or divergences)",
        description="Sample the posterior of some parameters with NUTS. Writes posterior.nc, summary.json, "
        "summary.md, corner.png and trace.png; exits with code 3 when the chains did not converge.",
        epilog=_parameters_epilog() + "\n\n" + _options_epilog(),
        formatter_class=_formatter(),
    )
    _add_combinable_arguments(m)
    m.add_argument(
        "--params", required=True, help="comma-separated parameters, e.g. sin2w or zprime_g,zprime_m (list below)"
    )
    m.add_argument("--chains", type=int, default=4, help="number of NUTS chains (default 4; >= 2 to compare chains)")
    m.add_argument("--warmup", type=int, default=1000, help="warmup steps per chain")
    m.add_argument("--samples", type=int, default=2000, help="kept draws per chain")
    m.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0): the same seed gives the same draws")
    m.add_argument(
        "--out", default=None, help="output directory (default: posterior/<analysis>); its five files are replaced"
    )
    m.add_argument(
        "--pulls",
        choices=("auto", "sample", "profile"),
        default="auto",
        help="marginalise or profile the pulls (auto: profile when a mediator mass is sampled, else sample)",
    )
    m.add_argument(
        "--statistic",
        choices=("chi2", "poisson"),
        default=None,
        help="likelihood exp(-statistic/2) with chi2 or the Poisson -2 ln L (default: the experiment's)",
    )
    m.add_argument(
        "--prior",
        action="append",
        metavar="NAME=SPEC",
        help="prior range in the parameter's unit, e.g. sin2w=0.1:0.4 or zprime_g=log:1e-6:1e-2",
    )
    m.add_argument(
        "--target-accept",
        type=float,
        default=None,
        help="NUTS target acceptance (default 0.9 for one parameter; 0.99 for several or for mediators)",
    )
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.set_defaults(func=_cmd_sample)

    f = sub.add_parser(
        "forecast",
        help="expected 1 sigma per parameter from the Fisher matrix at the Asimov point",
        description="Fisher forecast: Hessian of the statistic on Asimov data at the given parameters, nuisances "
        "marginalised. Prints the 1 sigma per parameter (or JSON) and writes forecast.png (ellipses).",
    )
    _add_combinable_arguments(f)
    f.add_argument("--params", required=True, help="comma-separated parameters, e.g. sin2w,rn")
    f.add_argument("--set", action="append", metavar="NAME=VALUE", help="true value of a parameter (Asimov point)")
    f.add_argument("--statistic", choices=("chi2", "poisson"), default=None, help="default: the experiment's")
    f.add_argument("--json", action="store_true", help="machine-readable output")
    f.add_argument("--out", default=None, help="output directory (default: forecast/<analysis>)")
    f.set_defaults(func=_cmd_forecast)
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

"""``jcevns scan`` and ``jcevns forecast``: profiled Delta chi2 on a grid and Fisher forecasts."""

from __future__ import annotations

import json

from ._common import (
    _add_combinable_arguments,
    _add_command,
    _add_statistic_argument,
    _build_likelihood,
    _default_name,
    _parse_options,
    _parse_params,
    parse_grid,
)


def _cmd_scan(args) -> int:
    from pathlib import Path

    import numpy as np

    import jcevns

    from ..intervals import fit_1d
    from ..outputs import OutputDir, check_output_dir
    from ..plots import scan_figure
    from ..profiling import parameter_bounds

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

def _cmd_forecast(args) -> int:
    from pathlib import Path

    import jcevns

    from ..analyses import require_rn
    from ..outputs import OutputDir, check_output_dir
    from ..plots import forecast_figure

    names = [n.strip() for n in args.params.split(",") if n.strip()]
    out = Path(args.out or f"forecast/{_default_name(args.analysis)}")
    check_output_dir(out)  # before any computation
    lik = _build_likelihood(args.analysis, args.preset, _parse_options(args.option, args.analysis), args.statistic)
    if any(n.startswith("rn") for n in names):
        require_rn(lik.analysis, "add --option form_factor=helm")
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


def add_scan(sub) -> None:
    c = _add_command(
        sub,
        "scan",
        help="profiled Delta chi2 on a 1D or 2D grid, with 90 %% CL intervals (1D) or regions (2D)",
        description="Scan the test statistic (pulls profiled exactly, optionally more parameters profiled "
        "with L-BFGS) on a grid of one or two parameters. Writes scan.json and scan.png. Grid values are in "
        "the parameter's unit (below).",
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
    _add_statistic_argument(
        c, "chi2: the papers' Gaussian chi-square; poisson: -2 ln L of the counts (default: the experiment's)"
    )
    c.add_argument(
        "--out", default=None, help="output directory (default: scan/<analysis>); scan.json and scan.png replaced"
    )
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_scan)


def add_forecast(sub) -> None:
    f = sub.add_parser(
        "forecast",
        help="expected 1 sigma per parameter from the Fisher matrix at the Asimov point",
        description="Fisher forecast: Hessian of the statistic on Asimov data at the given parameters, nuisances "
        "marginalised. Prints the 1 sigma per parameter (or JSON) and writes forecast.png (ellipses).",
    )
    _add_combinable_arguments(f)
    f.add_argument("--params", required=True, help="comma-separated parameters, e.g. sin2w,rn")
    f.add_argument("--set", action="append", metavar="NAME=VALUE", help="true value of a parameter (Asimov point)")
    _add_statistic_argument(f)
    f.add_argument("--json", action="store_true", help="machine-readable output")
    f.add_argument("--out", default=None, help="output directory (default: forecast/<analysis>)")
    f.set_defaults(func=_cmd_forecast)

"""``jcevns toys``: Feldman-Cousins intervals from a toy Neyman belt, Wilks intervals, coverage."""

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


def _cmd_toys(args) -> int:
    """``jcevns toys``: Feldman-Cousins belt and interval, Wilks interval, coverage plot."""
    import time
    from pathlib import Path

    import numpy as np

    import jcevns

    from .. import toyplots, toys
    from ..outputs import OutputDir, check_output_dir

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
    t = _add_command(
        sub,
        "toys",
        help="Feldman-Cousins interval from a toy Neyman belt, Wilks interval and their coverage",
        description="Neyman construction with likelihood-ratio (Feldman-Cousins) ordering: toys at every grid "
        "point,\nfitted like the data. Writes toys.json, belt.png and (with coverage points) coverage.png.",
    )
    _add_combinable_arguments(t)
    t.add_argument("--param", required=True, help="parameter of interest, e.g. mu_nu, sin2w, rn, eps_mumu_u")
    t.add_argument("--grid", required=True, metavar="LO:HI:N", help="grid of the parameter, e.g. 0:60:61")
    t.add_argument("--toys", type=int, default=1000, help="toys per grid point")
    t.add_argument("--cl", type=float, default=0.9)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--nuisances", choices=("profiled", "prior"), default="profiled")
    t.add_argument("--coverage-points", type=int, default=5, help="true values for the coverage plot (0: none)")
    _add_statistic_argument(t)
    t.add_argument("--set", action="append", metavar="NAME=VALUE", help="value of a fixed parameter")
    t.add_argument("--out", default=None, help="output directory (default: toys/<analysis>/<param>)")
    t.add_argument("--json", action="store_true", help="print a JSON summary")
    t.set_defaults(func=_cmd_toys)


"""``jcevns sample``: Bayesian posteriors with NumPyro NUTS (:mod:`jcevns.bayes`)."""

from __future__ import annotations

import json
import sys

from ._common import (
    _add_combinable_arguments,
    _add_command,
    _add_statistic_argument,
    _build_likelihood,
    _parse_options,
)

#: Exit code of ``jcevns sample`` when the chains did not converge (r_hat > 1.01 or divergences).
EXIT_NOT_CONVERGED = 3


def _sample_exit_code(summary: dict) -> int:
    """0 if a ``summary.json`` dictionary shows converged chains, else :data:`EXIT_NOT_CONVERGED`.

    Every entry with an ``r_hat`` (the parameters, and the pulls under ``"nuisance"``) must have
    ``r_hat <= 1.01``, and ``divergences`` must be 0.
    """
    from ..bayes import convergence_problems

    stats = {k: v for k, v in summary.items() if isinstance(v, dict) and "r_hat" in v}
    stats.update({f"pull {k}": v for k, v in summary.get("nuisance", {}).items()})
    return EXIT_NOT_CONVERGED if convergence_problems(stats, int(summary.get("divergences", 0))) else 0


def _cmd_sample(args) -> int:
    from pathlib import Path

    import jcevns

    from .. import bayes
    from ..outputs import check_output_dir

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


def add_sample(sub) -> None:
    m = _add_command(
        sub,
        "sample",
        help="Bayesian posterior with NumPyro NUTS (exit code 3 if r_hat > 1.01 or divergences)",
        description="Sample the posterior of some parameters with NUTS. Writes posterior.nc, summary.json, "
        "summary.md, corner.png and trace.png; exits with code 3 when the chains did not converge.",
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
    _add_statistic_argument(
        m, "likelihood exp(-statistic/2) with chi2 or the Poisson -2 ln L (default: the experiment's)"
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

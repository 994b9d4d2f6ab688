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
import sys

from ._common import MAX_GRID_POINTS, parse_grid  # noqa: F401  (public: the --grid syntax)
from ._describe import add_export, add_list, add_predict, add_selftest
from ._fits import add_forecast, add_scan
from ._sample import EXIT_NOT_CONVERGED, _sample_exit_code, add_sample  # noqa: F401  (used by tests and scripts)
from ._toys import _add_toys_parser


def _cmd_reproduce(args) -> int:
    from .. import reproduce

    return reproduce.main(out=args.out, preset=args.preset, only=args.only, toys=getattr(args, "toys", False))


def add_reproduce(sub) -> None:
    import jcevns

    from ..reproduce import ONLY_CHOICES

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


def build_parser() -> argparse.ArgumentParser:
    import jcevns

    parser = argparse.ArgumentParser(prog="jcevns", description="Fast, differentiable CEvNS fits of COHERENT data.")
    parser.add_argument("--version", action="version", version=f"jcevns {jcevns.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_predict(sub)
    add_list(sub)
    add_selftest(sub)
    add_export(sub)
    add_reproduce(sub)
    add_scan(sub)
    add_sample(sub)
    add_forecast(sub)
    _add_toys_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run one command; a ``ValueError`` becomes one line on stderr and exit code 2."""
    import matplotlib

    matplotlib.use("Agg")  # figures are written to files; the library itself leaves the backend alone
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:
        print(f"jcevns: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

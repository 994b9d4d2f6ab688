"""Derive the fitted inputs of the CsI 2021 analysis from the shipped release files.

Writes into ``jcevns/data/csi2021.json``: the shape templates of the nuisances, the time zero
(POT pulse mean on the data's time axis, from the neutrino-induced-neutron template), the
steady-state PE-shape fit to the
anti-coincidence events with its goodness of fit, and the test of the steady-state time shape.

    PYTHONPATH=. python tools/derive_csi2021.py [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

from jcevns.experiments import csi2021 as base  # noqa: E402
from jcevns.experiments import csi2021_backgrounds as bkg  # noqa: E402

PATH = Path(__file__).resolve().parents[1] / "jcevns" / "data" / "csi2021.json"


def _shapes() -> dict:
    from jcevns.experiments import csi2021_likelihood as lik

    def rounded(a):
        return [round(float(x), 12) for x in a]

    out = {name: {"sample": sample, "up": rounded(up), "down": rounded(down)}
           for name, (sample, up, down) in lik.shape_ratios().items()}
    out["source"] = ("Ratios (+-1 sigma / nominal, per PE x time bin) of the signal at the SM for the release's "
                     "quenching models 0 and 1 and efficiency variants, a +-0.1 us shift of the neutrino times, "
                     "and a +-0.1 us shift of the BRN time template. tools/derive_csi2021.py.")
    return out


def derive() -> dict:
    ac = base.roi_events("AC")
    tz = bkg.fit_time_zero()
    theta = bkg.fit_ss_pe(ac[:, 0])
    return {
        "time_zero": tz | {
            "source": "Fit of the SNS timing model (Gaussian POT pulse of 150 ns convolved with the pion and muon "
            "lifetimes; free prompt fraction, POT mean and scale) to ninTrec.txt (arXiv:2110.07730 ancillary): "
            "the neutrino-induced neutrons follow the neutrino arrival times. tools/derive_csi2021.py."
        },
        "ss_pe_fit": {
            "theta": [float(x) for x in theta],
            "quality_2pe_bins": bkg.ss_pe_fit_quality(theta, ac[:, 0]),
            "source": "Unbinned ML fit of exp(cubic(PE/60)) / (1 + exp(-(PE - x0)/w)) to the 1295 anti-coincidence "
            "events in the ROI (dataBeamOnAC.txt). theta = (x0, ln w, c1, c2, c3). tools/derive_csi2021.py.",
        },
        "shape_templates": _shapes(),
        "ss_time_test": bkg.ss_time_test(ac[:, 1]) | {
            "source": "Unbinned likelihood ratio of the AC arrival times: flat vs the release's time efficiency "
            "shape (exponential slope after 0.52 us fitted). tools/derive_csi2021.py."
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing")
    args = parser.parse_args(argv)
    table = json.loads(PATH.read_text())
    new = derive()
    if args.check:
        bad = [k for k in new if json.dumps(new[k], sort_keys=True) != json.dumps(table.get(k), sort_keys=True)]
        print("differs:" if bad else "identical", *bad)
        return 1 if bad else 0
    table.update(new)
    fd, tmp = tempfile.mkstemp(dir=PATH.parent, suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(table, f, indent=1)
        f.write("\n")
    os.replace(tmp, PATH)
    print(json.dumps(new, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Export a :class:`~jcevns.binned.BinnedModel` as a pyhf JSON workspace (HistFactory).

pyhf (Heinrich, Feickert, Stark, Cranmer, JOSS 6 2823 (2021)) is the reference implementation
of HistFactory (Cranmer et al., CERN-OPEN-2012-016) and an independent check of the binned
Poisson likelihood. The mapping:

* the signal becomes a sample with a ``normfactor`` POI ``mu`` (the signal strength);
* a :class:`~jcevns.binned.NormSys` (``1 + sigma a``, linear, unit-Gaussian ``a``) becomes a
  ``histosys`` with templates ``(1 +- sigma) x nominal`` on every sample it acts on. pyhf's
  ``normsys`` cannot express it (its interpolation is exponential, ``(1 + sigma)^a``), but a
  symmetric histosys is linear under every pyhf interpolation code, so this is exact;
* a :class:`~jcevns.binned.ShapeSys` becomes a ``histosys`` with templates ``up x nominal`` and
  ``down x nominal``. jcevns interpolates them quadratically inside ``|a| <= 1`` and continues
  linearly with the same slope outside (ROOT HistFactory's interpolation code 2). pyhf's
  ``code2`` is the same quadratic inside ``|a| <= 1`` but drops the offset outside (it jumps
  at ``|a| = 1``: pyhf issue #2729, and in pyhf 0.7.6 also #2610), and pyhf's default
  ``code0`` is piecewise linear. Symmetric templates (``up - 1 = 1 - down``) are linear under
  every code and export exactly; asymmetric ones are refused unless
  ``allow_approximate=True`` (then load with ``PYHF_MODIFIER_SETTINGS``, which selects code0).

A sample with both a normalisation and a shape nuisance is refused too (unless
``allow_approximate``): pyhf adds histosys deltas where jcevns multiplies the factors,
``(1 + sigma a)(1 + delta)``. pyhf has only the Poisson statistic, so chi-square models are
refused.
"""

from __future__ import annotations

import numpy as np

from .binned import BinnedModel

#: ``pyhf.Workspace(ws).model(modifier_settings=...)``: piecewise-linear histosys (pyhf's default,
#: stated so the export does not depend on it), exact for every template :func:`to_pyhf` accepts.
PYHF_MODIFIER_SETTINGS = {"normsys": {"interpcode": "code4"}, "histosys": {"interpcode": "code0"}}


def to_pyhf(bm: BinnedModel, signal, *, channel: str = "cevns", allow_approximate: bool = False) -> dict:
    """A pyhf JSON workspace equivalent to ``bm`` with the given signal.

    Args:
        bm: a Poisson :class:`~jcevns.binned.BinnedModel`.
        signal: ``(n_bins,)`` expected signal counts (e.g. :func:`jcevns.predict`).
        channel: the channel name in the workspace.
        allow_approximate: export asymmetric shape templates and samples with both
            normalisation and shape nuisances, which pyhf interpolates or combines differently
            (see the module docstring).

    Returns:
        A dict in pyhf's workspace schema (version 1.0.0); load it with
        ``pyhf.Workspace(ws).model(modifier_settings=PYHF_MODIFIER_SETTINGS)``. The POI is
        ``mu`` with bounds ``[0, 10]``; the nuisances keep the names in ``bm.pull_names``.

    Raises:
        ValueError: a chi-square model, a signal of the wrong shape, or (unless
            ``allow_approximate``) what pyhf cannot express exactly.
    """
    if bm.statistic != "poisson":
        raise ValueError(f"pyhf expresses only Poisson likelihoods; this model's statistic is {bm.statistic!r}")
    signal = np.asarray(signal, dtype=np.float64)
    if signal.shape != (bm.n_bins,) or not np.all(np.isfinite(signal)) or np.any(signal < 0):
        raise ValueError(f"signal must be {bm.n_bins} finite non-negative counts, got shape {signal.shape}")
    nominal = np.concatenate([signal[None, :], np.asarray(bm.backgrounds)])
    widths = np.asarray(bm.norm_widths)
    slope, curvature = np.asarray(bm.shape_slope), np.asarray(bm.shape_curvature)
    samples = []
    for s, name in enumerate(bm.sample_names):
        nom = nominal[s]
        mods = [{"name": "mu", "type": "normfactor", "data": None}] if s == 0 else []
        for k in range(bm.n_norm):
            if widths[k, s] > 0:
                hi, lo = nom * (1 + widths[k, s]), nom * (1 - widths[k, s])
                mods.append({"name": bm.pull_names[k], "type": "histosys", "data": _histo(hi, lo)})
        shaped = False
        for j in range(bm.n_norm, bm.n_pulls):
            if np.any(slope[j, s] != 0) or np.any(curvature[j, s] != 0):
                up = 1 + slope[j, s] + curvature[j, s]
                down = 1 - slope[j, s] + curvature[j, s]
                mods.append({"name": bm.pull_names[j], "type": "histosys", "data": _histo(nom * up, nom * down)})
                shaped = True
                if np.any(curvature[j, s] != 0) and not allow_approximate:
                    raise ValueError(
                        f"shape nuisance {bm.pull_names[j]!r} has asymmetric templates, which pyhf interpolates "
                        "differently; pass allow_approximate=True to export it anyway"
                    )
        if shaped and np.any(widths[:, s] > 0) and not allow_approximate:
            raise ValueError(
                f"sample {name!r} has both normalisation and shape nuisances, which pyhf adds where jcevns "
                "multiplies them; pass allow_approximate=True to export it anyway"
            )
        samples.append({"name": name, "data": nom.tolist(), "modifiers": mods})
    return {
        "channels": [{"name": channel, "samples": samples}],
        "observations": [{"name": channel, "data": np.asarray(bm.observed).tolist()}],
        "measurements": [
            {"name": "jcevns", "config": {"poi": "mu", "parameters": [{"name": "mu", "bounds": [[0.0, 10.0]]}]}}
        ],
        "version": "1.0.0",
    }


def _histo(hi, lo) -> dict:
    return {"hi_data": np.asarray(hi).tolist(), "lo_data": np.asarray(lo).tolist()}

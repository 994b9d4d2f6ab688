"""Independent cross-check of the CsI 2021 likelihood with pyhf (the exported workspace)."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from jcevns import binned, cli
from jcevns.experiments import csi2021_likelihood as lik
from jcevns.pyhf_export import PYHF_MODIFIER_SETTINGS

pyhf = pytest.importorskip("pyhf")


def test_pyhf_fit_of_signal_strength_agrees(tmp_path):
    path = tmp_path / "ws.json"
    assert cli.main(["export", "csi2021", "--pyhf", str(path)]) == 0
    ws = json.loads(path.read_text())
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    workspace = pyhf.Workspace(ws)
    model = workspace.model(modifier_settings=PYHF_MODIFIER_SETTINGS)
    data = workspace.data(model)
    best, nll_best = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    _, nll_zero = pyhf.infer.mle.fixed_poi_fit(0.0, data, model, return_fitted_val=True)
    mu_pyhf = float(best[model.config.poi_index])
    delta_pyhf = float(nll_zero - nll_best)

    # jcevns: the same nuisance model (flux and background normalisations), all profiled
    channel = ws["channels"][0]["samples"]
    signal = jnp.asarray(channel[0]["data"])
    bm = binned.model(np.asarray(ws["observations"][0]["data"]),
                      [binned.Sample("cevns")] + [binned.Sample(s["name"], np.asarray(s["data"])) for s in channel[1:]],
                      [binned.NormSys("flux", ("cevns",), 0.10), binned.NormSys("ss_norm", ("ss",), 0.021),
                       binned.NormSys("brn_norm", ("brn",), 0.25), binned.NormSys("nin_norm", ("nin",), 0.36)])
    fit = lik.fit_jit(bm, signal)
    zero = lik.fit_jit(bm, signal, jnp.ones(1 + bm.n_pulls).at[0].set(0.0), fit.theta.at[0].set(0.0))
    assert bool(fit.converged) and bool(zero.converged)
    assert float(fit.theta[0]) == pytest.approx(mu_pyhf, rel=1e-3)
    assert float(zero.value - fit.value) == pytest.approx(delta_pyhf, rel=1e-3)
    # the pulls agree too (pyhf's histosys pull = jcevns' unit-Gaussian pull)
    for i, name in enumerate(bm.pull_names):
        j = model.config.par_map[name]["slice"].start
        assert float(fit.theta[1 + i]) == pytest.approx(float(best[j]), abs=2e-3)

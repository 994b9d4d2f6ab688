"""pyhf fits the exported workspace; its MLE of mu and Delta(-2 ln L) must equal jcevns' own."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from jcevns import binned
from jcevns.pyhf_export import PYHF_MODIFIER_SETTINGS

pyhf = pytest.importorskip("pyhf")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jsonschema, inside pyhf

OBS = np.array([25.0, 18.0, 11.0, 9.0, 4.0])
SIGNAL = np.array([10.0, 7.0, 4.0, 2.0, 0.5])
BRN = np.array([8.0, 6.0, 4.0, 3.0, 2.0])
SS = np.array([3.0, 3.0, 3.0, 3.0, 2.0])
UP = np.array([1.25, 1.1, 1.0, 0.9, 0.8])  # symmetric: linear in the pull, exact in pyhf
DOWN = 2.0 - UP


def _model():
    return binned.model(
        OBS,
        [binned.Sample("cevns"), binned.Sample("brn", BRN), binned.Sample("ss", SS)],
        [
            binned.NormSys("flux", ("cevns",), 0.1),
            binned.NormSys("brn_norm", ("brn",), 0.3),
            binned.ShapeSys("ss_shape", "ss", UP, DOWN),
        ],
    )


def _jcevns_fit(bm):
    f = jax.jit(lambda mu: binned.profile(bm, mu * jnp.asarray(SIGNAL)))
    res = minimize_scalar(lambda mu: float(f(mu).value), bounds=(0.0, 10.0), method="bounded",
                          options=dict(xatol=1e-10))
    assert bool(f(res.x).converged) and bool(f(0.0).converged)
    return res.x, float(f(0.0).value) - res.fun


def test_pyhf_agrees_on_mle_and_delta_twice_nll():
    bm = _model()
    ws = pyhf.Workspace(binned.to_pyhf(bm, SIGNAL))
    model = ws.model(modifier_settings=PYHF_MODIFIER_SETTINGS)
    data = ws.data(model)
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    best, twice_nll_best = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    _, twice_nll_zero = pyhf.infer.mle.fixed_poi_fit(0.0, data, model, return_fitted_val=True)
    mu_pyhf = best[model.config.poi_index]
    delta_pyhf = float(twice_nll_zero - twice_nll_best)

    mu_hat, delta = _jcevns_fit(bm)
    assert 0.5 < mu_hat < 2.0 and delta > 1.0  # a real signal, not a boundary case
    assert mu_hat == pytest.approx(mu_pyhf, rel=1e-3)
    assert delta == pytest.approx(delta_pyhf, rel=1e-3)
    # The nuisance pulls at the best fit agree too (pyhf's are unit Gaussians as well).
    pulls = binned.profile(bm, mu_hat * jnp.asarray(SIGNAL)).pulls
    for name, value in zip(bm.pull_names, np.asarray(pulls)):
        assert value == pytest.approx(best[model.config.par_slice(name)][0], abs=2e-3)


def test_export_refuses_what_pyhf_cannot_express():
    chi2 = binned.model(OBS, [binned.Sample("cevns")], statistic="chi2", variance=OBS)
    with pytest.raises(ValueError, match="only Poisson"):
        binned.to_pyhf(chi2, SIGNAL)
    both = binned.model(
        OBS,
        [binned.Sample("cevns"), binned.Sample("ss", SS)],
        [binned.NormSys("n", ("ss",), 0.1), binned.ShapeSys("s", "ss", UP, DOWN)],
    )
    with pytest.raises(ValueError, match="both normalisation and shape"):
        binned.to_pyhf(both, SIGNAL)
    skew = binned.model(OBS, [binned.Sample("cevns"), binned.Sample("ss", SS)], [binned.ShapeSys("s", "ss", UP, UP)])
    with pytest.raises(ValueError, match="asymmetric templates"):
        binned.to_pyhf(skew, SIGNAL)
    with pytest.raises(ValueError, match="signal must be 5"):
        binned.to_pyhf(_model(), SIGNAL[:3])

"""The forward model: paper normalisations, physics limits, gradients, tracing, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jcevns
from jcevns import forward
from jcevns.params import PARAMETER_NAMES, RADIUS_NAMES

#: Experiments with the reference presets (calibrated, printed); the others have their own tests.
REFERENCE = tuple(n for n in jcevns.ANALYSES if set(jcevns.PRESETS) <= set(jcevns.experiments.get(n).presets))


def total(an, **values):
    return float(jcevns.predict(an.params(**values), an).sum())


# --- normalisation against the papers ------------------------------------------------
def test_calibrated_totals_match_the_papers(analyses):
    # Papoulias 2020 sec. II: 174 (old QF) and 158 (new QF) SM events in 6 <= nPE < 30.
    assert total(analyses["csi2017-oldqf", "calibrated"]) == pytest.approx(174, abs=2)
    assert total(analyses["csi2017-newqf", "calibrated"]) == pytest.approx(158, rel=0.03)
    # Miranda et al. 2020 sec. 3.3: "the 130 events expected in the Standard Model".
    assert total(analyses["lar2020", "calibrated"]) == pytest.approx(130, rel=0.02)


def test_printed_presets_fall_short_as_the_notes_explain(analyses):
    # R_A = 1.23 A^1/3 lowers CsI by 3-4 %; r = 0.08 instead of 0.09 lowers LAr by 1/9.
    for name in ("csi2017-oldqf", "csi2017-newqf"):
        ratio = total(analyses[name, "printed"]) / total(analyses[name, "calibrated"])
        assert 0.95 < ratio < 0.98
    ratio = total(analyses["lar2020", "printed"]) / total(analyses["lar2020", "calibrated"])
    assert ratio == pytest.approx(0.08 / 0.09, rel=1e-12)


def test_per_flavour_shape_and_sign(analyses):
    for an in analyses.values():
        p = an.params()
        per = jcevns.predict_per_flavour(p, an)
        assert per.shape == (3, an.n_bins)
        assert per.dtype == jnp.float64
        assert np.all(per >= 0) and np.all(per.sum(axis=1) > 0)


def test_csi_bins_and_options(analyses):
    an = analyses["csi2017-oldqf", "calibrated"]
    assert an.n_bins == 12
    assert an.bin_edges[0] == 6 and an.bin_edges[-1] == 30
    assert an.options()["light_yield_pe_per_kevee"] == 13.348
    assert an.options()["kn_radius_coeff_fm"] == 1.2
    assert analyses["csi2017-oldqf", "printed"].options()["kn_radius_coeff_fm"] == 1.23


# --- physics limits ----------------------------------------------------------------
@pytest.mark.parametrize("name", REFERENCE)
def test_heavy_mediators_decouple(analyses, name):
    an = analyses[name, "calibrated"]
    sm = total(an)
    assert total(an, zprime_g=1e-3, zprime_m=1e7) == pytest.approx(sm, rel=1e-6)
    assert total(an, scalar_g=1e-3, scalar_m=1e7) == pytest.approx(sm, rel=1e-6)
    # ... but not when light: the universal Z' interferes destructively, the scalar adds.
    assert total(an, zprime_g=1e-5, zprime_m=10.0) < sm * 0.99
    assert total(an, scalar_g=1e-5, scalar_m=10.0) > sm * 1.01


def test_bl_zprime_interferes_constructively(analyses):
    an = jcevns.build("lar2020", zprime_couplings="b-l")
    assert total(an, zprime_g=1e-5, zprime_m=10.0) > total(an) * 1.01


def test_nsi_shifting_only_the_proton_coupling_equals_a_charge_radius():
    # eps_u = 2d/3, eps_d = -d/3 adds d to g_p and nothing to g_n; with tree-level couplings a
    # charge-radius shift Delta sin^2 changes g_p by -2 Delta. Both must give the same counts.
    an = jcevns.build("lar2020")
    coeff = an.config.physics.charge_radius_coeff
    r2 = 10.0
    delta = -2.0 * coeff * r2
    nsi = total(an, eps_ee_u=2 * delta / 3, eps_ee_d=-delta / 3)
    radius = total(an, r2_nue=r2)
    assert nsi == pytest.approx(radius, rel=1e-12)
    assert abs(nsi / total(an) - 1) > 1e-3  # and it is a real change


def test_effective_magnetic_moment_is_the_same_moment_for_every_flavour(analyses):
    an = analyses["csi2017-newqf", "calibrated"]
    one = total(an, mu_nu=30.0)
    three = total(an, mu_nu_e=30.0, mu_nu_mu=30.0, mu_nu_mubar=30.0)
    assert one == pytest.approx(three, rel=1e-13)
    assert one > total(an) * 1.02


def test_flavour_changing_nsi_options():
    inc = jcevns.build("lar2020", fc_nsi="incoherent")
    lin = jcevns.build("lar2020", fc_nsi="as_printed")
    # incoherent: even in the FC epsilon, and always adds events
    assert total(inc, eps_etau_d=0.2) == pytest.approx(total(inc, eps_etau_d=-0.2), rel=1e-13)
    assert total(inc, eps_etau_d=0.2) > total(inc)
    # as printed: the FC charge interferes with the SM one, so the sign matters
    assert total(lin, eps_etau_d=0.2) != pytest.approx(total(lin, eps_etau_d=-0.2), rel=1e-3)


def test_weak_mixing_angle_scaling_of_proton_coupling():
    # Doubling the weak charge quadruples the weak cross section: Q_W ~ -N/2 for sin2w = 1/4
    # at tree level, so the counts at sin2w = 0.25 follow from N^2 F_n^2 alone.
    an = jcevns.build("lar2020", proton_rms_radius_fm=(3.36,))
    n0 = total(an, sin2w=0.25)
    # eps_ee/mumu with u + 2 d = -1/2 (and 2u + d = 0) doubles g_n for every flavour.
    doubled = total(an, sin2w=0.25, eps_ee_u=1 / 6, eps_ee_d=-1 / 3, eps_mumu_u=1 / 6, eps_mumu_d=-1 / 3)
    assert doubled == pytest.approx(4 * n0, rel=1e-12)


# --- gradients ---------------------------------------------------------------------
POINTS = {
    "sm": {},
    "bsm": dict(
        eps_ee_u=0.05, eps_mumu_d=-0.03, eps_emu_u=0.02, eps_etau_d=0.04, eps_mutau_u=-0.02,
        mu_nu=5.0, mu_nu_e=3.0, mu_nu_mu=4.0, mu_nu_mubar=6.0,
        r2_nue=-3.0, r2_numu=2.0, r2_numubar=5.0,
        zprime_g=2e-5, zprime_m=30.0, scalar_g=1e-5, scalar_m=20.0,
    ),
}


# Typical size of each parameter, for the finite-difference step and the absolute tolerance.
SCALE = {"sin2w": 0.2, "rn": 1.0, "zprime_g": 1e-5, "scalar_g": 1e-5, "zprime_m": 10.0, "scalar_m": 10.0}
SCALE.update({n: 0.1 for n in PARAMETER_NAMES if n.startswith("eps_")})
SCALE.update({n: 10.0 for n in PARAMETER_NAMES if n.startswith(("mu_nu", "r2_"))})


def _fd_check(an, values, names):
    from jcevns.params import as_float64

    p0 = an.params(**values)
    grad = jax.grad(lambda p: jcevns.predict(p, an).sum())(p0)

    def f(p):  # the kernel itself: central differences may step just below a range boundary
        return float(forward._predict_kernel(as_float64(p), an).sum())

    f0 = f(p0)
    for name in names:
        x = float(getattr(p0, name))
        g = float(getattr(grad, name))
        assert np.isfinite(g), name
        h = 1e-4 * max(abs(x), SCALE[name])
        fd = (f(p0.replace(**{name: x + h})) - f(p0.replace(**{name: x - h}))) / (2 * h)
        tol = 1e-6 * max(abs(g), abs(fd)) + 1e-9 * f0 / SCALE[name]
        assert abs(g - fd) <= tol, (name, g, fd)


@pytest.mark.parametrize("name", REFERENCE)
@pytest.mark.parametrize("point", list(POINTS))
def test_gradient_matches_finite_differences(analyses, name, point):
    an = analyses[name, "calibrated"] if name != "csi2017-newqf" else jcevns.build(name, form_factor="helm")
    # (per-nucleus radii: tests/test_combined.py, at values where they are in use)
    names = [n for n in PARAMETER_NAMES if n not in RADIUS_NAMES[1:] and (n != "rn" or an.config.physics.uses_rn)]
    # At the SM point the gradients in quadratic parameters (mu, g, FC eps) vanish exactly;
    # mediator masses have zero gradient at zero coupling.
    _fd_check(an, POINTS[point], names)


def test_gradients_finite_at_boundaries():
    an = jcevns.build("csi2017-newqf", form_factor="helm")
    for values in (
        dict(rn=an.rn_lower * (1 + 1e-12)),
        dict(mu_nu=0.0, zprime_g=0.0, scalar_g=0.0, eps_ee_u=0.0),
        dict(zprime_m=1e-3, zprime_g=1e-9),
    ):
        p = an.params(**values)
        value, grad = jax.value_and_grad(lambda q: jcevns.predict(q, an).sum())(p)
        assert np.isfinite(value)
        assert all(np.isfinite(v) for v in jax.tree_util.tree_leaves(grad)), values


# --- event templates ------------------------------------------------------------------
TEMPLATE_CASES = [
    ("csi2017-oldqf", "calibrated", {}),
    ("csi2017-newqf", "printed", {}),  # FC NSI as printed, printed charge radius
    ("csi2017-newqf", "calibrated", dict(form_factor="helm", couplings="tree", zprime_couplings="b-l")),
    ("lar2020", "calibrated", {}),
    ("lar2020", "printed", dict(recoil_term=False, scalar_charge="papoulias2020")),
]


@pytest.mark.parametrize("name, preset, options", TEMPLATE_CASES)
def test_event_templates_reproduce_the_full_prediction(name, preset, options):
    """The quadratic-form rearrangement is exact: same counts per flavour at random points of
    every parameter it leaves free, and the same gradients."""
    an = jcevns.build(name, preset, **options)
    rng = np.random.default_rng(7)
    fixed = dict(zprime_m=25.0, scalar_m=8.0) | (dict(rn=3.9) if an.config.physics.uses_rn else {})
    templates = forward.event_templates(an.params(**fixed), an)
    for _ in range(4):
        values = {n: rng.uniform(-0.3, 0.3) for n in PARAMETER_NAMES if n.startswith("eps_")}
        values |= {n: rng.uniform(-10, 10) for n in ("r2_nue", "r2_numu", "r2_numubar")}
        values |= {n: rng.uniform(0, 20) for n in ("mu_nu", "mu_nu_e", "mu_nu_mu", "mu_nu_mubar")}
        values |= dict(sin2w=rng.uniform(0.2, 0.26), zprime_g=rng.uniform(0, 5e-5), scalar_g=rng.uniform(0, 5e-5))
        p = an.params(**fixed, **values)
        full = np.asarray(jcevns.predict_per_flavour(p, an))
        fast = np.asarray(forward.templates_per_flavour(p, templates))
        np.testing.assert_allclose(fast, full, rtol=1e-12, atol=1e-12 * full.max())
        g_full = jax.grad(lambda q: jcevns.predict(q, an).sum())(p)
        g_fast = jax.grad(lambda q: forward.predict_from_templates(q, templates).sum())(p)
        for n in values:
            a, b = float(getattr(g_fast, n)), float(getattr(g_full, n))
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12 * abs(full.sum()) / SCALE.get(n, 1.0)), n


def test_event_templates_hold_the_shape_parameters_fixed():
    an = jcevns.build("lar2020")
    templates = forward.event_templates(an.params(zprime_m=30.0, rn=3.5), an)
    fixed = np.asarray(templates.fixed)  # rn, zprime_m, scalar_m, then the per-nucleus radii (0: use rn)
    np.testing.assert_array_equal(fixed[:3], [3.5, 30.0, an.params().scalar_m])
    np.testing.assert_array_equal(fixed[3:], 0.0)
    at = an.params(zprime_g=1e-4, zprime_m=30.0, rn=3.5)
    moved = at.replace(zprime_m=300.0, rn=4.5)  # ignored by the templates ...
    expected = total(an, **at.to_dict())
    assert float(forward.predict_from_templates(moved, templates).sum()) == pytest.approx(expected, rel=1e-12)
    # ... but not by the model
    assert total(an, **moved.to_dict()) != pytest.approx(total(an, **at.to_dict()), rel=1e-3)


# --- compile once ------------------------------------------------------------------
def test_changing_values_does_not_retrace():
    an = jcevns.build("csi2017-oldqf")
    jcevns.predict(an.params(), an)  # compile
    before = forward._TRACES["predict"]
    for s in (0.20, 0.21, 0.22):
        jcevns.predict(an.params(sin2w=s, zprime_g=1e-5 * s, mu_nu=s), an)
    jcevns.predict(an.params(sin2w=np.float64(0.2), eps_ee_u=np.float32(0.1)), an)
    jcevns.predict(an.params(sin2w=1), an)  # a Python int
    assert forward._TRACES["predict"] == before


def test_rebuilding_with_the_same_options_reuses_the_compiled_kernel():
    an = jcevns.build("csi2017-newqf", light_yield_pe_per_kevee=13.0)
    jcevns.predict(an.params(), an)
    before = forward._TRACES["predict"]
    again = jcevns.build("csi2017-newqf", light_yield_pe_per_kevee=13.0)
    assert again is not an
    np.testing.assert_array_equal(jcevns.predict(again.params(), again), jcevns.predict(an.params(), an))
    assert forward._TRACES["predict"] == before
    # A changed option is part of the static configuration and compiles a new kernel.
    other = jcevns.build("csi2017-newqf", couplings="tree")
    assert not np.allclose(jcevns.predict(other.params(), other), jcevns.predict(an.params(), an))
    assert forward._TRACES["predict"] == before + 1


def test_vmap_over_parameters():
    an = jcevns.build("csi2017-oldqf")
    s = jnp.linspace(0.2, 0.25, 5)
    batched = jax.vmap(lambda x: jcevns.predict(an.params().replace(sin2w=x), an))(s)
    for i, x in enumerate(s):
        np.testing.assert_allclose(batched[i], jcevns.predict(an.params(sin2w=float(x)), an), rtol=1e-13)


# --- bad input ---------------------------------------------------------------------
def test_bad_input_is_rejected_before_jit():
    an = jcevns.build("csi2017-oldqf")
    helm = jcevns.build("lar2020")
    before = forward._TRACES["predict"]
    with pytest.raises(ValueError, match="unknown analysis"):
        jcevns.build("csi2025")
    with pytest.raises(ValueError, match="unknown preset"):
        jcevns.build("lar2020", preset="best")
    with pytest.raises(ValueError, match="unknown option"):
        jcevns.build("lar2020", quenching=0.1)
    with pytest.raises(ValueError, match="form_factor must be one of"):
        jcevns.build("lar2020", form_factor="fermi")
    with pytest.raises(ValueError, match="data_bin_6_8"):
        jcevns.build("lar2020", data_bin_6_8="digitized")
    with pytest.raises(ValueError, match=r"zprime_m .* outside its valid range \(0, "):
        an.params(zprime_m=-5.0)
    with pytest.raises(ValueError, match="zprime_g"):
        an.params(zprime_g=-1e-3)
    with pytest.raises(ValueError, match="mu_nu"):
        an.params(mu_nu=-1.0)
    with pytest.raises(ValueError, match=r"rn .* outside its valid range \(1.55885"):
        helm.params(rn=1.5)
    with pytest.raises(ValueError, match="rn is not used by csi2017-oldqf"):
        an.params(rn=5.0)
    with pytest.raises(ValueError, match="must be finite"):
        an.params(sin2w=float("nan"))
    with pytest.raises(ValueError, match="unknown parameter"):
        an.params(sin2theta=0.2)
    with pytest.raises(ValueError, match="must be a jcevns.Params"):
        jcevns.predict({"sin2w": 0.23}, an)
    with pytest.raises(ValueError, match="must be a jcevns.Analysis"):
        jcevns.predict(an.params(), "csi2017-oldqf")
    with pytest.raises(ValueError, match="rn"):
        jcevns.predict(jcevns.Params(rn=1.0), helm)
    assert forward._TRACES["predict"] == before

"""Hostile input: every public entry point either raises a clear error naming the argument
(``ValueError`` in Python, exit code 2 and one sentence for the command line) or returns a
verified correct result; out-of-range values under jit give NaN, never a plausible number."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jcevns
from jcevns import cli


@pytest.fixture(scope="module")
def csi():
    return jcevns.build("csi2017-oldqf")


@pytest.fixture(scope="module")
def lar():
    return jcevns.build("lar2020")


# --- profiled statistic at large couplings ------------------------------------------------


@pytest.mark.parametrize("statistic", ["chi2", "poisson"])
@pytest.mark.parametrize("g", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("mass", [1e-3, 1e4])
def test_statistic_and_mediator_scan_agree(csi, statistic, g, mass):
    """The direct statistic and the mediator-plane scan (three predictions per mass) profile the
    same counts: they agree to 1e-6 even where the signal is 1e23 events (g = 10, M = 1 keV)."""
    lik = jcevns.likelihood(csi, statistic)
    direct = float(jcevns.statistic(csi.params(zprime_m=mass, zprime_g=g), lik))
    plane = jcevns.scan(lik, {"zprime_m": np.array([mass]), "zprime_g": np.array([g])}).values[0, 0]
    assert np.isfinite(direct) and direct == pytest.approx(plane, rel=1e-6)


def test_chi2_limit_of_a_huge_signal(csi, lar):
    """When the signal exceeds the data by ~1e20 the best signal multiplier m1 is ~1e-20, so the
    chi-square tends to the signal prior 1/s1^2 plus a fit with a free signal normalisation
    (LAr: one bin, fitted exactly; CsI: a 2x2 least-squares problem solved here in numpy)."""
    lik = jcevns.likelihood(lar)
    value = float(jcevns.statistic(lar.params(zprime_m=1e-3, zprime_g=10.0), lik))
    assert value == pytest.approx(1.0 / 0.085**2, rel=1e-9)  # 8.5 % signal prior, Miranda et al. eq. 3.1
    lik = jcevns.likelihood(csi)
    p = csi.params(zprime_m=1e-3, zprime_g=10.0)
    shape = np.asarray(jcevns.predict(p, csi))
    assert shape.sum() > 1e20
    shape = shape / shape.sum()
    d = {k: np.asarray(v) for k, v in csi.data.items()}
    w = 1.0 / (d["n_meas"] + d["b_0n"] + 2.0 * d["b_ss"])
    p2 = 1.0 / 0.25**2
    # minimise sum w (n - c shape - m2 b)^2 + p2 (m2 - 1)^2 over (c, m2)
    t = np.stack([shape, d["b_0n"]])
    c, m2 = np.linalg.solve((t * w) @ t.T + np.diag([0.0, p2]), (t * w) @ d["n_meas"] + np.array([0.0, p2]))
    expected = np.sum(w * (d["n_meas"] - c * shape - m2 * d["b_0n"]) ** 2) + p2 * (m2 - 1) ** 2 + 1 / 0.28**2
    assert float(jcevns.statistic(p, lik)) == pytest.approx(expected, rel=1e-9)


# --- parameters: shapes, types, analysis references, ranges under jit ----------------------


@pytest.mark.parametrize(
    "value", [np.array([0.2]), np.array([[0.2]]), jnp.array([0.2]), "0.2", True, 0.2 + 0.1j, [0.2], None, object()]
)
def test_parameter_values_must_be_real_scalars(lar, value):
    """A one-element array used to broadcast into a (3, 1) result with negative 'events'."""
    name = "mu_nu" if value is None else "sin2w"  # sin2w=None legitimately means 'the reference'
    with pytest.raises(ValueError, match=name):
        jcevns.predict(lar.params().replace(**{name: value}), lar)
    if value is not None:
        with pytest.raises(ValueError, match=name):
            lar.params(**{name: value})


def test_scalar_types_accepted(lar):
    ref = float(jcevns.predict(lar.params(sin2w=0.25), lar)[0])
    for v in (np.float64(0.25), np.float32(0.25), jnp.float64(0.25), np.array(0.25)):
        assert float(jcevns.predict(lar.params(sin2w=v), lar)[0]) == pytest.approx(ref, rel=1e-7)
    sm = float(jcevns.predict(lar.params(), lar)[0])
    assert float(jcevns.predict(lar.params(mu_nu=100), lar)[0]) > sm  # an int is a number


def test_references_of_one_analysis_refused_by_another(lar):
    """CsI's reference R_n (5.07 fm) and sin2w used to be applied silently to argon (98.0 events
    instead of 130.2)."""
    csi_helm = jcevns.build("csi2017-newqf", form_factor="helm")
    for p in (csi_helm.params(), csi_helm.params(sin2w=0.2387).replace(eps_ee_u=0.0)):
        with pytest.raises(ValueError, match="reference value of csi2017-newqf"):
            jcevns.predict(p, lar)
        with pytest.raises(ValueError, match="reference value"):
            jcevns.statistic(p, jcevns.likelihood(lar))
        with pytest.raises(ValueError, match="reference value"):
            jcevns.scan(jcevns.likelihood(lar), {"sin2w": np.linspace(0.2, 0.3, 3)}, base=p)
    # values set explicitly are the user's choice and are used as given
    p = csi_helm.params(sin2w=0.2312, rn=3.36)
    assert float(jcevns.predict(p, lar)[0]) == pytest.approx(float(jcevns.predict(lar.params(), lar)[0]), rel=1e-12)
    # the two CsI analyses share their references
    old, new = jcevns.build("csi2017-oldqf"), jcevns.build("csi2017-newqf")
    assert np.all(np.isfinite(jcevns.predict(old.params(), new)))


def test_out_of_range_under_jit_and_vmap_gives_nan(lar, csi):
    """No check can raise on traced values: rn = 0.5 fm (below the Helm limit) used to give 171
    events under vmap."""
    p = lar.params()
    f = jax.vmap(lambda r: jcevns.predict(p.replace(rn=r), lar))
    out = np.asarray(f(jnp.array([0.5, 3.36, 20.0, jnp.nan, jnp.inf])))[:, 0]
    assert np.isnan(out[[0, 2, 3, 4]]).all()
    assert out[1] == pytest.approx(float(jcevns.predict(p, lar)[0]), rel=1e-12)
    jitted = jax.jit(lambda q: jcevns.predict(q, lar))  # one compilation for every case below
    for name, bad in (("sin2w", 1.5), ("eps_ee_u", -6.0), ("zprime_g", 11.0), ("mu_nu", 2e4), ("r2_nue", -2e3)):
        assert np.isnan(np.asarray(jitted(p.replace(**{name: bad})))).all(), name
    # the sign of an even parameter is a symmetry, not out of range
    assert float(jitted(p.replace(mu_nu=-5.0))[0]) == pytest.approx(
        float(jcevns.predict(lar.params(mu_nu=5.0), lar)[0]), rel=1e-12
    )
    lik = jcevns.likelihood(csi)
    q = csi.params()
    assert np.isnan(float(jax.jit(lambda s: jcevns.statistic(q.replace(sin2w=s), lik))(-0.1)))
    templates = jcevns.event_templates(q, csi)
    assert np.isnan(np.asarray(jcevns.predict_from_templates(q.replace(eps_ee_u=7.0), templates))).all()


def test_gradients_finite_up_to_the_bounds(lar):
    """The NaN mask is the identity inside the closed range: finite gradients on the bounds."""
    p = lar.params()
    grad = jax.jit(jax.grad(lambda q: jcevns.predict(q, lar)[0]))
    for name, x in (("sin2w", 0.0), ("sin2w", 1.0), ("eps_ee_u", 5.0), ("eps_ee_u", -5.0), ("rn", 15.0)):
        assert np.isfinite(float(getattr(grad(p.replace(**{name: x})), name))), (name, x)


# --- build: options of the wrong type or range ----------------------------------------------


@pytest.mark.parametrize(
    "option, value",
    [
        ("recoil_term", "no"), ("recoil_term", "False"), ("recoil_term", 1), ("recoil_term", None),
        ("form_factor", 1), ("form_factor", "woods-saxon"), ("couplings", True),
        ("kn_radius_coeff_fm", "1.2"), ("kn_radius_coeff_fm", float("nan")), ("kn_radius_coeff_fm", -1.0),
        ("helm_skin_fm", float("inf")), ("helm_skin_fm", True),
        ("proton_rms_radius_fm", 3.1), ("proton_rms_radius_fm", (0.0,)), ("proton_rms_radius_fm", (1.5,)),
        ("proton_rms_radius_fm", ("3.1",)), ("proton_rms_radius_fm", ()), ("proton_rms_radius_fm", (3.1, 3.2)),
        ("proton_rms_radius_fm", (20.0,)), ("n_nodes", 1.5), ("n_nodes", True), ("n_nodes", 1), ("n_nodes", 201),
        ("n_pot", "1e23"), ("n_pot", -1.0), ("n_pot", [1e23]), ("nu_per_pot", 0.0), ("distance_m", float("nan")),
        ("roi_max_kevnr", "abc"), ("roi_max_kevnr", 0.0), ("mass_kg", -24.4), ("mass_kg", 1 + 2j),
        ("zprime_couplings", None), ("scalar_charge", 3), ("no_such_option", 1.0),
    ],
)
def test_build_refuses_bad_options(option, value):
    """Strings are never coerced by truthiness (recoil_term='False' used to switch the term on)
    and numbers are range-checked (a Helm proton radius of 0 fm used to run)."""
    with pytest.raises(ValueError, match=option):
        jcevns.build("lar2020", **{option: value})


@pytest.mark.parametrize("name, preset", [(123, "calibrated"), (None, "calibrated"), (["lar2020"], "calibrated"),
                                          ("xenon", "calibrated"), ("lar2020", "fitted"), ("lar2020", 123)])
def test_build_refuses_bad_names(name, preset):
    with pytest.raises(ValueError, match="analysis|preset"):
        jcevns.build(name, preset)


def test_build_accepts_equivalent_option_types(lar):
    """NumPy booleans and numbers and a list of radii mean the same as their Python forms."""
    ref = float(jcevns.predict(lar.params(), lar)[0])
    an = jcevns.build("lar2020", recoil_term=np.bool_(True), proton_rms_radius_fm=[3.14], n_nodes=np.int64(8),
                      roi_max_kevnr=np.float64(120.0))
    assert float(jcevns.predict(an.params(), an)[0]) == pytest.approx(ref, rel=1e-12)
    off = jcevns.build("lar2020", recoil_term=False)
    assert off.options()["recoil_term"] is False
    assert float(jcevns.predict(off.params(), off)[0]) > ref  # dropping -T/E raises the rate


# --- params, predict and friends ---------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [dict(sin2w=float("nan")), dict(sin2w=float("inf")), dict(sin2w=-0.01), dict(sin2w=1.01), dict(rn=1.0),
     dict(rn=16.0), dict(eps_ee_u=5.5), dict(mu_nu=-1.0), dict(zprime_m=0.0), dict(zprime_g=10.5),
     dict(r2_nue=-1001.0), dict(sin2w="0.2"), dict(foo=1.0)],
)
def test_params_refuse_bad_values(lar, values):
    (name,) = values
    with pytest.raises(ValueError, match=name):
        lar.params(**values)


def test_params_boundaries_accepted(lar):
    for values in (dict(sin2w=0.0), dict(sin2w=1.0), dict(rn=15.0), dict(eps_ee_u=-5.0), dict(zprime_g=10.0),
                   dict(mu_nu=1e4), dict(zprime_m=1e7), dict(rn=lar.rn_lower + 1e-9)):
        assert np.all(np.isfinite(jcevns.predict(lar.params(**values), lar))), values


@pytest.mark.parametrize("fn", [jcevns.predict, jcevns.predict_per_flavour, jcevns.recoil_spectrum,
                                jcevns.event_templates])
def test_forward_entry_points_refuse_bad_arguments(lar, fn):
    with pytest.raises(ValueError, match="params"):
        fn({"sin2w": 0.2}, lar)
    with pytest.raises(ValueError, match="analysis"):
        fn(lar.params(), "lar2020")
    with pytest.raises(ValueError, match="sin2w"):
        fn(lar.params().replace(sin2w=np.array([0.2])), lar)
    with pytest.raises(ValueError, match="rn"):
        fn(lar.params().replace(rn=0.5), lar)


def test_per_flavour_and_spectrum_consistent(lar):
    """predict_per_flavour sums to predict; the recoil spectrum folded with the bin matrix gives it."""
    p = lar.params(eps_ee_u=0.1)
    per = np.asarray(jcevns.predict_per_flavour(p, lar))
    assert per.shape == (3, 1)
    assert per.sum(axis=0) == pytest.approx(np.asarray(jcevns.predict(p, lar)), rel=1e-12)
    spec = np.asarray(jcevns.recoil_spectrum(p, lar))
    assert spec @ np.asarray(lar.bin_matrix).T == pytest.approx(per, rel=1e-12)


# --- likelihood, statistic, profile, scan, intervals ------------------------------------------


def test_likelihood_entry_points_refuse_bad_arguments(lar):
    lik = jcevns.likelihood(lar)
    with pytest.raises(ValueError, match="analysis"):
        jcevns.likelihood("lar2020")
    with pytest.raises(ValueError, match="statistic"):
        jcevns.likelihood(lar, "gauss")
    with pytest.raises(ValueError, match="lik"):
        jcevns.statistic(lar.params(), lar)
    with pytest.raises(ValueError, match="sin2w"):
        jcevns.statistic(lar.params().replace(sin2w=float("nan")), lik)
    with pytest.raises(ValueError, match="pulls"):
        jcevns.statistic_at_pulls(lar.params(), [0.0, 0.0], lik)
    with pytest.raises(ValueError, match="pulls"):
        jcevns.statistic_at_pulls(lar.params(), ["a"], lik)


@pytest.mark.parametrize(
    "kwargs, name",
    [(dict(free="foo"), "free"), (dict(free=[]), "free"), (dict(free=["sin2w", "sin2w"]), "free"),
     (dict(free=["sin2w"], init=[0.2, 0.3]), "init"), (dict(free=["sin2w"], init=[[0.2]]), "init"),
     (dict(free=["sin2w"], init=[1.5]), "sin2w"), (dict(free=["sin2w"], max_steps=0), "max_steps"),
     (dict(free=["sin2w"], tol=-1.0), "tol"), (dict(free=[1]), "free")],
)
def test_profile_refuses_bad_arguments(lar, kwargs, name):
    with pytest.raises(ValueError, match=name):
        jcevns.profile(jcevns.likelihood(lar), lar.params(), **kwargs)


def test_profile_takes_one_name_as_a_string(lar):
    lik = jcevns.likelihood(lar)
    a = jcevns.profile(lik, lar.params(), "sin2w")
    b = jcevns.profile(lik, lar.params(), ["sin2w"])
    assert float(a.value) == float(b.value) and bool(a.converged)


@pytest.mark.parametrize(
    "grid, kwargs, name",
    [({}, {}, "grid"), ([0.1, 0.2], {}, "grid"), ({"sin2w": []}, {}, "sin2w"), ({"sin2w": [[0.1, 0.2]]}, {}, "sin2w"),
     ({"sin2w": "abc"}, {}, "sin2w"), ({"sin2w": [0.1, float("nan")]}, {}, "sin2w"), ({"sin2w": [2.0]}, {}, "sin2w"),
     ({"foo": [0.1]}, {}, "foo"), ({"sin2w": [0.2], "rn": [3.0], "eps_ee_u": [0.0]}, {}, "grid"),
     ({"sin2w": [0.2]}, dict(chunk_size=0), "chunk_size"), ({"sin2w": [0.2]}, dict(chunk_size=True), "chunk_size"),
     ({"sin2w": [0.2]}, dict(chunk_size=1.5), "chunk_size"), ({"sin2w": [0.2]}, dict(profile=5), "profile"),
     ({"sin2w": [0.2]}, dict(profile="sin2w"), "profiled"), ({"sin2w": [0.2]}, dict(profile="foo"), "profiled"),
     ({"sin2w": [0.2]}, dict(max_steps=0), "max_steps"), ({"sin2w": [0.2]}, dict(tol=float("nan")), "tol"),
     ({"zprime_m": [10.0], "zprime_g": [1e-3]}, dict(chunk_size=-1), "chunk_size"),
     ({"zprime_m": [10.0], "zprime_g": [11.0]}, {}, "zprime_g")],
)
def test_scan_refuses_bad_arguments(lar, grid, kwargs, name):
    with pytest.raises(ValueError, match=name):
        jcevns.scan(jcevns.likelihood(lar), grid, **kwargs)


def test_scan_refuses_mistyped_keywords(lar):
    """The mediator fast path used to swallow unknown keywords (``**_``)."""
    lik = jcevns.likelihood(lar)
    with pytest.raises(TypeError, match="chunksize"):
        jcevns.scan(lik, {"zprime_m": [10.0], "zprime_g": [1e-3]}, chunksize=10)
    with pytest.raises(TypeError, match="profiles"):
        jcevns.scan(lik, {"sin2w": [0.2]}, profiles=("rn",))
    with pytest.raises(ValueError, match="lik"):
        jcevns.scan(lar, {"sin2w": [0.2]})


def test_scan_profile_given_as_one_string(lar):
    """``profile="rn"`` is one parameter, not the letters r and n; a scalar grid is one point."""
    from jcevns.scans import _axis, _check_settings

    lik = jcevns.likelihood(lar)
    assert _check_settings(lik, "rn", None, 100, 1e-7) == ("rn",)
    assert _check_settings(lik, ["rn", "eps_ee_u"], 5, 100, 1e-7) == ("rn", "eps_ee_u")
    assert _axis("sin2w", 0.25).tolist() == [0.25]


@pytest.mark.parametrize(
    "x, delta, level",
    [([0.1, 0.2], [0.0], 2.71), ([0.2, 0.1], [0.0, 1.0], 2.71), ([0.1, np.nan], [0.0, 1.0], 2.71),
     ([0.1, 0.2], [0.0, np.nan], 2.71), ([], [], 2.71), (["a", "b"], [0, 1], 2.71), ([0.1, 0.2], [0.0, 1.0], -1.0),
     ([0.1, 0.2], [0.0, 1.0], "2.71")],
)
def test_intervals_refuse_bad_input(x, delta, level):
    with pytest.raises(ValueError, match="x|delta|level"):
        jcevns.intervals_1d(x, delta, level)


def test_intervals_hand_computed():
    """delta = (x - 1)^2 on a fine grid: the 2.71 region is 1 +- sqrt(2.71), linear interpolation."""
    x = np.linspace(-2.0, 4.0, 6001)
    (i,) = jcevns.intervals_1d(x, (x - 1.0) ** 2, 2.71)
    assert i.lo == pytest.approx(1 - np.sqrt(2.71), abs=1e-6) and i.hi == pytest.approx(1 + np.sqrt(2.71), abs=1e-6)


# --- posterior sampling: every setting checked before any sampling -----------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [(dict(names=""), "parameter"), (dict(names="foo"), "foo"), (dict(names=5), "names"),
     (dict(names=["sin2w", "sin2w"]), "distinct"), (dict(chains=0), "chains"), (dict(chains=True), "chains"),
     (dict(warmup=-1), "warmup"), (dict(samples=2.5), "samples"), (dict(seed="a"), "seed"),
     (dict(priors={"sin2w": (0.1, 0.2, 0.3)}), "sin2w"), (dict(priors={"sin2w": {"lower": 0.1}}), "sin2w"),
     (dict(priors={"sin2w": "0.1:abc"}), "numbers"), (dict(priors={"sin2w": (0.3, 0.1)}), "lower < upper"),
     (dict(priors={"sin2w": (-0.5, 0.3)}), "sin2w"), (dict(priors={"rn": (3.0, 4.0)}), "not sampled"),
     (dict(priors=[0.1, 0.2]), "priors"), (dict(pulls="marginal"), "pulls"), (dict(target_accept_prob=1.5), "target"),
     (dict(names=["rn"]), "rn")],
)
def test_sample_refuses_bad_arguments(kwargs, name):
    from jcevns.bayes import sample

    lik = jcevns.likelihood(jcevns.build("csi2017-newqf"))
    kwargs = {"names": ["sin2w"], **kwargs}
    with pytest.raises(ValueError, match=name):
        sample(lik, progress=False, **kwargs)
    with pytest.raises(ValueError, match="lik"):
        sample("csi2017-newqf", ["sin2w"], progress=False)


def test_ess_warning_says_what_it_compares():
    """It used to read 'bulk ESS = 121 < 100 per chain' for four chains."""
    from jcevns.bayes import PosteriorResult

    stats = {"r_hat": 1.0, "ess_bulk": 121.0}
    res = PosteriorResult(names=("sin2w",), samples={}, inference_data=None, summary={"sin2w": stats}, nuisance={},
                          divergences=0, wall_s=1.0, chain_method="vectorized", settings={"chains": 4})
    (warning,) = res.warnings
    assert "121 is below 400 (100 per chain x 4 chains)" in warning


# --- command line --------------------------------------------------------------------------

SUBCOMMANDS = ["predict", "selftest", "reproduce", "scan", "sample"]


def _error_line(capsys) -> str:
    """The one-sentence error of an exit code 2, asserting there is no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("jcevns: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("argv", [["--help"], ["-h"], *([c, "--help"] for c in SUBCOMMANDS), ["scan", "-h"]])
def test_help_of_every_command(argv, capsys):
    """``jcevns --help`` crashed on the '%' of '90 % CL' (an argparse format code)."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: jcevns")
    if argv[0] in ("predict", "scan", "sample"):
        assert "rn           (0, 15] fm" in out and "recoil_term (bool)" in out  # parameters, units and options


def test_help_texts_explain_every_argument(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sample", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    for text in ("csi2017-newqf", "jcevns list", ".toml", "calibrated (default)", "number of NUTS chains",
                 "PRNG seed", "Poisson -2 ln L"):
        assert text in out, text
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--help"])
    assert "results.json are kept" in capsys.readouterr().out


@pytest.mark.parametrize(
    "item, name",
    [("sin2w=[0.2]", "sin2w"), ('sin2w={"a":1}', "sin2w"), ("sin2w=abc", "sin2w"), ("sin2w=", "sin2w"),
     ("sin2w=true", "sin2w"), ("sin2w=null", "sin2w"), ("sin2w=1+2j", "sin2w"), ("sin2w=nan", "sin2w"),
     ("sin2w=inf", "sin2w"), ("sin2w=1.5", "sin2w"), ("foo=1", "foo"), ("sin2w", "--set"), ("=0.2", "--set"),
     ("rn=1.0", "rn")],
)
def test_cli_predict_bad_parameters(item, name, capsys):
    assert cli.main(["predict", "lar2020", "--set", item]) == 2
    assert name in _error_line(capsys)


@pytest.mark.parametrize(
    "item, name",
    [("recoil_term=no", "recoil_term"), ("recoil_term=1", "recoil_term"), ("proton_rms_radius_fm=0", "proton_rms"),
     ("proton_rms_radius_fm=abc", "proton_rms"), ("roi_max_kevnr=abc", "roi_max_kevnr"),
     ("n_nodes=8.5", "n_nodes"), ("n_pot=-1", "n_pot"), ("form_factor=", "form_factor"), ("qf=constant", "qf"),
     ("mass_kg=nan", "mass_kg"), ("nope=1", "nope")],
)
def test_cli_predict_bad_options(item, name, capsys):
    assert cli.main(["predict", "lar2020", "--option", item]) == 2
    assert name in _error_line(capsys)


def test_cli_repeated_names_refused(capsys):
    assert cli.main(["predict", "lar2020", "--set", "sin2w=0.2", "--set", "sin2w=0.3"]) == 2
    assert "sin2w is given twice" in _error_line(capsys)
    assert cli.main(["predict", "lar2020", "--option", "n_nodes=8", "--option", "n_nodes=9"]) == 2
    assert "n_nodes is given twice" in _error_line(capsys)
    assert cli.main(["scan", "lar2020", "--grid", "sin2w=0.1:0.3:3", "--grid", "sin2w=0.2:0.3:3", "--quiet"]) == 2
    assert "sin2w is given twice" in _error_line(capsys)


def test_cli_options_parsed_by_type(capsys):
    """--option recoil_term=False used to switch the term ON (a non-empty string is truthy)."""
    import json

    assert cli.main(["predict", "lar2020", "--json", "--option", "recoil_term=False",
                     "--option", "proton_rms_radius_fm=3.14", "--option", "n_pot=1.5e23"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["options"]["recoil_term"] is False and out["options"]["proton_rms_radius_fm"] == [3.14]
    an = jcevns.build("lar2020", recoil_term=False, n_pot=1.5e23)
    assert out["total"] == pytest.approx(float(jcevns.predict(an.params(), an).sum()), rel=1e-12)


@pytest.mark.parametrize(
    "grid", ["sin2w=0.1:0.2:0", "sin2w=0.1:0.2:1", "sin2w=0.1:0.2:abc", "sin2w=nan:0.2:3", "sin2w=0.1:inf:3",
             "foo=0:1:3", "sin2w=0.1:0.2:3:4", "sin2w=0:1:100000000", "sin2w=-1:0.5:3"],
)
def test_cli_scan_bad_grids(grid, capsys):
    assert cli.main(["scan", "lar2020", "--grid", grid, "--quiet", "--out", "unused"]) == 2
    _error_line(capsys)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command starts computing before checking its output location."""
    from jcevns import bayes, reproduce

    def boom(*_, **__):
        raise AssertionError("computation started before the output location was checked")

    monkeypatch.setattr(jcevns, "scan", boom)
    monkeypatch.setattr(bayes, "sample", boom)
    monkeypatch.setattr(reproduce, "run", boom)


def _bad_locations(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("user data\n")
    return [a_file, a_file / "sub", "/proc/jcevns-out"]


def test_cli_bad_output_locations_before_any_work(tmp_path, no_work, capsys):
    """An existing file or an unwritable folder used to give a raw traceback, for scan and sample
    only after the whole computation."""
    for out in _bad_locations(tmp_path):
        for argv in (["scan", "lar2020", "--grid", "sin2w=0.1:0.3:3", "--quiet"],
                     ["sample", "lar2020", "--params", "sin2w", "--quiet"], ["reproduce"]):
            assert cli.main([*argv, "--out", str(out)]) == 2, (argv, out)
            assert "output" in _error_line(capsys)
    assert (tmp_path / "a_file").read_text() == "user data\n"


@pytest.mark.parametrize(
    "argv",
    [["sample", "lar2020", "--params", "foo"], ["sample", "lar2020", "--params", "sin2w,sin2w"],
     ["sample", "lar2020", "--params", "sin2w", "--chains", "0"],
     ["sample", "lar2020", "--params", "sin2w", "--prior", "sin2w=0.1:abc"],
     ["sample", "lar2020", "--params", "sin2w", "--prior", "sin2w=0.1:0.2", "--prior", "sin2w=0.1:0.3"],
     ["sample", "lar2020", "--params", "sin2w", "--target-accept", "1.5"],
     ["scan", "lar2020", "--grid", "sin2w=0.1:0.3:3", "--profile", "rn,rn"],
     ["scan", "lar2020", "--grid", "sin2w=0.1:0.3:3", "--profile", "foo"]],
)
def test_cli_bad_settings(argv, tmp_path, capsys):
    assert cli.main([*argv, "--quiet", "--out", str(tmp_path / "o")]) == 2
    _error_line(capsys)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "argv",
    [["predict"], ["predict", "xenon"], ["predict", "lar2020", "--preset", "fitted"], ["selftest", "--analysis", "x"],
     ["reproduce", "--only", "xenon"], ["scan", "lar2020"], ["sample", "lar2020"], ["sample", "lar2020", "--params",
     "sin2w", "--chains", "two"], ["sample", "lar2020", "--params", "sin2w", "--seed", "1.5"], ["frobnicate"], []],
)
def test_cli_usage_errors_exit_2(argv, capsys):
    try:  # argparse exits with 2 itself; errors found after parsing return 2
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


# --- outputs: atomic, merged, never deleting the user's files -------------------------------


def test_output_dir_is_atomic_and_keeps_user_files(tmp_path, capsys):
    from jcevns.outputs import MANIFEST, OutputDir

    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with OutputDir(dest, command="first") as out:
        out.path("a.json").write_text("1")
        out.path("fig/b.png").write_bytes(b"png1")
    assert (dest / "a.json").read_text() == "1" and (dest / "fig" / "b.png").read_bytes() == b"png1"
    with pytest.raises(RuntimeError):
        with OutputDir(dest, command="second") as out:
            out.path("a.json").write_text("2")
            raise RuntimeError("interrupted while drawing figures")
    assert (dest / "a.json").read_text() == "1"  # nothing of the failed run leaked in
    with OutputDir(dest, command="third") as out:
        out.path("a.json").write_text("3")
    assert "replaced in" in capsys.readouterr().out
    assert (dest / "a.json").read_text() == "3" and (dest / "fig" / "b.png").read_bytes() == b"png1"
    assert (dest / "notes.txt").read_text() == "mine"
    import json

    manifest = json.loads((dest / MANIFEST).read_text())["files"]
    assert manifest["a.json"]["command"] == "third" and manifest["fig/b.png"]["command"] == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging directory left behind


def test_reproduce_only_merges_results(tmp_path, monkeypatch, capsys):
    """`reproduce --only lar` after a full run used to leave a results.json with LAr only."""
    import json

    from jcevns import plots, reproduce

    out = tmp_path / "r0"
    out.mkdir()
    old = {"csi2017-oldqf": {"sm_total": 174.0}, "lar2020": {"sm_total": 1.0}, "meta": {"preset": "calibrated"}}
    (out / "results.json").write_text(json.dumps(old))
    (out / "figures").mkdir()
    (out / "figures" / "csi_profiles.png").write_bytes(b"old csi")
    (out / "mine.txt").write_text("keep me")
    monkeypatch.setattr(reproduce, "run", lambda preset, only, progress: ({"lar2020": {"sm_total": 130.2}}, {}, 0.1))
    monkeypatch.setattr(reproduce, "write_report", lambda results, wall, path: path.write_text(str(sorted(results))))

    def figures(curves, out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "lar_profiles.png").write_bytes(b"new lar")
        return [out_dir / "lar_profiles.png"]

    monkeypatch.setattr(plots, "reproduction_figures", figures)
    assert cli.main(["reproduce", "--only", "lar", "--out", str(out)]) == 0
    assert "kept csi2017-oldqf" in capsys.readouterr().out
    res = json.loads((out / "results.json").read_text())
    assert res["csi2017-oldqf"] == {"sm_total": 174.0} and res["lar2020"] == {"sm_total": 130.2}
    assert res["meta"]["updated"] == ["lar2020"]
    assert (out / "report.md").read_text() == "['csi2017-oldqf', 'lar2020']"
    assert (out / "figures" / "csi_profiles.png").read_bytes() == b"old csi"
    assert (out / "mine.txt").read_text() == "keep me"

    def broken(curves, out_dir):
        raise RuntimeError("figure phase interrupted")

    monkeypatch.setattr(plots, "reproduction_figures", broken)
    with pytest.raises(RuntimeError):
        cli.main(["reproduce", "--only", "lar", "--out", str(out)])
    assert json.loads((out / "results.json").read_text()) == res  # the failed run changed nothing


def test_scan_twice_reports_the_replaced_files(tmp_path, capsys):
    import json

    out = tmp_path / "s"
    argv = ["scan", "lar2020", "--grid", "sin2w=0.2:0.3:5", "--out", str(out), "--quiet"]
    assert cli.main(argv) == 0
    assert "replaced" not in capsys.readouterr().out
    assert cli.main([*argv[:3], "sin2w=0.2:0.3:7", *argv[4:]]) == 0
    assert "replaced in" in capsys.readouterr().out
    assert len(json.loads((out / "scan.json").read_text())["values"]) == 7
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "scan.json", "scan.png"]


# --- property-based: parameter and option validation ----------------------------------------

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from jcevns.options import check_option, parse_option, parse_parameter  # noqa: E402
from jcevns.params import PARAMETER_NAMES, SPECS  # noqa: E402

_LAR = None


def _lar():
    """The LAr analysis and one jitted prediction (compiled once for every example)."""
    global _LAR
    if _LAR is None:
        an = jcevns.build("lar2020")
        _LAR = an, jax.jit(lambda p: jcevns.predict(p, an))
    return _LAR


def _in_range(name, x, rn_lower):
    spec = SPECS[name]
    lo, lo_open = spec.lower, spec.lower_open
    if name == "rn":
        lo, lo_open = rn_lower, True
    if name.startswith("rn_"):  # per-nucleus radius: 0 means "use rn", else above the Helm limit
        return bool(x == 0 or (np.isfinite(x) and rn_lower < x <= spec.upper))
    return bool(np.isfinite(x) and (x > lo if lo_open else x >= lo) and x <= spec.upper)


# No subnormals: XLA on CPU flushes them to zero inside jitted code, so -1e-309 is a valid 0 there
# while the eager check (rightly) refuses a negative number.
_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False, width=64),
    st.floats(-20.0, 20.0),
    st.sampled_from([0.0, -0.0, 1.0, 5.0, -5.0, 10.0, 15.0, 1e4, 1e7, 1000.0, -1000.0]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(PARAMETER_NAMES), x=_VALUES)
def test_property_params_accept_exactly_the_valid_range(name, x):
    """For any float: ``params`` accepts it iff it lies in the valid range (then the prediction is
    finite and positive); otherwise it raises naming the parameter, and the same value traced
    under jit gives NaN (except exactly on an open lower bound, where the limit is finite)."""
    an, jitted = _lar()
    if _in_range(name, x, an.rn_lower):
        counts = np.asarray(jcevns.predict(an.params(**{name: x}), an))
        assert np.all(np.isfinite(counts)) and np.all(counts >= 0)
        return
    with pytest.raises(ValueError, match=name):
        an.params(**{name: x})
    if name.startswith("rn_"):
        return  # a radius of a nucleus the analysis does not contain never enters its kernels
    on_open_bound = SPECS[name].lower_open and x == (an.rn_lower if name == "rn" else SPECS[name].lower)
    even_mirror = SPECS[name].even and np.isfinite(x) and _in_range(name, -x, an.rn_lower)
    if not (on_open_bound or even_mirror):
        assert np.all(np.isnan(np.asarray(jitted(an.params().replace(**{name: float(x)})))))


@settings(max_examples=300, deadline=None)
@example(text="0\x1f")
@given(text=st.text(max_size=12))
def test_property_cli_parameter_is_one_finite_number(text):
    """``--set sin2w=TEXT`` gives float(TEXT) when that is a finite number, else a ValueError naming
    sin2w: never 1.0 for 'true', never a fallback for 'null', never a list."""
    try:
        expected = float(text)
    except ValueError:
        expected = None
    if expected is not None and np.isfinite(expected):
        assert parse_parameter("sin2w", text, PARAMETER_NAMES) == expected
    else:
        with pytest.raises(ValueError, match="sin2w"):
            parse_parameter("sin2w", text, PARAMETER_NAMES)


@settings(max_examples=300, deadline=None)
@example(text="true\x1f")
@example(text=" False\n")
@given(text=st.one_of(st.text(max_size=8), st.sampled_from(["true", "FALSE", "False", "no", "0", "1", "yes"])))
def test_property_cli_booleans_are_true_or_false_only(text):
    word = text.strip(" \t\n\r\v\f").lower()  # ASCII blanks only, as float() strips them
    if word in ("true", "false"):
        assert parse_option("recoil_term", text, "bool") is (word == "true")
    else:
        with pytest.raises(ValueError, match="recoil_term"):
            parse_option("recoil_term", text, "bool")


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=5), st.integers(), st.floats(), st.booleans(), st.none(),
                       st.lists(st.floats(), max_size=2)))
def test_property_python_options_keep_their_type(value):
    """Python option values are checked by type, never coerced: a string is never a bool or a
    number, a bool never a number."""
    def finite(v):
        try:
            return np.isfinite(float(v))
        except OverflowError:
            return False

    for kind in ("bool", "float", "int", "str", "tuple"):
        ok = {
            "bool": isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool) and finite(value),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "str": isinstance(value, str),
            "tuple": isinstance(value, list) and all(finite(v) for v in value),  # () is allowed: no entries
        }[kind]
        if ok:
            assert check_option("x", value, kind) == (tuple(value) if kind == "tuple" else value)
        else:
            with pytest.raises(ValueError, match="option x"):
                check_option("x", value, kind)

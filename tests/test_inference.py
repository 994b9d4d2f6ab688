"""Inference layer: test statistics, exact and numerical profiling, scans and intervals.

Every expectation is computed independently of the library: the chi-squares of Papoulias 2020
eq. (10) and Miranda et al. 2020 eq. (3.1) and the Poisson statistic are re-implemented with numpy from
``jcevns.predict`` and ``an.data``; minima over the pulls come from a hand-built linear least
squares problem or ``scipy.optimize``; physics-parameter profiles are checked against
``iminuit.Minuit`` and fine scans; interval finders run on analytic functions.

Runtime: analyses and likelihoods are module-scoped fixtures, and scans reuse the same grid
size (301 points) wherever possible so that one compiled batch serves them all.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from iminuit import Minuit
from scipy import optimize
from scipy.special import xlogy

import jcevns
from jcevns import scans
from jcevns.intervals import best_fit_1d, exclusion_curve, intervals_1d

LAR_N, LAR_BRN, LAR_SIGMA = 159.0, 563.0, 0.085

# One grid size for (almost) every CsI scan: scans are compiled per chunk shape, and
# chunk = min(chunk_size, n_points), so 301-point 1D scans and 7 x 43 = 301-point 2D scans all
# share one compiled batch.
N_GRID = 301
SIN2W_GRID = np.linspace(0.0, 0.6, N_GRID)


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def newqf():
    return jcevns.build("csi2017-newqf")


@pytest.fixture(scope="module")
def oldqf():
    return jcevns.build("csi2017-oldqf")


@pytest.fixture(scope="module")
def lar():
    return jcevns.build("lar2020")


@pytest.fixture(scope="module")
def lik_newqf(newqf):
    return jcevns.likelihood(newqf)


@pytest.fixture(scope="module")
def lik_oldqf(oldqf):
    return jcevns.likelihood(oldqf)


@pytest.fixture(scope="module")
def lik_lar(lar):
    return jcevns.likelihood(lar)


@pytest.fixture(scope="module")
def scan_newqf(lik_newqf):
    """sin2w scan of the new-QF chi-square over [0, 0.6] (shared by several tests)."""
    return jcevns.scan(lik_newqf, {"sin2w": SIN2W_GRID})


# Evaluation points: the SM point of each analysis plus two points away from it, with NSI on,
# so that the pulls are non-trivial.
def _points(an):
    return [
        an.params(),
        an.params(sin2w=0.18, eps_ee_u=0.05),
        an.params(sin2w=0.3, eps_mumu_d=-0.1),
    ]


# --------------------------------------------------------------------------------------------
# numpy reference statistics
# --------------------------------------------------------------------------------------------


def _np_data(an):
    return {k: np.asarray(v, dtype=np.float64) for k, v in an.data.items()}


def _np_signal(params, an):
    return np.asarray(jcevns.predict(params, an), dtype=np.float64)


def np_chi2_csi(S, d, a, sig):
    """Papoulias 2020 eq. (10) at fixed pulls ``a = (a1, a2)``."""
    n, b0n, bss = d["n_meas"], d["b_0n"], d["b_ss"]
    resid = n - S * (1 + a[0]) - b0n * (1 + a[1])
    return float(np.sum(resid**2 / (n + b0n + 2 * bss)) + (a[0] / sig[0]) ** 2 + (a[1] / sig[1]) ** 2)


def np_chi2_lar(S, d, a, sig):
    """Miranda et al. 2020 eq. (3.1) at a fixed pull ``a = (alpha,)``."""
    n, brn = d["n_meas"], d["n_brn"]
    return float(np.sum((n - S * (1 + a[0])) ** 2 / (n + brn)) + (a[0] / sig[0]) ** 2)


def np_profile_chi2(S, d, sig, csi):
    """Minimum of the chi-square over the pulls as a linear least-squares problem.

    Rows: whitened bins ``(N - S - B0n - S a1 - B0n a2) / sigma_i`` and the prior rows
    ``a_k / s_k``; ``np.linalg.lstsq`` solves it (independent of the library's normal
    equations). Returns ``(chi2_min, pulls)``.
    """
    if csi:
        templates = np.stack([S, d["b_0n"]], axis=1)
        sigma = np.sqrt(d["n_meas"] + d["b_0n"] + 2 * d["b_ss"])
    else:
        templates = S[:, None]
        sigma = np.sqrt(d["n_meas"] + d["n_brn"])
    target = (d["n_meas"] - templates.sum(axis=1)) / sigma
    A = np.vstack([templates / sigma[:, None], np.diag(1.0 / np.asarray(sig))])
    b = np.concatenate([target, np.zeros(len(sig))])
    a, *_ = np.linalg.lstsq(A, b, rcond=None)
    return float(np.sum((b - A @ a) ** 2)), a


def np_poisson(S, d, a, sig, csi):
    """``-2 ln L = 2 sum(mu - n + n ln(n / mu)) + sum (a_k / s_k)^2``."""
    if csi:
        n = d["n_meas"] + d["b_ss"]
        mu = S * (1 + a[0]) + d["b_0n"] * (1 + a[1]) + d["b_ss"]
    else:
        n = d["n_meas"] + d["n_brn"]
        mu = S * (1 + a[0]) + d["n_brn"]
    return float(2 * np.sum(mu - n + xlogy(n, n / mu)) + np.sum((np.asarray(a) / np.asarray(sig)) ** 2))


# --------------------------------------------------------------------------------------------
# 1. chi-square against hand calculations; pull widths
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["newqf", "lar"])
def test_chi2_at_pulls_and_profiled_match_numpy(which, request):
    an = request.getfixturevalue(which)
    lik = request.getfixturevalue(f"lik_{which}")
    csi = which != "lar"
    d = _np_data(an)
    sig = lik.sigma_pulls
    pull_sets = [(0.1, -0.2), (-0.05, 0.3), (0.0, 0.0)] if csi else [(0.1,), (-0.07,), (0.0,)]
    for params in _points(an):
        S = _np_signal(params, an)
        ref_fn = np_chi2_csi if csi else np_chi2_lar
        for a in pull_sets:
            got = float(jcevns.statistic_at_pulls(params, jnp.array(a), lik))
            assert got == pytest.approx(ref_fn(S, d, a, sig), rel=1e-12)

        ref_val, ref_pulls = np_profile_chi2(S, d, sig, csi)
        val, pulls = jcevns.profiled(params, lik)
        assert float(val) == pytest.approx(ref_val, rel=1e-10)
        np.testing.assert_allclose(np.asarray(pulls), ref_pulls, rtol=1e-8, atol=1e-10)
        # The statistic at the returned pulls is the profiled value, and it is a minimum.
        assert ref_fn(S, d, np.asarray(pulls), sig) == pytest.approx(ref_val, rel=1e-10)

        # Independent check with a generic optimiser on the numpy chi-square.
        opt = optimize.minimize(lambda a: ref_fn(S, d, a, sig), np.zeros(len(sig)), method="BFGS",
                                options={"gtol": 1e-10})
        assert opt.fun == pytest.approx(ref_val, rel=1e-9, abs=1e-10)
        np.testing.assert_allclose(opt.x, np.asarray(pulls), atol=1e-6)


def test_pull_widths(newqf, oldqf, lar, lik_newqf, lik_oldqf, lik_lar):
    assert lik_oldqf.sigma_pulls == (0.28, 0.25)
    assert lik_newqf.sigma_pulls == (0.128, 0.25)
    assert lik_lar.sigma_pulls == (0.085,)
    assert lik_newqf.pull_names == ("a1", "a2") and lik_lar.pull_names == ("alpha",)
    dropped = jcevns.likelihood(newqf, drop_form_factor_uncertainty=True).sigma_pulls
    assert dropped[0] == pytest.approx(math.sqrt(0.128**2 - 0.05**2), rel=1e-15)
    assert dropped[1] == 0.25
    dropped_old = jcevns.likelihood(oldqf, drop_form_factor_uncertainty=True).sigma_pulls
    assert dropped_old[0] == pytest.approx(math.sqrt(0.28**2 - 0.05**2), rel=1e-15)


# --------------------------------------------------------------------------------------------
# 2. LAr closed form
# --------------------------------------------------------------------------------------------


def test_lar_profiled_closed_form(lar, lik_lar):
    """min_a [(N - S(1+a))^2 / V + (a/s)^2] = (N - S)^2 / (V + S^2 s^2)."""
    np.testing.assert_array_equal(np.asarray(lar.data["n_meas"]), [LAR_N])
    np.testing.assert_array_equal(np.asarray(lar.data["n_brn"]), [LAR_BRN])
    V = LAR_N + LAR_BRN
    for params in _points(lar) + [lar.params(sin2w=0.1)]:
        S = float(_np_signal(params, lar)[0])
        expected = (LAR_N - S) ** 2 / (V + S**2 * LAR_SIGMA**2)
        val, pulls = jcevns.profiled(params, lik_lar)
        assert float(val) == pytest.approx(expected, rel=1e-12)
        # the pull at the minimum: a = S s^2 (N - S) / (V + S^2 s^2)
        assert float(pulls[0]) == pytest.approx(S * LAR_SIGMA**2 * (LAR_N - S) / (V + S**2 * LAR_SIGMA**2), rel=1e-12)
    # SM point of the calibrated preset: about 130 expected events (docs/conventions.md).
    assert float(_np_signal(lar.params(), lar)[0]) == pytest.approx(130.0, abs=2.0)


# --------------------------------------------------------------------------------------------
# 3. Poisson statistic
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["newqf", "lar"])
def test_poisson_statistic(which, request):
    an = request.getfixturevalue(which)
    lik = jcevns.likelihood(an, "poisson")
    csi = which != "lar"
    d = _np_data(an)
    sig = lik.sigma_pulls
    pull_sets = [(0.1, -0.2), (-0.05, 0.3)] if csi else [(0.1,), (-0.07,)]
    for params in _points(an)[:2]:
        S = _np_signal(params, an)
        for a in pull_sets:
            got = float(jcevns.statistic_at_pulls(params, jnp.array(a), lik))
            assert got == pytest.approx(np_poisson(S, d, a, sig, csi), rel=1e-12)

        fun = lambda a: np_poisson(S, d, a, sig, csi)  # noqa: E731
        opt = optimize.minimize(fun, np.zeros(len(sig)), method="Nelder-Mead",
                                options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000})
        opt = optimize.minimize(fun, opt.x, method="BFGS", options={"gtol": 1e-11})
        val, pulls = jcevns.profiled(params, lik)
        assert float(val) == pytest.approx(opt.fun, abs=1e-8)
        assert float(val) <= opt.fun + 1e-12  # Newton's minimum is not above scipy's
        np.testing.assert_allclose(np.asarray(pulls), opt.x, atol=1e-5)
        # value at the returned pulls agrees with the numpy statistic
        assert fun(np.asarray(pulls)) == pytest.approx(float(val), rel=1e-12)


# --------------------------------------------------------------------------------------------
# 4. optax profiling
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["newqf", "lar"])
def test_numeric_pulls_match_exact_profile(which, request):
    an = request.getfixturevalue(which)
    lik = request.getfixturevalue(f"lik_{which}")
    for params in _points(an):
        res = jcevns.profile(lik, params, [], profile_pulls_numerically=True)
        exact, pulls = jcevns.profiled(params, lik)
        assert bool(res.converged)
        assert abs(float(res.value) - float(exact)) < 1e-8
        np.testing.assert_allclose(np.asarray(res.x), np.asarray(pulls), atol=1e-7)


def _minuit(fun, start, names):
    m = Minuit(fun, *start, name=names)
    m.errordef = Minuit.LEAST_SQUARES  # = 1: chi-square
    m.strategy = 1
    m.tol = 1e-6  # EDM goal 2e-9: the default (2e-4) would not resolve 1e-6 in the minimum
    m.migrad()
    return m


def test_profile_sin2w_vs_minuit_and_scan(newqf, lik_newqf):
    res = jcevns.profile(lik_newqf, newqf.params(), ["sin2w"])
    assert bool(res.converged)

    m = _minuit(lambda x: float(jcevns.statistic(newqf.params(sin2w=x), lik_newqf)), [0.2382], ["x"])
    assert m.valid
    assert float(res.value) == pytest.approx(m.fval, abs=1e-6)
    assert float(res.x[0]) == pytest.approx(m.values["x"], abs=1e-4)

    # Fine scan (step 1e-4) around the minimum: its best point is the grid point nearest the
    # profiled minimum, and no grid point lies below the profiled minimum.
    fine = jcevns.scan(lik_newqf, {"sin2w": np.linspace(0.2, 0.23, N_GRID)})
    assert fine.argmin()["sin2w"] == pytest.approx(float(res.x[0]), abs=0.6e-4)
    assert fine.minimum >= float(res.value) - 1e-10
    assert fine.minimum == pytest.approx(float(res.value), abs=1e-5)
    # Papoulias, PRD 102 113004 (2020), eq. 11: best fit 0.209 with the new quenching factor
    assert float(res.x[0]) == pytest.approx(0.209, abs=0.006)


def test_profile_two_nsi_parameters_lar_vs_minuit(lar, lik_lar):
    """LAr has one bin, so the profiled chi-square ``(N-S)^2 / (V + S^2 s^2)`` vanishes on the
    whole curve S(eps_ee_u, eps_ee_d) = 159: the minimum *value* (0) is unique, its location is
    not. So compare values with iminuit and check that both minima sit on that curve."""
    res = jcevns.profile(lik_lar, lar.params(), ["eps_ee_u", "eps_ee_d"])
    assert bool(res.converged)
    assert int(res.n_steps) > 0
    u, d = (float(v) for v in res.x)
    assert float(_np_signal(lar.params(eps_ee_u=u, eps_ee_d=d), lar)[0]) == pytest.approx(LAR_N, abs=1e-5)

    m = _minuit(
        lambda u, d: float(jcevns.statistic(lar.params(eps_ee_u=u, eps_ee_d=d), lik_lar)), [0.0, 0.0], ["u", "d"]
    )
    assert float(res.value) == pytest.approx(m.fval, abs=1e-6)
    assert float(res.value) < 1e-10
    s_minuit = float(_np_signal(lar.params(eps_ee_u=m.values["u"], eps_ee_d=m.values["d"]), lar)[0])
    assert s_minuit == pytest.approx(LAR_N, abs=0.05)  # chi2 < 1e-6 -> |N - S| < 0.03


def test_profile_is_vmappable(lar, lik_lar):
    """jit(vmap(profile)) over start points and over a scanned parameter (rn) = Python loop."""
    base = lar.params()

    @jax.jit
    @jax.vmap
    def batched(x0, rn):
        return jcevns.profile(lik_lar, base.replace(rn=rn), ["sin2w"], init=x0[None])

    starts = np.array([0.15, 0.24, 0.33])
    rns = np.array([3.0, 3.36, 4.0])
    out = batched(jnp.asarray(starts), jnp.asarray(rns))
    assert out.value.shape == (3,) and out.x.shape == (3, 1)
    assert bool(jnp.all(out.converged))
    for i in range(3):
        one = jcevns.profile(lik_lar, lar.params(rn=rns[i]), ["sin2w"], init=[starts[i]])
        assert float(out.x[i, 0]) == pytest.approx(float(one.x[0]), rel=1e-9)
        assert float(out.value[i]) == pytest.approx(float(one.value), abs=1e-10)
        assert bool(one.converged)
        # LAr: the profiled minimum over sin2w has S = N, i.e. chi2 = 0
        assert float(one.value) < 1e-10
    # a larger neutron radius suppresses the rate, so the fitted sin2w (which raises |Q_W|) grows
    assert float(out.x[0, 0]) < float(out.x[1, 0]) < float(out.x[2, 0])


def test_profile_respects_the_helm_limit(lar, lik_lar):
    """At sin2w = 0.1 the LAr rate is far too high and only a vanishing form factor could lower
    it: the profile over rn must stop at the Helm limit sqrt(3) s (where the form factor is still
    defined), flag it, and give the statistic there; unbounded, L-BFGS walked below the limit."""
    res = jcevns.profile(lik_lar, lar.params(sin2w=0.1), ["rn"])
    limit = lar.rn_lower
    assert float(res.x[0]) > limit
    assert float(res.x[0]) == pytest.approx(limit, rel=1e-6)
    assert bool(res.at_bound[0]) and bool(res.converged)
    at_limit = float(jcevns.statistic(lar.params(sin2w=0.1, rn=limit * (1 + 1e-9)), lik_lar))
    assert float(res.value) == pytest.approx(at_limit, rel=1e-6)
    # an interior optimum is not flagged
    inner = jcevns.profile(lik_lar, lar.params(sin2w=0.3), ["rn"])
    assert not bool(inner.at_bound[0]) and limit < float(inner.x[0]) < 15.0
    # the same bound holds point by point in a scan with a profiled rn
    scan = jcevns.scan(lik_lar, {"sin2w": np.array([0.1, 0.3])}, profile=("rn",))
    assert np.all(scan.profiled["rn"] > limit)
    np.testing.assert_allclose(scan.profiled["rn"], [res.x[0], inner.x[0]], rtol=1e-5)


def test_profile_of_a_coupling_vs_bounded_scalar_minimiser(newqf, lik_newqf):
    """The Z' coupling enters only as g^2: the profile works on |g| with 0 an ordinary point.
    Started near zero it reaches the minimum that a bounded scipy minimiser finds."""
    from scipy.optimize import minimize_scalar

    base = newqf.params(zprime_m=10.0, zprime_g=1e-6)
    res = jcevns.profile(lik_newqf, base, ["zprime_g"])
    ref = minimize_scalar(
        lambda g: float(jcevns.statistic(base.replace(zprime_g=g), lik_newqf)),
        bounds=(0.0, 1e-4),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert bool(res.converged) and not bool(res.at_bound[0])
    assert float(res.x[0]) == pytest.approx(ref.x, rel=1e-4)
    assert float(res.value) == pytest.approx(ref.fun, abs=1e-9)
    assert float(res.value) < float(jcevns.statistic(base.replace(zprime_g=0.0), lik_newqf)) - 0.1
    with pytest.raises(ValueError, match="zprime_g"):
        jcevns.profile(lik_newqf, base, ["zprime_g"], init=[-1.0])


# --------------------------------------------------------------------------------------------
# 5. scans
# --------------------------------------------------------------------------------------------


def test_scan_matches_pointwise_statistic(newqf, lik_newqf, scan_newqf):
    res = scan_newqf
    assert res.names == ("sin2w",)
    assert res.values.shape == (N_GRID,) and res.pulls.shape == (N_GRID, 2)
    for i in (0, 37, 150, 222, N_GRID - 1):
        val, pulls = jcevns.profiled(newqf.params(sin2w=SIN2W_GRID[i]), lik_newqf)
        assert res.values[i] == pytest.approx(float(val), rel=1e-12)
        np.testing.assert_allclose(res.pulls[i], np.asarray(pulls), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res.delta, res.values - res.values.min(), rtol=0, atol=0)


def test_scan_independent_of_chunk_size(lik_newqf, scan_newqf):
    small = jcevns.scan(lik_newqf, {"sin2w": SIN2W_GRID}, chunk_size=7)  # 43 chunks, exact fit
    big = jcevns.scan(lik_newqf, {"sin2w": SIN2W_GRID}, chunk_size=2048)
    np.testing.assert_allclose(small.values, big.values, rtol=1e-12, atol=0)
    np.testing.assert_allclose(small.values, scan_newqf.values, rtol=1e-12, atol=0)
    # a last chunk that needs padding (300 = 42 * 7 + 6)
    padded = jcevns.scan(lik_newqf, {"sin2w": SIN2W_GRID[:300]}, chunk_size=7)
    np.testing.assert_allclose(padded.values, big.values[:300], rtol=1e-12, atol=0)
    np.testing.assert_allclose(padded.pulls, big.pulls[:300], rtol=1e-12, atol=1e-15)


def test_scan_2d(newqf, lik_newqf):
    s = np.linspace(0.15, 0.3, 7)
    e = np.linspace(-0.5, 0.5, 43)  # 7 x 43 = 301 points: reuses the compiled 1D batch
    res = jcevns.scan(lik_newqf, {"sin2w": s, "eps_ee_u": e})
    assert res.values.shape == (7, 43) and res.pulls.shape == (7, 43, 2)
    i, j = np.unravel_index(np.argmin(res.values), res.values.shape)
    assert res.argmin() == {"sin2w": s[i], "eps_ee_u": e[j]}
    assert res.values[i, j] == res.minimum
    for a, b in ((i, j), (0, 0), (6, 42), (3, 10)):
        ref = float(jcevns.statistic(newqf.params(sin2w=s[a], eps_ee_u=e[b]), lik_newqf))
        assert res.values[a, b] == pytest.approx(ref, rel=1e-12)


def test_scans_use_templates_only_where_they_are_exact(lik_lar):
    """Scans over couplings run from event templates; scans that reshape the spectrum (rn, a
    mediator mass) take full predictions. Both agree with the pointwise statistic."""
    from jcevns.forward import templates_if_exact

    lar = lik_lar.analysis
    base = lar.params(zprime_g=3e-5, zprime_m=40.0)
    assert templates_if_exact(base, lar, ("eps_ee_u", "zprime_g")) is not None
    for varied in (("rn",), ("zprime_m",), ("eps_ee_u", "scalar_m")):
        assert templates_if_exact(base, lar, varied) is None
    grids = {
        "zprime_g": np.linspace(0.0, 6e-5, 5),
        "zprime_m": np.linspace(10.0, 90.0, 5),
        "rn": np.linspace(2.5, 4.5, 5),
    }
    for name, grid in grids.items():
        res = jcevns.scan(lik_lar, {name: grid}, base=base)
        for x, v in zip(grid, res.values):
            assert v == pytest.approx(float(jcevns.statistic(base.replace(**{name: x}), lik_lar)), rel=1e-11, abs=1e-11)


class _CompileCounter:
    """Counts JAX traces and backend compilations while active.

    Uses ``jax.monitoring`` duration events, which JAX records for every jaxpr trace
    (``/jax/core/compile/jaxpr_trace_duration``) and every XLA compilation
    (``/jax/core/compile/backend_compile_duration``). This is public API, independent of the
    jitted function's private cache, and sees retraces of any function, including eager ops
    that would need new executables. (``jax.log_compiles`` would need log capturing and parses
    text, so it is more fragile.)
    """

    TRACE = "/jax/core/compile/jaxpr_trace_duration"
    COMPILE = "/jax/core/compile/backend_compile_duration"

    def __init__(self):
        self.events = []

    def _listener(self, event, duration, **kwargs):
        if event in (self.TRACE, self.COMPILE):
            self.events.append(event)

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self._listener)

    @property
    def n_compiles(self):
        return self.events.count(self.COMPILE)

    @property
    def n_traces(self):
        return self.events.count(self.TRACE)


def test_scanning_another_parameter_does_not_recompile(lik_newqf, scan_newqf):
    # scan_newqf (sin2w) has compiled the 301-point batch. Check both ways:
    # (a) the jitted batch's own cache (private PjitFunction._cache_size, present in jax 0.10),
    # (b) no trace / XLA compilation at all during the new scans (jax.monitoring, public).
    size_before = scans._batched._cache_size() if hasattr(scans._batched, "_cache_size") else None
    with _CompileCounter() as counter:
        r1 = jcevns.scan(lik_newqf, {"eps_mumu_d": np.linspace(-0.3, 0.3, N_GRID)})
        r2 = jcevns.scan(lik_newqf, {"mu_nu": np.linspace(0.0, 50.0, N_GRID)})
    assert counter.n_traces == 0, counter.events
    assert counter.n_compiles == 0, counter.events
    if size_before is not None:
        assert scans._batched._cache_size() == size_before
    # and the scans did real work: the SM point is inside both grids
    sm = float(jcevns.statistic(lik_newqf.analysis.params(), lik_newqf))
    assert r1.values[N_GRID // 2] == pytest.approx(sm, rel=1e-10)
    assert r2.values[0] == pytest.approx(sm, rel=1e-12)
    assert np.all(np.diff(r2.values) >= -1e-12)  # a magnetic moment only adds events


def test_compile_counter_sees_a_new_compilation(lik_newqf):
    """The counter used above is not vacuous: a new chunk shape must trace and compile."""
    with _CompileCounter() as counter:
        jcevns.scan(lik_newqf, {"sin2w": np.linspace(0.1, 0.3, 5)}, chunk_size=5)
    # (an XLA compilation could in principle be served by a persistent compilation cache, a
    # trace cannot, so only the trace count is required here)
    assert counter.n_traces >= 1


def test_scan_bad_input(lik_newqf, lik_lar):
    with pytest.raises(ValueError, match="not_a_param"):
        jcevns.scan(lik_newqf, {"not_a_param": np.linspace(0, 1, 3)})
    # Helm limit sqrt(3) * 0.9 fm = 1.559 fm for the LAr (Helm) analysis
    assert lik_lar.analysis.rn_lower == pytest.approx(math.sqrt(3) * 0.9, rel=1e-12)
    with pytest.raises(ValueError, match="rn"):
        jcevns.scan(lik_lar, {"rn": np.linspace(1.0, 4.0, 4)})
    with pytest.raises(ValueError, match="rn"):
        jcevns.scan(lik_lar, {"rn": np.array([math.sqrt(3) * 0.9, 3.0])})  # the limit is excluded
    with pytest.raises(ValueError, match="eps_ee_d"):
        jcevns.scan(lik_newqf, {"sin2w": [0.2], "eps_ee_u": [0.0], "eps_ee_d": [0.0]})
    with pytest.raises(ValueError, match="sin2w"):
        jcevns.scan(lik_newqf, {"sin2w": [0.2, 1.5]})  # outside [0, 1]


# --------------------------------------------------------------------------------------------
# 6. intervals on analytic functions
# --------------------------------------------------------------------------------------------


def test_intervals_parabola():
    f = lambda x: (x - 1.0) ** 2 / 0.25  # noqa: E731
    x = np.linspace(-1.0, 3.0, 401)  # step 0.01
    lo_ref, hi_ref = 1 - 0.5 * math.sqrt(2.71), 1 + 0.5 * math.sqrt(2.71)

    (iv,) = intervals_1d(x, f(x), level=2.71, f=f)
    assert (iv.lo_kind, iv.hi_kind) == ("crossing", "crossing")
    assert iv.lo == pytest.approx(lo_ref, abs=1e-10)
    assert iv.hi == pytest.approx(hi_ref, abs=1e-10)
    assert iv.as_list() == [iv.lo, iv.hi]

    (lin,) = intervals_1d(x, f(x), level=2.71)
    assert lin.lo == pytest.approx(lo_ref, abs=1e-3)
    assert lin.hi == pytest.approx(hi_ref, abs=1e-3)
    # linear interpolation of a convex function overestimates it between nodes: the interval
    # shrinks slightly, by at most (f''/8) h^2 / |f'| ~ 1.5e-5
    assert lo_ref < lin.lo < lo_ref + 2e-5 and hi_ref - 2e-5 < lin.hi < hi_ref

    # default level is the 90 % CL quantile 2.7055
    (dflt,) = intervals_1d(x, f(x), f=f)
    assert dflt.hi == pytest.approx(1 + 0.5 * math.sqrt(2.705543454095404), abs=1e-10)


def test_intervals_double_well():
    f = lambda x: 10.0 * (x**2 - 1.0) ** 2  # noqa: E731
    x = np.linspace(-2.0, 2.0, 801)
    ivs = intervals_1d(x, f(x), level=2.71, f=f)
    assert len(ivs) == 2
    inner, outer = math.sqrt(1 - math.sqrt(0.271)), math.sqrt(1 + math.sqrt(0.271))
    np.testing.assert_allclose(ivs[0].as_list(), [-outer, -inner], atol=1e-10)
    np.testing.assert_allclose(ivs[1].as_list(), [inner, outer], atol=1e-10)
    assert ivs[0].hi < ivs[1].lo
    assert all(iv.lo_kind == iv.hi_kind == "crossing" for iv in ivs)


def test_intervals_boundary_and_grid_edge():
    f = lambda x: (x - 0.2) ** 2 / 0.25  # noqa: E731
    hi_ref = 0.2 + 0.5 * math.sqrt(2.71)
    x = np.linspace(0.0, 2.0, 201)  # f(0) = 0.16: allowed at the grid start
    (iv,) = intervals_1d(x, f(x), level=2.71, f=f, boundaries=(0.0, None))
    assert iv.lo == 0.0 and iv.lo_kind == "boundary"
    assert iv.hi_kind == "crossing" and iv.hi == pytest.approx(hi_ref, abs=1e-10)

    # same grid without a physical boundary: the scan simply stopped inside the region
    (iv,) = intervals_1d(x, f(x), level=2.71, f=f)
    assert iv.lo == 0.0 and iv.lo_kind == "grid_edge"
    # a boundary that is not at the grid start does not make the grid start a boundary
    x2 = np.linspace(0.05, 2.0, 196)
    (iv,) = intervals_1d(x2, f(x2), level=2.71, f=f, boundaries=(0.0, None))
    assert iv.lo == 0.05 and iv.lo_kind == "grid_edge"

    # upper end: grid stops inside the allowed region
    x3 = np.linspace(-2.0, 0.5, 251)
    (iv,) = intervals_1d(x3, f(x3), level=2.71, f=f)
    assert iv.hi == 0.5 and iv.hi_kind == "grid_edge"
    assert iv.lo_kind == "crossing" and iv.lo == pytest.approx(0.2 - 0.5 * math.sqrt(2.71), abs=1e-10)
    (iv,) = intervals_1d(x3, f(x3), level=2.71, f=f, boundaries=(None, 0.5))
    assert iv.hi_kind == "boundary"

    # nothing allowed -> empty union
    assert intervals_1d(x, f(x) + 10.0, level=2.71) == []
    with pytest.raises(ValueError):
        intervals_1d(x[::-1], f(x[::-1]))


def test_best_fit_1d():
    x0, v0 = 0.3217, 2.5
    f = lambda x: 5.0 * (x - x0) ** 2 + v0  # noqa: E731
    x = np.linspace(0.0, 1.0, 101)
    xb, vb = best_fit_1d(x, f(x), f=f)
    assert xb == pytest.approx(x0, abs=1e-8)
    assert vb == pytest.approx(v0, abs=1e-12)
    # without f: the grid point
    xg, vg = best_fit_1d(x, f(x))
    assert xg == pytest.approx(0.32, abs=1e-15) and vg == pytest.approx(f(0.32), rel=1e-15)


def test_exclusion_curve():
    masses = np.logspace(0, 4, 9)
    g0 = 1e-3 * masses**1.5  # scale of the coupling probed at mass m: 1e-3 ... 1e3
    g = np.logspace(-4, 1, 1001)
    delta = 10.0 * (g[None, :] / g0[:, None]) ** 4
    out = exclusion_curve(masses, g, delta, level=4.61)
    expected = g0 * 0.461**0.25
    excluded = expected < g[-1]
    assert excluded.sum() == 6  # g0 * 0.82 above the grid end (10) for the three heaviest
    np.testing.assert_allclose(out[excluded], expected[excluded], rtol=1e-2)
    # nothing excluded on the grid -> NaN
    assert np.all(np.isnan(out[~excluded]))
    # delta is convex in log g, so interpolating it linearly between nodes (step 0.0115 in
    # ln g) puts the crossing slightly below the true one, by ~1e-4 relative at most
    assert np.all(out[excluded] <= expected[excluded])
    np.testing.assert_allclose(out[excluded], expected[excluded], rtol=1e-4)


# --------------------------------------------------------------------------------------------
# 7. physics sanity: Papoulias 2020 Table I
# --------------------------------------------------------------------------------------------


def _sin2w_interval(an, lik, res):
    stat = lambda s: float(jcevns.statistic(an.params(sin2w=s), lik))  # noqa: E731
    x_best, chi2_min = best_fit_1d(res.axes[0], res.values, f=stat)
    ivs = intervals_1d(res.axes[0], res.values - chi2_min, f=lambda s: stat(s) - chi2_min)
    return x_best, ivs


# Tolerance: +-0.01 on each end. Exact agreement is not expected: the paper does not fully
# specify some inputs (its new-QF curve, the 6-8 PE bin content; see docs/conventions.md) and
# Table I is rounded to 3 digits. Current values are
# 0.1419-0.2842 (new QF) and 0.1170-0.3217 (old QF), i.e. within 0.0025 of the paper.
@pytest.mark.parametrize(
    "which, lo, hi",
    [("newqf", 0.140, 0.282), ("oldqf", 0.116, 0.321)],
)
def test_sin2w_interval_table1(which, lo, hi, request, scan_newqf):
    an = request.getfixturevalue(which)
    lik = request.getfixturevalue(f"lik_{which}")
    res = scan_newqf if which == "newqf" else jcevns.scan(lik, {"sin2w": SIN2W_GRID})
    x_best, ivs = _sin2w_interval(an, lik, res)
    assert len(ivs) == 1
    (iv,) = ivs
    assert (iv.lo_kind, iv.hi_kind) == ("crossing", "crossing")
    assert iv.lo == pytest.approx(lo, abs=0.01)
    assert iv.hi == pytest.approx(hi, abs=0.01)
    assert iv.lo < x_best < iv.hi
    # the refined ends are exact crossings of the continuous Delta chi2
    chi2_min = float(jcevns.statistic(an.params(sin2w=x_best), lik))
    for end in (iv.lo, iv.hi):
        d = float(jcevns.statistic(an.params(sin2w=end), lik)) - chi2_min
        assert d == pytest.approx(2.705543454095404, abs=1e-8)


def test_scan_with_a_profiled_physics_parameter():
    """Scanning eps_ee_u while L-BFGS profiles eps_ee_d (pulls exact) agrees with a single
    `jcevns.profile` call per point and is never above a fine 2D grid minimum over eps_ee_d."""
    an = jcevns.build("csi2017-newqf")
    lik = jcevns.likelihood(an)
    u = np.array([-0.2, 0.0, 0.15, 0.4])
    res = jcevns.scan(lik, {"eps_ee_u": u}, profile=("eps_ee_d",))
    assert res.converged.all()
    d = np.linspace(-0.6, 0.6, 1201)
    grid = jcevns.scan(lik, {"eps_ee_u": u, "eps_ee_d": d})
    # L-BFGS finds a local minimum (the NSI chi2 has two valleys): it must be at or below the
    # grid near the point it found, and never below the global grid minimum by more than the
    # grid's resolution.
    nearest = np.abs(d[None, :] - res.profiled["eps_ee_d"][:, None]).argmin(axis=1)
    assert np.all(res.values <= grid.values[np.arange(u.size), nearest] + 1e-9)
    assert np.all(res.values >= grid.values.min(axis=1) - 1e-3)
    for i, x in enumerate(u):
        single = jcevns.profile(lik, an.params(eps_ee_u=float(x)), ["eps_ee_d"], tol=1e-7)
        assert float(single.value) == pytest.approx(res.values[i], abs=1e-8)
        assert float(single.x[0]) == pytest.approx(res.profiled["eps_ee_d"][i], abs=1e-5)
    with pytest.raises(ValueError, match="eps_ee_u"):
        jcevns.scan(lik, {"eps_ee_u": u}, profile=("eps_ee_u",))


@pytest.mark.parametrize("kind", ["zprime", "scalar"])
@pytest.mark.parametrize("name", ["csi2017-newqf", "lar2020"])
def test_mediator_plane_fast_path_matches_pointwise(name, kind):
    """(M, g) planes use the exact quadratic dependence of the counts on g^2; the result must
    equal the point-by-point profiled statistic, in either axis order."""
    from jcevns import scans

    lik = jcevns.likelihood(jcevns.build(name))
    m = np.logspace(0, 4.5, 7)
    g = np.logspace(-6.5, -1.5, 9)
    fast = jcevns.scan(lik, {f"{kind}_m": m, f"{kind}_g": g})
    mm, gg = np.meshgrid(m, g, indexing="ij")
    slow, pulls, _, _ = scans.evaluate(lik, lik.analysis.params(), {f"{kind}_m": mm.ravel(), f"{kind}_g": gg.ravel()})
    np.testing.assert_allclose(fast.values, slow.reshape(mm.shape), rtol=1e-6)
    np.testing.assert_allclose(fast.values[:, :7], slow.reshape(mm.shape)[:, :7], rtol=1e-10)
    np.testing.assert_allclose(fast.pulls[:, :7], pulls.reshape(mm.shape + (-1,))[:, :7], rtol=1e-6, atol=1e-9)
    flipped = jcevns.scan(lik, {f"{kind}_g": g, f"{kind}_m": m})
    np.testing.assert_array_equal(flipped.values, fast.values.T)

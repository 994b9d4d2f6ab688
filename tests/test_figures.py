"""Figures for talks: physics notation on the axes, one colour per experiment everywhere, the
allowed band of the universal Z' as a filled region between its two edges."""

from __future__ import annotations

import numpy as np
import pytest

import jcevns
from jcevns import plots, reproduce_papers, style


@pytest.mark.parametrize(
    ("name", "label"),
    [("sin2w", r"$\sin^2\theta_W$"), ("rn", "$R_n$ [fm]"), ("eps_ee_u", r"$\varepsilon_{ee}^{u}$"),
     ("eps_mutau_d", r"$\varepsilon_{\mu\tau}^{d}$"), ("mu_nu", r"$\mu_\nu$ [$10^{-10}\,\mu_B$]"),
     ("mu_nu_mubar", r"$\mu_{\bar\nu_\mu}$ [$10^{-10}\,\mu_B$]"),
     ("r2_nue", r"$\langle r^2_{\nu_e}\rangle$ [$10^{-32}$ cm$^2$]"), ("zprime_m", "$M_{Z'}$ [MeV]"),
     ("scalar_g", r"$g_\phi$"), ("rn_ar", r"$R_n^{\mathrm{Ar}}$ [fm]")],
)
def test_axis_labels_in_physics_notation(name, label):
    assert style.axis_label(name) == label


def test_every_parameter_has_a_label_that_matplotlib_renders():
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("agg")
    for name in jcevns.SPECS:
        text = style.axis_label(name)
        assert text.startswith("$") and name not in text, text  # a symbol, not the code name
        parser.parse(text)  # raises on invalid mathtext


def test_one_colour_per_experiment():
    names = jcevns.experiments.names()
    colours = [style.colour(n) for n in names]
    assert len(set(colours)) == len(colours)  # distinguishable in one figure
    assert style.colour("csi2017-newqf") == style.EXPERIMENT_COLOURS["csi2017-newqf"]
    assert style.colour("my-detector") == style.colour("my-detector")  # stable for unregistered names


def _capture(monkeypatch):
    figures = []

    def save(fig, path, dpi=110):
        figures.append(fig)
        return path

    monkeypatch.setattr(style, "save", save)
    return figures


def test_exclusion_figure_fills_the_allowed_band_in_the_experiment_colour(monkeypatch, tmp_path):
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba

    figures = _capture(monkeypatch)
    m, g = np.logspace(0, 3, 4), np.logspace(-5, -2, 7)
    island = {"g_lo": np.array([np.nan, 2e-4, 3e-4, 4e-4]), "g_hi": np.array([np.nan, 2.5e-4, 3.6e-4, 5e-4])}
    curves = {"lar2020": {"mediators": {"zprime": {"m_mev": m, "g": g, "delta": np.zeros((4, 7)),
                                                   "g_excluded_min": np.full(4, 1e-4), "island": island}}}}
    plots.exclusions_figure(curves, "zprime", tmp_path / "x.png")
    ax = figures[0].axes[0]
    fills = [c for c in ax.collections if isinstance(c, PolyCollection)]
    hatched = [c for c in fills if c.get_hatch() and len(c.get_paths())]
    assert len(hatched) == 1 and len(fills) == 3  # the excluded region, the allowed band, its legend entry
    band = hatched[0].get_paths()[0].vertices
    assert band[:, 0].min() == pytest.approx(1e1) and band[:, 0].max() == pytest.approx(1e3)  # no band at 1 MeV
    assert band[:, 1].min() == pytest.approx(2e-4**2) and band[:, 1].max() == pytest.approx(5e-4**2)
    assert np.allclose(hatched[0].get_edgecolor()[0], to_rgba(style.colour("lar2020")))
    assert ax.get_xlabel() == "$M_{Z'}$ [MeV]" and ax.get_ylabel() == "$g_{Z'}^2$"


def test_profiles_use_the_experiment_colours_and_labels(monkeypatch, tmp_path):
    from matplotlib.colors import to_rgba

    figures = _capture(monkeypatch)
    x = np.linspace(0.2, 0.3, 5)
    curves = {n: {"one_d": {"sin2w": {"x": x, "delta": (x - 0.25) ** 2 * 1e3}}} for n in ("csi2017-oldqf", "lar2020")}
    plots.profiles_figure(curves, ["sin2w"], tmp_path / "p.png")
    ax = figures[0].axes[0]
    assert {to_rgba(line.get_color()) for line in ax.lines[:2]} == {to_rgba(style.colour(n)) for n in curves}
    assert ax.get_xlabel() == r"$\sin^2\theta_W$"


def test_the_allowed_band_is_where_the_zprime_flips_the_weak_charge(monkeypatch):
    """The band holds the coupling at which the destructive Z' amplitude is twice the SM one (the
    rate is back at the SM value, found here by root finding on the prediction); between the
    lowest excluded coupling and the band the rate is far below the SM."""
    from scipy.optimize import brentq

    monkeypatch.setattr(reproduce_papers, "_MED_MASS", np.array([10.0, 1000.0]))
    an = jcevns.build("lar2020")
    lik = jcevns.likelihood(an)
    g_grid = np.logspace(-6.5, -1.0, 111)
    res = jcevns.scan(lik, {"zprime_m": reproduce_papers._MED_MASS, "zprime_g": g_grid})
    band = reproduce_papers._island(lik, "zprime", g_grid, res.delta, res.minimum)
    boundary = jcevns.exclusion_curve(reproduce_papers._MED_MASS, g_grid, res.delta)
    sm = float(jcevns.predict(an.params(), an).sum())
    for i, m in enumerate(reproduce_papers._MED_MASS):
        lo, hi = band["g_lo"][i], band["g_hi"][i]
        assert boundary[i] < lo < hi < 1.3 * lo  # a thin band above the exclusion boundary

        def excess(log_g):
            return float(jcevns.predict(an.params(zprime_m=m, zprime_g=10.0**log_g), an).sum()) - sm

        between = np.log10(np.sqrt(boundary[i] * lo))
        assert excess(between) < -0.5 * sm
        flip = 10.0 ** brentq(excess, between, np.log10(hi), xtol=1e-10)
        assert lo < flip < hi

"""User-defined experiments from TOML files: build, predict, scan, the command line, the nuclei
table and every validation error (each names the file, the field and the valid range)."""

import json

import numpy as np
import pytest

import jcevns
from jcevns import cli, data, nuclei
from jcevns.experiments import _toml

BASE = """
[experiment]
name = "test-ar"
target = "LAr"
dataset = "test data set"
citation = "none"

[source]
nu_per_pot = 0.09
n_pot = 1.5e23
distance_m = 28.0

[target]
mass_kg = 100.0
composition = [{ element = "Ar" }]

[response]
observable = "keVnr"
edges = [20.0, 40.0, 60.0, 100.0]
efficiency = { x = [20.0, 100.0], values = [0.5, 0.9] }

[data]
observed = [200.0, 120.0, 60.0]

[likelihood]
signal_sigma = 0.1

[[backgrounds]]
name = "brn"
counts = [10.0, 5.0, 2.0]
sigma = 0.2
"""


def write(tmp_path, text, name="det.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_cenns10_as_toml_matches_the_reference_analysis(tmp_path):
    """The generic response with CENNS-10's inputs (Ar-40, release efficiency table, one bin)
    reproduces the hand-written lar2020 analysis: same physics, independent response code."""
    lar = jcevns.build("lar2020")
    o = lar.options()
    eff = data.load("lar2020")["efficiency"]
    text = f"""
[experiment]
name = "cenns10-toml"
target = "LAr"
dataset = "CENNS-10 inputs"
citation = "Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050"
[source]
nu_per_pot = {o["nu_per_pot"]!r}
n_pot = {o["n_pot"]!r}
distance_m = {o["distance_m"]!r}
[target]
mass_kg = {o["mass_kg"]!r}
composition = [{{ isotope = "Ar40" }}]
[response]
observable = "keVnr"
edges = [{eff["kevnr"][0]!r}, {o["roi_max_kevnr"]!r}]
efficiency = {{ x = {list(eff["kevnr"])!r}, values = {list(eff["efficiency"])!r} }}
[data]
observed = [{float(lar.data["n_meas"][0] + lar.data["n_brn"][0])!r}]
[physics]
couplings = "tree"
recoil_term = true
form_factor = "helm"
helm_skin_fm = 0.9
proton_rms_radius_fm = [3.14]
scalar_charge = "sigma_terms"
[reference]
sin2w = 0.2312
rn_fm = 3.36
"""
    an = jcevns.build(write(tmp_path, text))
    for values in ({}, {"sin2w": 0.25, "eps_ee_u": 0.2, "mu_nu_e": 30.0}):
        ref = np.asarray(jcevns.predict_per_flavour(lar.params(**values), lar))
        got = np.asarray(jcevns.predict_per_flavour(an.params(**values), an))
        np.testing.assert_allclose(got, ref, rtol=1e-8)


def test_toml_experiment_predict_and_scan(tmp_path):
    path = write(tmp_path, BASE)
    an = jcevns.build(str(path))
    assert an.name == "test-ar" and an.n_bins == 3 and an.preset == "default"
    # natural argon: three isotopes with IUPAC abundances
    assert [n.name for n in an.detector.nuclei] == ["Ar36", "Ar38", "Ar40"]
    counts = np.asarray(jcevns.predict(an.params(), an))
    assert np.all(counts > 0) and np.all(np.isfinite(counts))
    lik = jcevns.likelihood(an)
    assert lik.statistic == "poisson" and lik.pull_names == ("signal_norm", "brn_norm")
    assert lik.sigma_pulls == (0.1, 0.2)
    res = jcevns.scan(lik, {"sin2w": np.linspace(0.1, 0.4, 31)})
    assert np.all(np.isfinite(res.values)) and res.minimum >= 0.0
    # more events need a larger sin2w (Q_W = N - (1 - 4 sin2w) Z grows with it): the fit follows the data
    more = jcevns.build(write(tmp_path, BASE.replace("[200.0, 120.0, 60.0]", "[400.0, 240.0, 120.0]"), "more.toml"))
    res_more = jcevns.scan(jcevns.likelihood(more), {"sin2w": np.linspace(0.1, 0.4, 31)})
    assert res_more.argmin()["sin2w"] > res.argmin()["sin2w"]

    out = tmp_path / "scan"
    assert cli.main(["scan", str(path), "--grid", "sin2w=0.1:0.4:31", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "scan.json").read_text())
    assert summary["analysis"] == "test-ar" and summary["statistic"] == "poisson"
    assert cli.main(["predict", str(path), "--json"]) == 0


def test_forecast_uses_asimov_data(tmp_path):
    """Without observed data the Poisson likelihood is minimal (zero) at the reference point."""
    text = BASE.replace("[data]\nobserved = [200.0, 120.0, 60.0]\n", "")
    an = jcevns.build(write(tmp_path, text))
    value, pulls = jcevns.profiled(an.params(), jcevns.likelihood(an))
    assert float(value) == pytest.approx(0.0, abs=1e-9)
    assert float(jcevns.statistic(an.params(sin2w=0.3), jcevns.likelihood(an))) > 1.0


def test_examples_build(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "examples"
    ar = jcevns.build(root / "coh_ar_610kg.toml")
    total = float(jcevns.predict(ar.params(), ar).sum())
    # 25 x the CENNS-10 fiducial mass above a 20 keVnr threshold: O(3000) events per SNS year
    assert 2000 < total < 4000
    nai = jcevns.build(root / "nai_2t.toml")
    assert float(jcevns.predict(nai.params(), nai).sum()) > 0


def test_nuclei_table():
    # IUPAC abundances sum to one per element; AME2020 masses within 0.1 u of A
    for element, comp in nuclei.NATURAL.items():
        assert sum(f for _, f in comp) == pytest.approx(1.0, abs=1e-4), element
        for iso, _ in comp:
            n = nuclei.nucleus(iso)
            assert abs(n.atomic_mass_u - n.a) < 0.1
    assert nuclei.nucleus("Cs133") is nuclei.CS133 and nuclei.nucleus("Ar40") is nuclei.AR40
    assert nuclei.nucleus("Xe131").z == 54 and nuclei.nucleus("Ge73").n == 41
    with pytest.raises(ValueError, match="unknown nucleus 'Xx1'"):
        nuclei.nucleus("Xx1")


ERRORS = [
    ("distance_m = 28.0\n", "", r"source\.distance_m: missing"),
    ('{ element = "Ar" }', '{ isotope = "Ar41" }', r"target\.composition\[0\]: unknown nucleus 'Ar41'"),
    ('{ element = "Ar" }', '{ element = "Zz" }', r"target\.composition\[0\]: unknown element 'Zz'"),
    ("mass_kg = 100.0", "mass_kg = 0.0", r"target\.mass_kg: must be a positive"),
    ("mass_kg = 100.0", "mass_kg = -5.0", r"target\.mass_kg: must be a positive"),
    ("n_pot = 1.5e23", "n_pot = -1.0", r"source\.n_pot: must be a positive"),
    ("values = [0.5, 0.9]", "values = [0.5, 1.2]", r"response\.efficiency\.values: values must lie in \[0, 1\]"),
    ("values = [0.5, 0.9]", "values = [-0.1, 0.9]", r"response\.efficiency\.values: values must lie in \[0, 1\]"),
    ("edges = [20.0, 40.0, 60.0, 100.0]", "edges = [20.0, 60.0, 40.0, 100.0]", r"response\.edges: .*increasing"),
    ("observed = [200.0, 120.0, 60.0]", "observed = [200.0, 120.0]", r"data\.observed: must have 3 entries"),
    ("counts = [10.0, 5.0, 2.0]", "counts = [10.0, 5.0]", r"backgrounds\[0\]\.counts: must have 3 entries"),
    ("distance_m = 28.0", "distanse_m = 28.0", r"source\.distanse_m: unknown key; valid keys"),
    ("[response]", "[respons]", r"field respons: unknown key"),
    ('observable = "keVnr"', 'observable = "MeV"', r"response\.observable: must be one of"),
    ("signal_sigma = 0.1", "signal_sigma = 0", r"likelihood\.signal_sigma: must be a positive"),
    ("[likelihood]", "[physics]\nform_factor = \"helmm\"\n[likelihood]", r"field physics: .*form_factor"),
]


@pytest.mark.parametrize("old,new,match", ERRORS)
def test_validation_errors(tmp_path, old, new, match):
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ValueError, match=match) as err:
        _toml.load(path)
    assert str(path) in str(err.value)


def test_file_errors_and_cli_exit_code(tmp_path, capsys):
    with pytest.raises(ValueError, match="no such file"):
        jcevns.build(tmp_path / "absent.toml")
    bad = write(tmp_path, "[experiment\n", "bad.toml")
    with pytest.raises(ValueError, match="not valid TOML"):
        jcevns.build(bad)
    with pytest.raises(ValueError, match="option edges must be non-negative and strictly increasing"):
        jcevns.build(write(tmp_path, BASE, "ok.toml"), edges=(30.0, 20.0))
    with pytest.raises(ValueError, match="option mass_kg must be positive"):
        jcevns.build(write(tmp_path, BASE, "ok.toml"), mass_kg=0.0)
    path = write(tmp_path, BASE.replace("mass_kg = 100.0", "mass_kg = 0.0"))
    assert cli.main(["predict", str(path)]) == 2
    err = capsys.readouterr().err
    assert "target.mass_kg" in err and "Traceback" not in err


def _keVee(tmp_path, resolution, edges, name, extra=""):
    quenching = 'observable = "keVee"\nquenching = { model = "constant", value = 0.25 }'
    text = BASE.replace('observable = "keVnr"', quenching)
    text = text.replace("edges = [20.0, 40.0, 60.0, 100.0]", f"edges = {edges!r}\nresolution = {resolution}{extra}")
    text = text.replace("efficiency = { x = [20.0, 100.0], values = [0.5, 0.9] }\n", "")
    text = text.replace("observed = [200.0, 120.0, 60.0]", f"observed = {[1.0] * (len(edges) - 1)!r}")
    text = text.replace("counts = [10.0, 5.0, 2.0]", f"counts = {[0.0] * (len(edges) - 1)!r}")
    return jcevns.build(write(tmp_path, text, name))


def test_gaussian_smearing_conserves_events_and_narrow_limit(tmp_path):
    """A Gaussian resolution moves events between bins but keeps their number inside a window
    much wider than the resolution; a very narrow resolution gives the unsmeared counts."""
    sharp = _keVee(tmp_path, '{ model = "none" }', [5.0, 7.5, 10.0, 15.0], "sharp.toml")
    narrow = _keVee(tmp_path, '{ model = "gaussian", sqrt = 0.002 }', [5.0, 7.5, 10.0, 15.0], "narrow.toml")
    n_sharp = np.asarray(jcevns.predict(sharp.params(), sharp))
    np.testing.assert_allclose(np.asarray(jcevns.predict(narrow.params(), narrow)), n_sharp, rtol=2e-3)
    # window [2, 18] keVee, sigma = 0.3 sqrt(E) <= 1.3 keVee: only leakage across the window's
    # ends changes the total, by a few per cent
    wide_sharp = _keVee(tmp_path, '{ model = "none" }', [2.0, 6.0, 10.0, 14.0, 18.0], "ws.toml")
    wide = _keVee(tmp_path, '{ model = "gaussian", sqrt = 0.3 }', [2.0, 6.0, 10.0, 14.0, 18.0], "wg.toml")
    a = np.asarray(jcevns.predict(wide_sharp.params(), wide_sharp))
    b = np.asarray(jcevns.predict(wide.params(), wide))
    assert b.sum() == pytest.approx(a.sum(), rel=0.05)
    assert not np.allclose(a, b, rtol=1e-3)  # the resolution does move events between bins


def test_poisson_pe_and_efficiency_with_smearing(tmp_path):
    base = BASE.replace('observable = "keVnr"', 'observable = "PE"\nlight_yield_pe_per_kevee = 10.0\n'
                        'quenching = { model = "constant", value = 0.1 }\nresolution = { model = "poisson" }')
    base = base.replace("edges = [20.0, 40.0, 60.0, 100.0]", "edges = [20.0, 40.0, 60.0, 100.0]")
    an = jcevns.build(write(tmp_path, base, "pe.toml"))
    half = jcevns.build(write(tmp_path, base.replace("values = [0.5, 0.9]", "values = [0.25, 0.45]"), "h.toml"))
    n, n_half = (np.asarray(jcevns.predict(a.params(), a)) for a in (an, half))
    assert np.all(n > 0)
    # the efficiency multiplies the reconstructed spectrum: halving it halves every bin
    np.testing.assert_allclose(n_half, 0.5 * n, rtol=1e-12)

"""Tests of the shipped data files (jcevns/data) and of the CsI 2017 re-derivation."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from jcevns import data

# The maintainer script that re-derives csi2017.json lives outside the package, in tools/.
_SPEC = importlib.util.spec_from_file_location(
    "derive_csi2017", Path(__file__).resolve().parents[1] / "tools" / "derive_csi2017.py"
)
dc = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(dc)

# The raw release files the shipped JSON is derived from, shipped inside the package
# (each directory has a PROVENANCE.md: source, DOI/arXiv, licence).
RELEASES = Path(data.__file__).resolve().parent / "releases"
CSI_RELEASE = RELEASES / "coherent-csi-2017"
LAR_RELEASE = RELEASES / "coherent-lar-2020"
QF_RELEASE = RELEASES / "csi-quenching"

EXPECTED_NAMES = {"csi2017", "csi2017_detector", "lar2020"}


def _need(path: Path) -> Path:
    assert path.exists(), f"shipped release file missing: {path}"
    return path


# --- (a) loader -------------------------------------------------------------------------
def test_available_lists_all_shipped_files():
    names = data.available()
    assert isinstance(names, tuple)
    assert EXPECTED_NAMES <= set(names)
    assert list(names) == sorted(names)


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_load_returns_dict_with_source(name):
    d = data.load(name)
    assert isinstance(d, dict)
    assert isinstance(d["source"], str) and len(d["source"]) > 50


def test_load_returns_fresh_copy():
    d = data.load("csi2017")
    d["n_meas"][0] = -1.0
    assert data.load("csi2017")["n_meas"][0] == 9.0


def test_load_unknown_name_raises_with_valid_names():
    with pytest.raises(ValueError) as exc:
        data.load("csi2099")
    msg = str(exc.value)
    assert "csi2099" in msg
    for name in EXPECTED_NAMES:
        assert name in msg


def test_every_scalar_and_block_has_a_source():
    for name in ("csi2017_detector", "lar2020"):
        d = data.load(name)
        for key, val in d.items():
            if key == "source" or key.endswith("_source") or key.endswith("_uncertainty"):
                continue
            if isinstance(val, dict):
                assert isinstance(val.get("source"), str), f"{name}.{key} has no source"
            else:
                assert isinstance(d.get(f"{key}_source"), str), f"{name}.{key} has no {key}_source"


# --- (b) shipped CsI 2017 binned data ------------------------------------------------------
def test_csi2017_shapes_and_sums():
    d = data.load("csi2017")
    assert d["pe_edges"] == [float(x) for x in range(6, 31, 2)]
    assert d["spectrum_pe_edges"] == [float(x) for x in range(0, 51, 2)]
    for key in ("n_meas", "b_0n", "b_ss"):
        assert len(d[key]) == 12, key
        assert len(d[f"{key}_all"]) == 25, key
        # the analysis bins are bins 4..15 (1-based) of the full spectrum
        assert d[key] == d[f"{key}_all"][3:15], key
    assert sum(d["n_meas"]) == 142.0
    assert abs(sum(d["b_0n"]) - 5.4) < 0.1
    assert sum(d["b_0n"]) == pytest.approx(5.4193, abs=1e-4)
    assert sum(d["b_ss"]) == 405.0
    assert d["n_meas"] == [9.0, 11.0, 24.0, 25.0, 21.0, 17.0, 5.0, 10.0, 6.0, 0.0, 5.0, 9.0]
    assert d["b_ss"] == [26.0, 51.0, 67.0, 49.0, 39.0, 32.0, 30.0, 23.0, 21.0, 21.0, 29.0, 17.0]
    assert d["n_meas_bin_6_8_digitized"] == 8.0
    assert "COHERENT_data.txt" in d["n_meas_bin_6_8_digitized_source"]
    assert d["exposure_gwh"] == 7.47594
    assert d["time_window_us"] == 6.0
    assert all(b >= 0 for b in d["b_0n_all"] + d["b_ss_all"])
    # totals over 0-50 PE quoted in the release provenance: B_0n 7.62 after acceptance
    assert sum(d["b_0n_all"]) == pytest.approx(7.62, abs=0.01)
    for tag in ("10.5281/zenodo.1228631", "1708.01294", "1804.09459", "derive_csi2017"):
        assert tag in d["source"]


def test_acceptance_function():
    acc = dc.acceptance
    assert acc(4.5) == 0.0
    assert acc(5.5) == pytest.approx(0.5 * 0.6655 / (1 + np.exp(-0.4942 * (5.5 - 10.8507))))
    assert acc(10.8507) == pytest.approx(0.6655 / 2)
    assert acc(100.0) == pytest.approx(0.6655, rel=1e-12)


def test_b0n_first_bin_by_hand():
    # 6-8 PE bin: promptPDF at 6.5 and 7.5 PE x exposure x acceptance at those centres
    d = data.load("csi2017")
    expected = 7.47594 * (0.1672490835 * dc.acceptance(6.5) + 0.1485182494 * dc.acceptance(7.5))
    assert d["b_0n"][0] == pytest.approx(expected, rel=1e-12)


# --- (c) re-derivation from the public release ----------------------------------------------
def test_derive_reproduces_shipped():
    release = _need(CSI_RELEASE)
    derived = dc.derive(release)
    shipped = data.load("csi2017")
    for key in dc.DERIVED_KEYS:
        np.testing.assert_allclose(derived[key], shipped[key], rtol=0, atol=1e-9, err_msg=key)
    assert dc.compare(derived, shipped) == []


def test_derive_check_cli(tmp_path, capsys):
    release = _need(CSI_RELEASE)
    assert dc.main(["--release", str(release), "--check"]) == 0
    # a tampered copy must fail the check
    bad = data.load("csi2017")
    bad["b_ss"][5] += 1e-6
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad))
    assert dc.main(["--release", str(release), "--out", str(bad_file), "--check"]) == 1


def test_derive_write_preserves_non_derived_keys(tmp_path):
    release = _need(CSI_RELEASE)
    out = tmp_path / "csi.json"
    seed = data.load("csi2017")
    seed["n_meas"] = [0.0] * 12
    seed["extra_note"] = "kept"
    out.write_text(json.dumps(seed))
    assert dc.main(["--release", str(release), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["extra_note"] == "kept"
    assert written["n_meas"] == data.load("csi2017")["n_meas"]
    assert written == {**data.load("csi2017"), "extra_note": "kept"}


def test_derive_handles_headers_either_way(tmp_path):
    """Beam-on files without a header, beam-off with one: swapping that must not matter."""
    release = _need(CSI_RELEASE)
    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    for fname in ("data_coincidence_beamOn.txt", "data_anticoincidence_beamOn.txt"):
        p = copy / fname
        p.write_text("Photoelectrons (PEs),Arrival time (us),Counts\n" + p.read_text())
    derived = dc.derive(copy)
    assert dc.compare(derived, data.load("csi2017")) == []


def test_digitized_release_agreement():
    bradkav = _need(CSI_RELEASE / "digitized-bradkav" / "COHERENT_data.txt")
    digit = np.loadtxt(bradkav)[:, 1]
    d = data.load("csi2017")
    diff = np.asarray(d["n_meas_all"]) - digit
    assert diff[3] == pytest.approx(9 - 7.9737, abs=1e-3)  # the 6-8 PE bin: 9 vs 7.97
    assert round(digit[3]) == d["n_meas_bin_6_8_digitized"]
    assert np.max(np.abs(diff[4:15])) < 0.2  # the other analysis bins agree


# --- detector constants -----------------------------------------------------------------------
def test_csi_detector_values():
    d = data.load("csi2017_detector")
    assert d["mass_kg"] == 14.57
    assert d["n_pot"] == 1.76e23
    assert d["distance_m"] == 19.3
    assert d["nu_per_pot_per_flavour"] == 0.08
    assert d["light_yield_pe_per_kevee"] == 13.348
    assert d["qf_constant"] == 0.0878 and d["qf_constant_uncertainty"] == 0.0166
    acc = d["acceptance"]
    assert (acc["a"], acc["k"], acc["x0"], acc["step_lo"], acc["step_hi"]) == (0.6655, 0.4942, 10.8507, 5, 6)
    assert acc["a"] == dc.ACCEPTANCE_A and acc["k"] == dc.ACCEPTANCE_K and acc["x0"] == dc.ACCEPTANCE_X0
    assert d["qf_polynomial"]["coefficients_mev"] == [0.0554628, 4.30681, -111.707, 840.384]


def test_qf_polynomial_matches_release_file():
    path = _need(QF_RELEASE / "scintRespCoefficients.txt")
    rows = dc._read_numeric_table(path, 4)
    qp = data.load("csi2017_detector")["qf_polynomial"]
    keys = ["coefficients_mev", "plus_1sigma_model0", "minus_1sigma_model0",
            "plus_1sigma_model1", "minus_1sigma_model1"]
    assert rows.shape == (5, 4)
    for key, row in zip(keys, rows):
        assert qp[key] == list(row), key


# --- (d) LAr efficiency table -------------------------------------------------------------------
def test_lar_efficiency_table():
    eff = data.load("lar2020")["efficiency"]
    kevee, kevnr, e = (np.asarray(eff[k]) for k in ("kevee", "kevnr", "efficiency"))
    assert kevee.shape == kevnr.shape == e.shape == (80,)
    assert np.all((e >= 0) & (e <= 1))
    assert np.all(np.diff(kevnr) > 0)
    assert np.all(np.diff(kevee) > 0)
    np.testing.assert_allclose(kevee, 0.25 + 0.5 * np.arange(80), atol=1e-12)
    assert kevnr[0] == 1.01299 and e[0] == 0.0
    assert e[-1] == 0.96345


def test_lar_efficiency_verbatim():
    path = _need(LAR_RELEASE / "CENNS10AnlAEfficiency.txt")
    rows = dc._read_numeric_table(path, 3)
    eff = data.load("lar2020")["efficiency"]
    assert eff["kevee"] == list(rows[:, 0])
    assert eff["kevnr"] == list(rows[:, 1])
    assert eff["efficiency"] == list(rows[:, 2])


def test_lar_scalars():
    d = data.load("lar2020")
    assert d["mass_kg"] == 24.4
    assert d["n_pot_release"] == 1.38e23 and d["n_pot_printed"] == 1.37e23
    assert d["distance_m"] == 27.5
    assert d["nu_per_pot_per_flavour_release"] == 0.09
    assert d["nu_per_pot_per_flavour_printed"] == 0.08
    assert d["qf"]["a"] == 0.246 and d["qf"]["b_per_kevnr"] == 0.00078
    assert (d["n_meas"], d["n_brn"], d["sigma_alpha"]) == (159, 563, 0.085)
    assert d["roi_max_kevnr"] == 120
    assert d["sm_prediction_release"] == 128
    # the keVnr column of the efficiency table is the keVee centre inverted with the release QF
    eff = d["efficiency"]
    t = np.asarray(eff["kevnr"])
    eee = (d["qf"]["a"] + d["qf"]["b_per_kevnr"] * t) * t
    np.testing.assert_allclose(eee, eff["kevee"], rtol=2e-3, atol=2e-3)


# --- (e) new CsI QF polynomial --------------------------------------------------------------------
def _eee_mev(coeffs, t_mev):
    return sum(c * t_mev ** (i + 1) for i, c in enumerate(coeffs))


@pytest.mark.parametrize(
    "key",
    ["coefficients_mev", "plus_1sigma_model0", "minus_1sigma_model0", "plus_1sigma_model1", "minus_1sigma_model1"],
)
def test_qf_polynomial_monotonic(key):
    coeffs = data.load("csi2017_detector")["qf_polynomial"][key]
    t = np.linspace(1e-6, 0.060, 60001)  # 0 < T < 60 keVnr, in MeV
    eee = _eee_mev(coeffs, t)
    assert np.all(np.diff(eee) > 0)
    deriv = sum((i + 1) * c * t**i for i, c in enumerate(coeffs))
    assert deriv.min() > 0.04  # strictly increasing with margin, so it can be inverted


def test_qf_polynomial_values():
    c = data.load("csi2017_detector")["qf_polynomial"]["coefficients_mev"]
    # E_ee at 10 and 30 keVnr, evaluated by hand from the COHERENT coefficients (arXiv:2110.07730)
    assert _eee_mev(c, 0.010) * 1e3 == pytest.approx(0.8820, abs=1e-4)
    assert _eee_mev(c, 0.030) * 1e3 == pytest.approx(3.2046, abs=1e-4)
    assert _eee_mev(c, 0.010) / 0.010 == pytest.approx(0.0882, abs=1e-4)


def test_shipped_releases_have_provenance_and_are_package_data():
    """Every shipped release directory says where its files come from, and pyproject ships them."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["jcevns.data"]
    for release in (CSI_RELEASE, LAR_RELEASE, QF_RELEASE):
        text = (release / "PROVENANCE.md").read_text()
        assert "arXiv:" in text and "Licence" in text, release
    files = [f for f in RELEASES.rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    assert len(files) >= 10
    for f in files:
        rel = f.relative_to(RELEASES.parent)
        assert any(rel.match(p) and len(rel.parts) == len(Path(p).parts) for p in patterns), rel

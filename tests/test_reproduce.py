"""End-to-end reproduction: `jcevns reproduce` writes its outputs and matches Table I of Papoulias,
PRD 102 113004 (2020), arXiv:1907.11644 (sin2w +-0.01, R_n +-0.2 fm, eps +-0.02, r2 +-3) and the
CENNS-10 results of Miranda et al., JHEP 05 (2020) 130, arXiv:2003.12050."""

import json

import numpy as np
import pytest

from jcevns import cli, experiments

# Papoulias, PRD 102 (2020) 113004, Table I, and Miranda et al., JHEP 05 (2020) 130, as stored
# with each experiment's description.
PAPER_003 = {n: experiments.get(n).published["intervals_90"].value for n in ("csi2017-oldqf", "csi2017-newqf")}
PAPER_LAR = experiments.get("lar2020").published["results"].value

TOLERANCE = {"sin2w": 0.01, "rn": 0.2, "eps_ee_u": 0.02, "eps_ee_d": 0.02, "eps_mumu_u": 0.02,
             "eps_mumu_d": 0.02, "r2_nue": 3.0, "r2_numu": 3.0, "r2_numubar": 3.0}


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    assert cli.main(["reproduce", "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_outputs_and_keys(reproduction):
    results = json.loads((reproduction / "results.json").read_text())
    assert {"csi2017-oldqf", "csi2017-newqf", "lar2020"} <= set(results)
    for name in ("csi2017-oldqf", "csi2017-newqf", "lar2020"):
        r = results[name]
        assert {"preset", "sm_total", "chi2_sm", "best_fit", "intervals_90", "exclusions_90"} <= set(r)
        assert set(r["exclusions_90"]) >= {"zprime", "scalar"}
        z = r["exclusions_90"]["zprime"]
        assert len(z["m_mev"]) == len(z["g_excluded_min"])
    report = (reproduction / "report.md").read_text()
    assert "Table I" in report and "paper disagrees with itself" in report
    assert len(list((reproduction / "figures").glob("*.png"))) >= 8


@pytest.mark.slow
@pytest.mark.parametrize("name", ["csi2017-oldqf", "csi2017-newqf"])
def test_table_one_within_tolerance(reproduction, name):
    results = json.loads((reproduction / "results.json").read_text())[name]
    for param, tol in TOLERANCE.items():
        ours, paper = results["intervals_90"][param], PAPER_003[name][param]
        assert len(ours) == len(paper), (param, ours, paper)
        for (lo, hi), (plo, phi) in zip(ours, paper):
            assert abs(lo - plo) <= tol and abs(hi - phi) <= tol, (param, ours, paper)


@pytest.mark.slow
def test_lar_beside_miranda(reproduction):
    """CENNS-10 against Miranda et al., JHEP 05 (2020) 130: sin2w (eq. 3.2) within 0.01, the R_n
    limit (eq. 3.3) within 0.2 fm, the charge radii (eq. 3.9) within 3e-32 cm^2, and both 90 % band
    widths of sec. 3.5 within 0.005 (the free-R_n one as the width of the two-parameter band)."""
    r = json.loads((reproduction / "results.json").read_text())["lar2020"]
    assert r["best_fit"]["sin2w"] == pytest.approx(PAPER_LAR["sin2w_best"], abs=0.01)
    (lo, hi), (plo, phi) = r["intervals_90"]["sin2w"][0], PAPER_LAR["sin2w"][0]
    assert abs(lo - plo) <= 0.01 and abs(hi - phi) <= 0.01
    assert max(h for _, h in r["intervals_90"]["rn"]) == pytest.approx(PAPER_LAR["rn"][0][1], abs=0.2)
    for p in ("r2_nue", "r2_numu", "r2_numubar"):
        ours, paper = r["intervals_90"][p], PAPER_LAR[p]
        assert len(ours) == len(paper) == 2, (p, ours)
        np.testing.assert_allclose(ours, paper, atol=3.0, err_msg=p)
    e = r["extra"]
    assert e["sin2w_width_fixed_rn"] == pytest.approx(PAPER_LAR["sin2w_width_fixed_rn"], abs=0.005)
    assert e["sin2w_width_2d_band"] == pytest.approx(PAPER_LAR["sin2w_width_free_rn"], abs=0.005)
    # the prompt nu_mu moment limit with the printed flux normalisation (eq. 3.7: 53)
    assert e["mu_nu_limit_printed_flux"]["mu_nu_mu"] == pytest.approx(PAPER_LAR["mu_nu_mu"], abs=2.0)


@pytest.mark.slow
def test_every_figure_is_in_the_report_with_a_caption(reproduction):
    """Each PNG of figures/ appears once in report.md, followed by an italic caption."""
    lines = (reproduction / "report.md").read_text().splitlines()
    for png in sorted((reproduction / "figures").glob("*.png")):
        at = [i for i, line in enumerate(lines) if line.startswith("![") and f"(figures/{png.name})" in line]
        assert len(at) == 1, png.name
        caption = lines[at[0] + 2]
        assert caption.startswith("*") and caption.endswith("*") and len(caption) > 30, (png.name, caption)

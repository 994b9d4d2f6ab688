"""The combined CsI 2017 (new QF) + LAr 2020 section of `jcevns reproduce`."""

import numpy as np
import pytest

from jcevns import reproduce


@pytest.fixture(scope="module")
def combined():
    return reproduce.run_combined("calibrated")


@pytest.mark.slow
def test_combined_summary_has_the_fields_of_a_single_analysis(combined):
    summary, curves = combined
    single = {"preset", "options", "sm_total", "sm_per_flavour", "chi2_sm", "pulls_sm", "best_fit", "chi2_min",
              "intervals_90", "interval_kinds", "one_sigma_half_width", "exclusions_90"}
    assert single <= set(summary)
    assert set(summary["intervals_90"]) == {"sin2w", "eps_ee_u", "eps_ee_d"}
    assert len(summary["pulls_sm"]) == 3  # CsI a1, a2 and LAr alpha, kept separate
    assert set(curves) == {"csi2017-newqf", "lar2020", reproduce.COMBINED}


@pytest.mark.slow
def test_combined_curves_are_the_sum_of_the_single_ones(combined):
    """On the shared grid the combined statistic is the sum of the two (delta + minimum), and the
    combined 90 % CL sin2w interval is narrower than either alone."""
    summary, curves = combined
    for p in ("sin2w", "eps_ee_u"):
        total = [curves[n]["one_d"][p]["delta"] + curves[n]["one_d"][p]["chi2_min"] for n in curves]
        np.testing.assert_allclose(total[2], total[0] + total[1], rtol=1e-9)
    width = {n: sum(hi - lo for lo, hi in curves[n]["one_d"]["sin2w"]["intervals"]) for n in curves}
    assert width[reproduce.COMBINED] < min(width["csi2017-newqf"], width["lar2020"])
    g_comb = np.array(summary["exclusions_90"]["zprime"]["g_excluded_min"], dtype=float)
    g_csi = np.array(curves["csi2017-newqf"]["mediators"]["zprime"]["g_excluded_min"], dtype=float)
    assert np.nanmedian(g_comb / g_csi) < 1.0  # the combination excludes smaller couplings than CsI alone

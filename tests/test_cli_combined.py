"""The command line on combinations (a+b) and the forecast command."""

import json

import pytest

import jcevns
from jcevns import cli


def test_forecast_json_matches_fisher(capsys, tmp_path):
    args = ["forecast", "csi2017-newqf+lar2020", "--params", "sin2w,eps_ee_u", "--set", "eps_ee_u=0.05",
            "--json", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    out = json.loads(capsys.readouterr().out)
    both = jcevns.combine(*(jcevns.likelihood(jcevns.build(n)) for n in ("csi2017-newqf", "lar2020")))
    want = jcevns.fisher(both, both.analysis.params(eps_ee_u=0.05), ["sin2w", "eps_ee_u"])
    assert out["analysis"] == "csi2017-newqf+lar2020"
    for name, sigma in zip(want.names, want.sigma):
        assert out["params"][name]["sigma"] == pytest.approx(float(sigma), rel=1e-10)
    assert (tmp_path / "forecast.png").stat().st_size > 0


def test_scan_of_a_combination(capsys, tmp_path):
    args = ["scan", "csi2017-newqf+lar2020", "--grid", "sin2w=0.15:0.35:21", "--quiet", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    summary = json.loads((tmp_path / "scan.json").read_text())
    assert summary["analysis"] == "csi2017-newqf+lar2020"
    assert 0.15 < summary["best_fit"] < 0.35 and summary["intervals_90"]


def test_bad_combinations_exit_2(capsys):
    assert cli.main(["forecast", "csi2017-newqf+xenon", "--params", "sin2w"]) == 2
    assert "xenon" in capsys.readouterr().err
    assert cli.main(["forecast", "csi2017-newqf", "--params", "rn"]) == 2
    assert "form_factor=helm" in capsys.readouterr().err

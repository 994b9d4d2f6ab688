"""The command line: JSON schema of `predict`, readable errors, selftest on one analysis."""

import json

import pytest

from jcevns import cli


def test_predict_json(capsys):
    assert cli.main(["predict", "csi2017-oldqf", "--preset", "calibrated", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["analysis"] == "csi2017-oldqf" and out["preset"] == "calibrated"
    assert len(out["bins"]) == 12 and out["bins"][0]["lo"] == 6 and out["bins"][-1]["hi"] == 30
    assert set(out["per_flavour"]) == {"nu_mu", "nu_mu_bar", "nu_e"}
    assert out["total"] == pytest.approx(174, abs=2)  # seed 003: 174 events (old QF)
    assert out["total"] == pytest.approx(sum(b["events"] for b in out["bins"]), rel=1e-12)
    assert out["total"] == pytest.approx(sum(out["per_flavour"].values()), rel=1e-12)


def test_predict_table_and_overrides(capsys):
    assert cli.main(["predict", "lar2020", "--set", "sin2w=0.25", "--option", "roi_max_kevnr=100"]) == 0
    text = capsys.readouterr().out
    assert "lar2020" in text and "total" in text and "[1.01299, 100)" in text


def test_bad_values_give_exit_code_2(capsys):
    assert cli.main(["predict", "lar2020", "--set", "rn=1.0"]) == 2
    assert "rn" in capsys.readouterr().err
    assert cli.main(["predict", "lar2020", "--option", "roi=3"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["predict", "xenon"])


def test_selftest_passes_on_lar(capsys):
    assert cli.main(["selftest", "--analysis", "lar2020"]) == 0
    out = capsys.readouterr().out
    assert "selftest PASSED" in out and "zprime_light" in out

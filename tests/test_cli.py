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
    assert out["total"] == pytest.approx(174, abs=2)  # Papoulias 2020: 174 events (old QF)
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
    # names are looked up in the experiment registry (or read from a .toml file): exit code 2
    assert cli.main(["predict", "xenon"]) == 2
    assert "unknown analysis 'xenon'" in capsys.readouterr().err


def test_selftest_passes_on_lar(capsys):
    assert cli.main(["selftest", "--analysis", "lar2020"]) == 0
    out = capsys.readouterr().out
    assert "selftest PASSED" in out and "zprime_light" in out


def test_scan_1d_writes_intervals_matching_table1(tmp_path, capsys):
    """`jcevns scan` reproduces Papoulias 2020 Table I's new-QF sin2w interval [0.14, 0.282] (to the
    same tolerance as the reproduction test) and writes its JSON and figure."""
    out = tmp_path / "s"
    assert cli.main(["scan", "csi2017-newqf", "--grid", "sin2w=0.0:0.5:51", "--out", str(out), "--quiet"]) == 0
    assert "90 % CL" in capsys.readouterr().out
    res = json.loads((out / "scan.json").read_text())
    assert res["names"] == ["sin2w"] and len(res["values"]) == 51
    (lo, hi), = res["intervals_90"]
    assert lo == pytest.approx(0.14, abs=0.005) and hi == pytest.approx(0.282, abs=0.005)
    assert res["kinds_90"] == [["crossing", "crossing"]]
    assert res["intervals_1sigma"][0][0] > lo and res["intervals_1sigma"][0][1] < hi
    assert lo < res["best_fit"] < hi
    assert (out / "scan.png").stat().st_size > 10_000


def test_scan_2d_log_grid_and_profile(tmp_path):
    out = tmp_path / "z"
    args = ["scan", "lar2020", "--grid", "zprime_m=log:1:1e4:5", "--grid", "zprime_g=log:1e-6:1e-2:7"]
    assert cli.main([*args, "--out", str(out), "--quiet"]) == 0
    res = json.loads((out / "scan.json").read_text())
    assert res["axes"][0] == pytest.approx([1.0, 10.0, 100.0, 1e3, 1e4], rel=1e-12)
    assert len(res["values"]) == 5 and len(res["values"][0]) == 7
    out = tmp_path / "p"
    args = ["scan", "lar2020", "--grid", "sin2w=0.2:0.3:4", "--profile", "rn", "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    res = json.loads((out / "scan.json").read_text())
    assert res["all_converged"] and len(res["profiled"]["rn"]) == 4


@pytest.mark.parametrize(
    "grid, message",
    [("sin2w=0.2:0.3", "sin2w=LO:HI:N"), ("sin2w=0.3:0.2:5", "HI > LO"), ("zprime_m=log:0:10:5", "> 0 for log"),
     ("rn=1:4:10", "rn")],
)
def test_scan_bad_grids_give_exit_code_2(grid, message, capsys):
    assert cli.main(["scan", "lar2020", "--grid", grid, "--quiet"]) == 2
    assert message in capsys.readouterr().err

"""The public API: one argument order per kind of function, names that say what they return,
everything the README uses importable from ``jcevns``, no side effects on import beyond x64."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import jcevns

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter with this checkout first on the path; its stdout."""
    # importing jcevns here set JAX_ENABLE_X64 in this process: the child must not inherit it
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"} | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_data_does_not_import_jax():
    """The shipped data and its loader are plain JSON: reading them must not start JAX."""
    out = _run("""
        import sys
        import jcevns.data
        assert jcevns.data.load("csi2017")["n_meas"]
        print(sorted(m for m in sys.modules if m == "jax" or m.startswith("jax.")))
    """)
    assert out.strip() == "[]"


@pytest.mark.parametrize("jax_first", [False, True])
def test_x64_on_import_whichever_comes_first(jax_first):
    """Importing jcevns switches on float64, whether JAX was imported before it or after."""
    first = "import jax\n" if jax_first else ""
    out = _run(first + "import jcevns\nimport jax.numpy as jnp\nprint(jnp.ones(1).dtype)\n")
    assert out.strip() == "float64"
    assert "jax_enable_x64" in jcevns.__doc__ and "jax_enable_x64" in (ROOT / "README.md").read_text()


def test_the_readme_names_are_exported():
    for name in ("fit_1d", "exclusion_curve", "Nucleus", "statistic_and_pulls", "bayes"):
        assert name in jcevns.__all__, name
    assert jcevns.fit_1d is jcevns.intervals.fit_1d
    assert jcevns.exclusion_curve is jcevns.intervals.exclusion_curve
    assert jcevns.Nucleus is jcevns.nuclei.Nucleus
    assert callable(jcevns.bayes.sample)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        jcevns.not_a_name  # noqa: B018
    for name in jcevns.__all__:
        assert getattr(jcevns, name) is not None, name


def test_profiled_statistic_has_a_name_apart_from_profile():
    """``profile`` minimises over physics parameters; the exact pull profile is
    ``statistic_and_pulls`` (``profiled`` stays as its former name, outside ``__all__``)."""
    assert "profiled" not in jcevns.__all__ and "profile" in jcevns.__all__
    assert jcevns.profiled is jcevns.statistic_and_pulls
    an = jcevns.build("lar2020")
    lik = jcevns.likelihood(an)
    value, pulls = jcevns.statistic_and_pulls(an.params(sin2w=0.25), lik)
    assert float(value) == pytest.approx(float(jcevns.statistic(an.params(sin2w=0.25), lik)), rel=1e-12)
    assert pulls.shape == (len(lik.pull_names),)


#: Procedures over a likelihood: the likelihood first.
PROCEDURES = ("profile", "scan", "fisher", "bayes.sample", "toys.neyman", "toys.coverage", "forecast.asimov",
              "forecast.fisher_matrix")


def _resolve(dotted):
    obj = jcevns
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_argument_order():
    """Functions of a point: parameters first, then the model (``jax.grad`` differentiates
    argument 0); procedures that run over a likelihood: the likelihood first."""
    point = 0
    for name in jcevns.__all__:
        f = getattr(jcevns, name)
        if not inspect.isfunction(f) or name in PROCEDURES:
            continue
        args = list(inspect.signature(f).parameters)
        model = [a for a in ("analysis", "lik") if a in args]
        if "params" in args and model:
            assert args.index("params") < args.index(model[0]), (name, args)
            point += 1
    assert point >= 6  # predict, predict_per_flavour, statistic, statistic_and_pulls, statistic_at_pulls, ...
    for dotted in PROCEDURES:
        assert list(inspect.signature(_resolve(dotted)).parameters)[0] == "lik", dotted


def test_no_library_module_chooses_the_matplotlib_backend():
    """Only the command line selects Agg; a library call must leave a notebook's backend alone."""
    offenders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "jcevns").rglob("*.py")
                 if "matplotlib.use(" in p.read_text() and "cli" not in p.parts]
    assert offenders == []
    out = _run("""
        import tempfile, pathlib
        import matplotlib
        matplotlib.use("svg")
        import numpy as np
        from jcevns import plots
        m, g = np.logspace(0, 3, 5), np.logspace(-5, -2, 7)
        delta = np.add.outer(np.zeros(5), np.linspace(0.0, 10.0, 7))
        curves = {"lar2020": {"mediators": {"zprime": {"m_mev": m, "g": g, "delta": delta}}}}
        with tempfile.TemporaryDirectory() as d:
            path = plots.exclusions_figure(curves, "zprime", pathlib.Path(d) / "x.png")
            assert path.stat().st_size > 0
        print(matplotlib.get_backend())
    """)
    assert out.strip() == "svg"


def test_arviz_is_a_base_dependency():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.replace(" ", "").startswith("arviz") for d in project["dependencies"])

"""Shared pieces of the benchmarks: the measured analyses and planes, timing rows, memory probes."""

from __future__ import annotations

import platform
import resource
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ANALYSES = ("csi2017-oldqf", "csi2017-newqf", "lar2020")
SCAN_ANALYSIS = "csi2017-newqf"
ZP_AXES = dict(m=(-1.0, 4.0), g=(-6.0, -2.0))  # log10 ranges: M [MeV], g
NSI_RANGE = (-0.5, 0.5)
#: The three scan paths of jcevns.scan, each on the plane that exercises it.
SCAN_KINDS = {
    "zprime": (SCAN_ANALYSIS, "(M_Z', g) mediator plane: exact quadratic-in-g^2 path"),
    "nsi": (SCAN_ANALYSIS, "(eps_ee_u, eps_ee_d) NSI plane: event templates"),
    "sin2w_rn": ("lar2020", "(sin2w, R_n) plane: full prediction per point"),
}
TUNED_CHUNK = 65536


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _proc_status_mb(key: str):
    """``VmHWM`` (peak) or ``VmRSS`` (current) of this process [MB], None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset this process' peak RSS (Linux >= 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    # ru_maxrss survives fork + exec (a child starts at its parent's RSS), so on Linux use the
    # per-address-space high-water mark VmHWM; elsewhere fall back to ru_maxrss.
    hwm = _proc_status_mb("VmHWM")
    return _maxrss_mb() if hwm is None else hwm


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _stats(times):
    return dict(median_s=statistics.median(times), min_s=min(times), max_s=max(times), repeats=len(times))


def _row(name, backend, device, n, times, *, per_point=True, peak_mem_mb=None, ratio=None, **extra):
    st = _stats(times)
    per = st["median_s"] / n if per_point else st["median_s"]
    row = dict(
        name=name,
        backend=backend,
        device=device,
        n=n,
        median_s=st["median_s"],
        min_s=st["min_s"],
        max_s=st["max_s"],
        per_point_s=per,
        points_per_s=(1.0 / per) if per > 0 else None,
        peak_mem_mb=peak_mem_mb,
        ratio_vs_scipy=ratio,
        repeats=st["repeats"],
    )
    row.update(extra)
    return row


def _time(fn, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _grid(kind: str, n: int):
    import numpy as np

    side = max(2, int(round(n**0.5)))
    if kind == "zprime":
        return {
            "zprime_m": np.logspace(*ZP_AXES["m"], side),
            "zprime_g": np.logspace(*ZP_AXES["g"], side),
        }
    if kind == "sin2w_rn":
        return {"sin2w": np.linspace(0.15, 0.45, side), "rn": np.linspace(2.0, 6.0, side)}
    return {"eps_ee_u": np.linspace(*NSI_RANGE, side), "eps_ee_d": np.linspace(*NSI_RANGE, side)}


"""Run the benchmarks and print, per group, each entry's median and its ratio to the baseline.

Usage (``./dev bench`` calls this)::

    .venv/bin/python benchmarks/report.py [PYTEST ARGS...]
    .venv/bin/python benchmarks/report.py --from-json results.json

Runs ``python -m pytest benchmarks --benchmark-json=FILE`` with the arguments
passed through (``-k apportion``, ``--benchmark-min-rounds=…``; a
``--benchmark-json=…`` given here is used instead of the default
``benchmark-results.json``), then reads FILE and prints one table per group.

Rules, so the numbers can be pasted into an issue as they are:

* **Baseline.** In each group, the first entry whose name contains
  ``baseline``; failing that ``python``; failing that ``naive`` (checked in
  that order, names compared in lower case).  A group with none of them uses
  its slowest entry and says so.
* **Ratio** is ``baseline median / entry median``: how many times faster than
  the baseline (above 1 is faster).
* **Extrapolation.** An entry that timed a sample records
  ``extra_info["extrapolation_factor"]``; its median is multiplied by it
  before it is printed or compared, and the row is marked ``(extrapolated)``.
* **Bandwidth.** An entry with ``extra_info["bytes"]`` also gets effective
  GB/s (bytes / median).  If the group has an entry with
  ``extra_info["bandwidth_reference"]`` (e.g. a STREAM triad), every entry
  with bytes also shows its fraction of that entry's GB/s.

The 1-minute load average before and after the run is printed too: on a
shared machine it says how far the medians can be trusted.  The exit status
is pytest's (or 0 with ``--from-json``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "benchmark-results.json"
BASELINE_MARKERS = ("baseline", "python", "naive")


def _median_s(bench: dict[str, Any]) -> float:
    factor = float(bench.get("extra_info", {}).get("extrapolation_factor", 1.0))
    return float(bench["stats"]["median"]) * factor


def _baseline(entries: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    for marker in BASELINE_MARKERS:
        for bench in entries:
            if marker in bench["name"].lower():
                return bench, f'name contains "{marker}"'
    return max(entries, key=_median_s), "no baseline name: slowest entry"


def _format_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def report(data: dict[str, Any], load: str | None = None) -> str:
    """Render the per-group tables for a pytest-benchmark JSON document.

    ``load`` (the 1-minute load average before and after the run) is printed
    with the machine: on a shared machine it says how far to trust medians.
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in data.get("benchmarks", []):
        groups[bench.get("group") or "(no group)"].append(bench)
    lines: list[str] = []
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw", "?")
    lines.append(f"machine: {cpu}, {machine.get('cpu', {}).get('count', '?')} CPUs")
    if load:
        lines.append(f"load average (1 min): {load}")
    for group in sorted(groups):
        entries = sorted(groups[group], key=_median_s)
        base, why = _baseline(entries)
        base_median = _median_s(base)
        reference = next(
            (b for b in entries if b.get("extra_info", {}).get("bandwidth_reference")), None
        )
        ref_gbs = (
            reference["extra_info"]["bytes"] / _median_s(reference) / 1e9 if reference else None
        )
        lines.append("")
        lines.append(f"== {group}  (baseline: {base['name']}; {why})")
        width = max(len(b["name"]) for b in entries) + 2
        header = f"{'entry':<{width}}{'median':>12}{'x baseline':>12}"
        if any("bytes" in b.get("extra_info", {}) for b in entries):
            header += f"{'GB/s':>9}" + (f"{'/ ref':>8}" if ref_gbs else "")
        lines.append(header)
        for bench in entries:
            median = _median_s(bench)
            row = f"{bench['name']:<{width}}{_format_time(median):>12}"
            row += f"{base_median / median:>11.1f}x"
            extra = bench.get("extra_info", {})
            if "bytes" in extra:
                gbs = extra["bytes"] / median / 1e9
                row += f"{gbs:>9.2f}"
                if ref_gbs:
                    row += f"{gbs / ref_gbs:>8.2f}"
            if "extrapolation_factor" in extra:
                row += f"  (extrapolated x{float(extra['extrapolation_factor']):.1f})"
            lines.append(row)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--from-json"]:
        if len(argv) != 2:
            print("usage: report.py --from-json FILE", file=sys.stderr)
            return 2
        print(report(json.loads(Path(argv[1]).read_text())))
        return 0
    json_path = DEFAULT_JSON
    passthrough: list[str] = []
    for arg in argv:
        if arg.startswith("--benchmark-json="):
            json_path = Path(arg.split("=", 1)[1])
        else:
            passthrough.append(arg)
    json_path.unlink(missing_ok=True)  # never report a previous run's numbers
    load_before = os.getloadavg()[0]
    command = [
        sys.executable, "-m", "pytest", str(ROOT / "benchmarks"),
        f"--benchmark-json={json_path}", *passthrough,
    ]  # fmt: skip
    status = subprocess.run(command, cwd=ROOT, check=False).returncode
    if not json_path.exists():
        print(f"report.py: pytest wrote no {json_path}", file=sys.stderr)
        return status or 1
    load = f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    print(report(json.loads(json_path.read_text()), load))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""METERBILL_CODEC_IMPL picks the decoder; a forced one that fails says why.

Each case runs a fresh interpreter, because the choice is made at import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = "from firmware_bridge.codecs import mbus; print(mbus.__impl__)"


def _run(value: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("METERBILL_CODEC_IMPL", None)
    if value is not None:
        env["METERBILL_CODEC_IMPL"] = value
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, timeout=60, check=False)


@pytest.mark.parametrize(("value", "impl"), [("python", "python"), ("cython", "cython"),
                                             ("  Cython ", "cython"), (None, "cython")])
def test_env_selects_implementation(value: str | None, impl: str) -> None:
    result = _run(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == impl


def test_unknown_implementation_is_an_import_error_naming_it() -> None:
    result = _run("numba")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "METERBILL_CODEC_IMPL='numba'" in result.stderr


def test_forced_cython_that_cannot_import_names_it_and_the_reason(tmp_path: Path) -> None:
    # A copy of the package without the C build, where the Cython module fails.
    import firmware_bridge

    real = Path(firmware_bridge.__file__).parent
    copy = tmp_path / "firmware_bridge"
    shutil.copytree(real, copy, ignore=shutil.ignore_patterns("*.so", "*.pyx", "*.c",
                                                              "__pycache__"))
    (copy / "codecs" / "_mbus_decode_cy.py").write_text(
        "raise ImportError('simulated: no C build')\n")
    env = dict(os.environ, METERBILL_CODEC_IMPL="cython", PYTHONPATH=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60, check=False)
    assert result.returncode != 0
    assert "M-Bus codec implementation 'cython' cannot be imported" in result.stderr
    assert "simulated: no C build" in result.stderr
    env["METERBILL_CODEC_IMPL"] = ""
    fallback = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60, check=False)
    assert fallback.stdout.strip() == "python", fallback.stderr

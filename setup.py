"""Build hook for the optional Cython fast paths.

Every ``*.pyx`` below the packages becomes an extension marked ``optional``:
when no C compiler (or no Cython) is present the build prints a warning and
the pure-Python implementation is used instead, so ``pip install`` never fails
for lack of a toolchain.  Generated C files are not committed.
"""

from pathlib import Path

from setuptools import setup

PACKAGES = ("firmware_bridge", "billing_core", "gateway", "api", "simulators")


def _extensions() -> list:
    sources = sorted(p for pkg in PACKAGES for p in Path(pkg).rglob("*.pyx"))
    if not sources:
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:  # no Cython: pure paths only
        return []
    try:
        import numpy

        include_dirs = [numpy.get_include()]
    except ImportError:
        include_dirs = []
    exts = [
        Extension(
            ".".join(src.with_suffix("").parts),
            [str(src)],
            include_dirs=include_dirs,
            optional=True,
            extra_compile_args=["-O3"],
        )
        for src in sources
    ]
    return cythonize(exts, language_level=3, quiet=True)


setup(ext_modules=_extensions())

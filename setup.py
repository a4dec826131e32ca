"""Build the optional Cython kernels; a failed compile still installs the pure-Python twins."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

# Generated C goes under build/ so it never lands next to the sources or in a commit.
CYTHON_BUILD_DIR = os.path.join("build", "cython")

COMPILER_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}

# -ffp-contract=off: never fuse a*b+c into one FMA, which would round differently from
# the pure-Python twins (GCC fuses by default on targets that have FMA, e.g. aarch64).
UNIX_COMPILE_ARGS = ["-O2", "-ffp-contract=off"]
MSVC_COMPILE_ARGS = ["/O2", "/fp:precise"]


def _warn(message: str) -> None:
    """Explain on stderr that the install continues without the compiled filters."""
    bar = "*" * 72
    print(
        f"\n{bar}\nWARNING: {message}\n"
        "cosalette installs without its compiled filters and uses the pure-Python\n"
        f"implementation (same results, slower).\n{bar}\n",
        file=sys.stderr,
    )


class OptionalBuildExt(build_ext):
    """Cythonize lazily and treat every failure as 'build without the extension'."""

    def run(self) -> None:
        try:
            from Cython.Build import cythonize
        except ImportError:
            _warn("Cython is not installed, so the filter extension was not built.")
            return
        try:
            for ext in self.extensions:
                # Keep setuptools' own Extension objects; only swap .pyx for generated C.
                (generated,) = cythonize(
                    [ext],
                    build_dir=CYTHON_BUILD_DIR,
                    compiler_directives=COMPILER_DIRECTIVES,
                    quiet=True,
                )
                ext.sources = list(generated.sources)
        except Exception as exc:
            _warn(f"cythonize failed ({exc}).")
            return
        try:
            super().run()
        except Exception as exc:
            _warn(f"building the filter extension failed ({exc}).")

    def build_extension(self, ext: Any) -> None:
        compiler_type = getattr(self.compiler, "compiler_type", "unix")
        ext.extra_compile_args = list(
            MSVC_COMPILE_ARGS if compiler_type == "msvc" else UNIX_COMPILE_ARGS
        )
        try:
            super().build_extension(ext)
        except Exception as exc:
            _warn(f"compiling {ext.name} failed ({exc}).")

    def get_outputs(self) -> list[str]:
        # Only report files that exist, so a skipped extension does not break the wheel.
        return [path for path in super().get_outputs() if os.path.exists(path)]


class BuildPyWithTemplate(build_py):
    """Ship the top-level project_template/ inside the cosactl package of a built wheel."""

    def run(self) -> None:
        super().run()
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "project_template")
        target = os.path.join(self.build_lib, "cosactl", "project_template")
        if os.path.isdir(source) and not self.editable_mode:
            shutil.copytree(source, target, dirs_exist_ok=True)


setup(
    ext_modules=[Extension("cosalette._cfilters", sources=["cython/filters.pyx"])],
    cmdclass={"build_ext": OptionalBuildExt, "build_py": BuildPyWithTemplate},
)

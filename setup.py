"""Build hooks for the wheel (all metadata is in pyproject.toml).

The repository keeps its data where it belongs (rules/, deploy/sentry.yaml, driver/,
scripts/driver-loader.sh); building a wheel copies them into the package as
``sentry/data/`` so an installed ``sentry`` finds its default rules, its config template and
the driver sources (to build the module or probe on the target) outside a checkout. The
cffi C modules (``sentry/capture/_cffi``: the event walker and the state tracker) are
compiled here too, so no compiler is needed where the wheel is installed; the wheel is
therefore platform-specific.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

# (source relative to the checkout, destination under sentry/data, glob patterns)
DATA = [
    ("rules", "rules", ["*.yaml"]),
    ("deploy", ".", ["sentry.yaml"]),
    ("scripts", ".", ["driver-loader.sh"]),
    ("driver", "driver", ["*.c", "*.h", "Kbuild", "Makefile", "VERSION", "dkms.conf",
                          "README.md"]),
    ("driver/include", "driver/include", ["*.h"]),
    ("driver/bpf", "driver/bpf", ["*.c", "*.h", "Makefile"]),
]
# Generated on the build host from its running kernel: never shipped.
SKIP = {"vmlinux.h"}


def _c_modules_main():
    """sentry.capture._cffi.build.main from the checkout (it needs only cffi to import)."""
    sys.path.insert(0, str(ROOT / "python"))
    try:
        from sentry.capture._cffi.build import main
    finally:
        sys.path.pop(0)
    return main


class BuildPy(build_py):
    """build_py that also stages sentry/data and compiles the C modules."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads rules/, driver/ ... from the checkout itself
        pkg = Path(self.build_lib) / "sentry"
        data = pkg / "data"
        for src, dest, patterns in DATA:
            target = data / dest
            target.mkdir(parents=True, exist_ok=True)
            for pattern in patterns:
                for f in sorted((ROOT / src).glob(pattern)):
                    if f.is_file() and f.name not in SKIP:
                        shutil.copy2(f, target / f.name)
        # every cffi C module (event walker, state tracker), named by its sources' hash as
        # load() expects; older builds in the tree are dropped
        if _c_modules_main()(pkg / "capture" / "_cffi") != 0:
            raise RuntimeError("building the C modules failed")


class BinaryDistribution(Distribution):
    """The wheel carries a compiled module: tag it for this platform, not py3-none-any."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildPy}, distclass=BinaryDistribution)

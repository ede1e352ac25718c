"""Build hooks for the wheel (all metadata is in pyproject.toml).

The repository keeps its data where it belongs (rules/, deploy/sentry.yaml, driver/,
scripts/driver-loader.sh); building a wheel copies them into the package as
``sentry/data/`` so an installed ``sentry`` finds its default rules, its config template and
the driver sources (to build the module or probe on the target) outside a checkout. The C
event walker (``sentry/capture/scapscan.c``, cffi) and the C state tracker
(``sentry/inspect/cstate.c``) are compiled here too, so no compiler is
needed where the wheel is installed; the wheel is therefore platform-specific.
"""

from __future__ import annotations

import importlib.util
import shutil
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


def _walker_builder(where: str = "capture/scapscan_build.py"):
    spec = importlib.util.spec_from_file_location(
        "_sentry_" + Path(where).stem, ROOT / "python" / "sentry" / where)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPy(build_py):
    """build_py that also stages sentry/data and compiles the C event walker."""

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
        # scapscan_build.build() names the module by the hash of its source, as load() expects
        capture = pkg / "capture"
        for old in capture.glob("_scapscan_*.so"):
            old.unlink()
        built = _walker_builder().build(capture)
        print(f"C event walker built: {built}")
        # the C state tracker (sentry/inspect/cstate.c), named the same way
        inspect_dir = pkg / "inspect"
        for old in inspect_dir.glob("_cstate_*.so"):
            old.unlink()
        built = _walker_builder("inspect/cstate_build.py").build(inspect_dir)
        print(f"C state tracker built: {built}")


class BinaryDistribution(Distribution):
    """The wheel carries a compiled module: tag it for this platform, not py3-none-any."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildPy}, distclass=BinaryDistribution)

"""One way to build and load a C module compiled with cffi in API mode.

Each compiled module (the event walker, the state tracker) is a :class:`CModule`: its C
source(s), the declarations Python sees (``cdef``) and what it is called in messages.
``scripts/install.sh`` (``python -m sentry.capture._cffi``) and the wheel build
(``setup.py``) compile every module into this package, so no compiler is needed at run
time; otherwise :meth:`CModule.load` compiles it on first use into a per-user cache
(``$XDG_CACHE_HOME/sentry``). A build is named by the hash of its sources and declarations,
so a changed source is never served by an old build. Without a compiler :meth:`~CModule.load`
says once, on stderr, what takes over, and returns None.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cffi

HERE = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """The per-user build cache, one folder per Python version (the ABI of the build)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sentry" / f"py{sys.version_info[0]}{sys.version_info[1]}"


def _find(directory: Path, name: str) -> Path | None:
    built = sorted(directory.glob(f"{name}.*.so")) or sorted(directory.glob(f"{name}.so"))
    return built[0] if built else None


def _import(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class CModule:
    """A C module built with cffi: named ``_<prefix>_<hash>`` by its sources' hash."""

    prefix: str  # module names start with _<prefix>_
    what: str  # "the C event walker": in messages
    source: Path  # the C file compiled
    cdef: str  # the declarations Python sees
    instead: str = ""  # what takes over without it, said once with the reason
    compile_args: list[str] = field(default_factory=lambda: ["-O2", "-Werror", "-Wall"])
    include_dirs: list[Path] = field(default_factory=list)
    depends: list[Path] = field(default_factory=list)  # headers it includes: in the hash
    _said: list[bool] = field(default_factory=list, repr=False)

    def module_name(self) -> str:
        """The module's name for the current sources."""
        digest = hashlib.sha256(self.source.read_bytes())
        for dep in self.depends:
            digest.update(dep.read_bytes())
        digest.update(self.cdef.encode())
        return f"_{self.prefix}_{digest.hexdigest()[:16]}"

    def make_ffi(self, module: str) -> cffi.FFI:
        ffi = cffi.FFI()
        ffi.cdef(self.cdef)
        ffi.set_source(
            module,
            self.source.read_text(),
            extra_compile_args=self.compile_args,
            include_dirs=[str(d) for d in self.include_dirs],
        )
        return ffi

    def installed(self, directory: Path = HERE) -> Path | None:
        """The build made at install time for the current sources, if any."""
        return _find(directory, self.module_name())

    def build(self, directory: Path) -> Path:
        """Compile into directory; raises cffi.VerificationError or OSError."""
        name = self.module_name()
        # build privately, then rename: concurrent first uses never see a partial file
        work = directory / f".build-{self.prefix}-{os.getpid()}"
        work.mkdir(parents=True, exist_ok=True)
        try:
            path = Path(self.make_ffi(name).compile(tmpdir=str(work)))
            final = directory / path.name
            os.replace(path, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return final

    def load(self, *, use_installed: bool = True) -> Any | None:
        """The compiled module (``.ffi``, ``.lib``): the install-time build, else the cached
        one, else built into the cache now; None (said once) when it cannot be built."""
        name = self.module_name()
        try:
            path = (use_installed and _find(HERE, name)) or _find(cache_dir(), name)
            if not path:
                path = self.build(cache_dir())
            return _import(name, path)
        except (cffi.VerificationError, OSError, ImportError) as err:
            self._say_unavailable(err)
            return None

    def _say_unavailable(self, err: Exception) -> None:
        if self._said:
            return
        self._said.append(True)
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        tail = f"; {self.instead}" if self.instead else ""
        sys.stderr.write(f"sentry: {self.what} is not available ({reason}){tail}\n")

    def install(self, directory: Path = HERE) -> Path:
        """Build into the package (unless built already) and drop builds of older sources
        (other Pythons' builds of the current sources stay)."""
        path = self.installed(directory) or self.build(directory)
        for old in directory.glob(f"_{self.prefix}_*.so"):
            if not old.name.startswith(self.module_name() + "."):
                old.unlink()
        return path


def modules() -> list[CModule]:
    """Every compiled module of the package."""
    from sentry.capture._cffi.cstate import CSTATE
    from sentry.capture._cffi.scapscan import SCAPSCAN

    return [SCAPSCAN, CSTATE]


def main(directory: Path = HERE) -> int:
    """Build every module into directory (scripts/install.sh, setup.py); 1 on a failure."""
    status = 0
    for module in modules():
        try:
            path = module.install(directory)
        except (cffi.VerificationError, OSError) as err:
            print(f"sentry: building {module.what} failed: {err}", file=sys.stderr)
            status = 1
            continue
        print(f"{module.what}: {path}")
    return status

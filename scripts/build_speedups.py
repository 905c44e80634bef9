"""Compile the generator's hot-path modules with Cython into build/speedups/ (see
generators/speedups.py for how, and when, they are used).

    python scripts/build_speedups.py          # build what is missing or out of date
    python scripts/build_speedups.py --clean  # remove the builds: pure Python everywhere

The modules are compiled unchanged, with annotation typing off, so they keep Python's semantics
exactly (same output bytes for the same seed; a test checks). Without Cython or a C compiler
this prints why and exits 0: everything still runs as pure Python, only slower.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generators.speedups import (  # noqa: E402
    BUILD_DIR,
    MODULES,
    built_path,
    compiled_spec,
    source_digest,
    source_path,
    stamp_path,
)

DIRECTIVES = {"language_level": 3, "annotation_typing": False, "binding": True}


def build(names: list[str]) -> None:
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        extensions = [Extension(name, [str(source_path(name))], extra_compile_args=["-O2"])
                      for name in names]
        digests = {name: source_digest(name) for name in names}  # of the source being compiled
        modules = cythonize(extensions, build_dir=tmp, compiler_directives=DIRECTIVES, quiet=True)
        command = build_ext(Distribution({"ext_modules": modules}))
        command.build_temp, command.build_lib = f"{tmp}/obj", f"{tmp}/lib"
        command.ensure_finalized()
        command.run()
        for name in names:
            built = Path(command.get_ext_fullpath(name))
            shutil.copyfile(built, built_path(name))
            stamp_path(name).write_text(digests[name] + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args()
    if args.clean:
        shutil.rmtree(BUILD_DIR, ignore_errors=True)
        print(f"speedups: removed {BUILD_DIR.relative_to(ROOT)}")
        return 0
    stale = [n for n in MODULES if args.force or compiled_spec(n) is None]
    if not stale:
        print("speedups: compiled modules up to date")
        return 0
    try:
        build(stale)
    except Exception as exc:  # no Cython, no compiler, …: pure Python still works
        print(f"speedups: not built ({type(exc).__name__}: {exc}); the generator runs as pure "
              "Python", file=sys.stderr)
        return 0
    print(f"speedups: compiled {', '.join(stale)} into {BUILD_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

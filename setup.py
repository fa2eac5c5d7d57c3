"""Builds vindex._vindex with CMake for `pip install .` (metadata: pyproject.toml).

Environment: VINDEX_CMAKE_ARGS adds CMake arguments (e.g. "-DVINDEX_CUDA=ON");
CMAKE_BUILD_PARALLEL_LEVEL sets the build jobs. The module is built for the
interpreter running pip.
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(self.build_temp).resolve() / "cmake"
        args = [
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}",
            "-DVINDEX_BUILD_PYTHON=ON",
            "-DVINDEX_BUILD_TESTS=OFF",
            "-DVINDEX_BUILD_BENCH=OFF",
            "-DVINDEX_BUILD_EXAMPLES=OFF",
            "-DVINDEX_BUILD_TOOLS=OFF",
            "-DVINDEX_CUDA=OFF",
        ]
        if shutil.which("ninja"):
            args.append("-GNinja")
        if shutil.which("ccache"):
            args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        args += shlex.split(os.environ.get("VINDEX_CMAKE_ARGS", ""))
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir)] + args, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "vindex_python",
                        "-j", jobs], check=True)
        built = next((build_dir / "python" / "vindex").glob("_vindex*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(
    ext_modules=[Extension("vindex._vindex", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": "build-python"}},
)

"""The build step of pyproject.toml: `make build/libnerd.so` in this clone, the library copied into the
package, and the clone's root written beside it (nerd.load("en_core_web_sm") looks for the model
there). The wheel is tagged for this platform (the library is native code) but any Python 3: the
package is ctypes, no extension module."""
import os
import re
import shutil
import subprocess

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
LIBRARY = "build/libnerd.so"


def nerd_version():
    with open(os.path.join(ROOT, "include", "nerd.h")) as f:
        return re.search(r'#define NERD_VERSION "([^"]+)"', f.read()).group(1)


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        jobs = os.environ.get("NERD_BUILD_JOBS", str(os.cpu_count() or 1))
        subprocess.run(["make", "-j" + jobs, LIBRARY], cwd=ROOT, check=True)
        package = os.path.join(self.build_lib, "nerd")
        shutil.copy(os.path.join(ROOT, LIBRARY), os.path.join(package, "libnerd.so"))
        with open(os.path.join(package, "_build_info.py"), "w") as f:
            f.write("# written by setup.py when this package was built\nCLONE_ROOT = %r\nVERSION = %r\n"
                    % (ROOT, nerd_version()))


class PlatformWheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False  # libnerd.so is native code

    def get_tag(self):
        return ("py3", "none", super().get_tag()[2])


setup(version=nerd_version(), cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})

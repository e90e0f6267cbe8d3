"""Installation of the cryopick Scipion plugin.

The version is read with a regex: importing the package here would import Scipion, which is
absent from pip's isolated build environment.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'^__version__ = "([^"]+)"',
                    (HERE / "cryopick_plugin" / "__init__.py").read_text(), re.M).group(1)

setup(
    name="scipion-em-cryopick",
    version=VERSION,
    description="Particle picking from a few hand-picked examples (U-Net self-training, "
                "selective FixMatch) as a Scipion plugin",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="GPL-3.0-or-later",
    python_requires=">=3.8",
    packages=find_packages(exclude=["benchmarks", "benchmarks.*"]),
    package_data={"cryopick_plugin": ["protocols.conf", "configs/*.yaml"]},
    install_requires=[
        "scipion-pyworkflow>=3.0",
        "scipion-em>=3.0",
        # Scipion pins numpy 1.26; opencv >= 4.12 needs numpy 2 and would break it
        "numpy<2",
        "scipy",
        "matplotlib",
        "mrcfile",
        "opencv-python-headless<4.12",
        "torch",
        "torchvision",
        "pyyaml",
    ],
    # gemmi: the benchmark simulator reads atomic models (its tests run in the suite)
    extras_require={"test": ["pytest", "gemmi"]},
    entry_points={
        "pyworkflow.plugin": ["cryopick_plugin = cryopick_plugin"],
        "console_scripts": ["cryopick = cryopick_plugin.cli:main"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)",
        "Topic :: Scientific/Engineering :: Bio-Informatics",
    ],
)

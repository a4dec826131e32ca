"""Build the optional Cython kernels; a failed compile still installs the pure-Python twins."""

from setuptools import setup

setup()

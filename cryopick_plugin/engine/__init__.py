"""cryopick engine: plain numpy/torch code for particle picking.

Nothing in this package imports Scipion (pyworkflow/pwem): the Scipion protocols and the
``cryopick`` command line are thin layers over it, and it can be used on its own.
"""

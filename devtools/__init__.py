"""Development tools that are not shipped with the pipeline (not in the EMR bundle).

``devtools.sample`` generates IMDb-shaped raw files for the bundled sample, the tests and the
benchmarks.
"""

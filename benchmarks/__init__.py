"""Benchmarks and the soak run: how fast, how big, and whether repeated runs stay correct.

`python -m benchmarks.run --sf 0.01,0.1` (make bench) times the project's steps against
reference tools on the same generated files; `python -m benchmarks.soak --runs 50` (make soak)
checks that many incremental runs end where one fresh load ends.
"""

"""The scale curve: wall seconds against rows, one line per step, log-log.

On log-log axes a straight line of slope 1 is linear growth; a steeper line means a step gets
slower per row as data grows, which is what the curve is drawn to catch.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt

from benchmarks.steps import StepResult

PLOTTED_STEPS = (
    "spark clean", "spark-submit local[2]", "spark-submit 1 worker x 2 cores",
    "spark-submit 2 workers x 1 core", "duckdb reference", "imdb-sqlite 2.1.0", "pipeline full load",
    "pipeline 1% changed",
)


def draw(results: list[StepResult], path: Path, title: str = "imdb-elt: wall time against rows") -> Path:
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for step in PLOTTED_STEPS:
        points = sorted((r.rows, r.seconds) for r in results if r.step == step and r.ok and r.rows > 0)
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", label=step)
    linear = sorted((r.rows, r.seconds) for r in results
                    if r.step == "duckdb reference" and r.ok and r.rows > 0)
    if len(linear) >= 1:
        (x0, y0), x1 = linear[0], linear[-1][0] * 10
        ax.plot([x0, x1], [y0, y0 * x1 / x0], linestyle=":", color="grey", label="linear (slope 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rows")
    ax.set_ylabel("wall seconds")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

"""Build the jar of the job's compiled checks (line check, key order, line budget): ``make setup``
runs this.

``javac`` (the JDK's, 17 or 21) compiles ``spark_jobs/jvm`` against pyspark's own jars; the jar
is written with fixed entry times, so the same source and compiler give the same bytes. The
Makefile rebuilds it when a source changes (its stamp, ``.venv/.checks-jar``).

    python -m imdb_elt.checks_jar
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyspark

from imdb_elt.spark_bundle import deterministic_zip
from spark_jobs import jvm
from spark_jobs.session import checks_jar

#: The Java release the classes target: the oldest Java Spark 4 runs on (EMR 7 and 8 run 17).
JAVA_RELEASE = "17"


def javac() -> str:
    """The JDK compiler beside the java Spark runs (JAVA_HOME first), or an error saying what to install."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "javac") if home and (Path(home) / "bin" / "javac").exists() else None
    found = found or shutil.which("javac")
    if not found:
        raise SystemExit(
            "compiled checks: javac not found. Install a JDK 17 or 21 (Debian: apt-get install "
            "openjdk-17-jdk-headless), or set JAVA_HOME to one."
        )
    return found


def class_path() -> str:
    """pyspark's own jars the sources compile against: Spark's SQL API (the UDF interfaces, Row)
    and the Scala library its Row is written in."""
    found = []
    for pattern in ("spark-sql-api_*.jar", "scala-library-*.jar"):
        jars = sorted((Path(pyspark.__file__).parent / "jars").glob(pattern))
        if not jars:
            raise SystemExit(f"compiled checks: pyspark's {pattern} not found: run make setup")
        found.append(str(jars[0]))
    return os.pathsep.join(found)


def build(jar: Path | None = None, java_sources: list[Path] | None = None) -> Path:
    """Compile ``java_sources`` (default: this checkout's) into ``jar`` (default: the environment's,
    ``checks_jar()``), replacing it whole. In the environment, a jar of an older name
    (``imdb-elt-line-check.jar`` until 2026-12-06) is removed: one jar per environment."""
    in_environment = jar is None
    jar = jar or checks_jar()
    with tempfile.TemporaryDirectory(prefix="imdb-elt-javac-") as out:
        subprocess.run(
            [javac(), "--release", JAVA_RELEASE, "-Xlint:all", "-Werror", "-d", out,
             "-cp", class_path(), *map(str, java_sources or jvm.sources())],
            check=True,
        )  # fmt: skip
        classes = {path.relative_to(out).as_posix(): path.read_bytes() for path in Path(out).rglob("*.class")}
    jar.parent.mkdir(parents=True, exist_ok=True)
    partial = jar.with_name(f"{jar.name}.{os.getpid()}.partial")
    partial.write_bytes(deterministic_zip(classes))
    partial.replace(jar)
    if in_environment:
        for stale in jar.parent.glob("imdb-elt-*.jar"):
            if stale != jar:
                stale.unlink()
                print(f"removed the stale jar {stale}")
    return jar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imdb_elt.checks_jar", description=__doc__.splitlines()[0])
    parser.parse_args(argv)  # no options: --help says what it does
    print(f"built the compiled checks' jar {build()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

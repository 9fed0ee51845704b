"""Register the job's compiled functions (``spark_jobs/jvm``, one jar) as SQL functions.

Each is a shortcut: without the jar on the class path (``make setup`` builds it; ``--jars`` on a
cluster) the job does the same work with Spark expressions alone, slower. One warning per session
says so, whichever function found the jar missing first.
"""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession
from pyspark.sql.types import DataType

from spark_jobs.jvm import JAR_NAME

log = logging.getLogger("spark_jobs.clean_imdb")

#: Sessions already told that the jar is missing.
_warned: set[int] = set()


def register(spark: SparkSession, function_name: str, class_name: str, returns: DataType) -> bool:
    """``class_name`` (a Java UDF whose results are of type ``returns``) is ``function_name`` in
    ``spark``'s SQL (registered now if need be); False, with one warning per session, when the jar
    is missing.

    By class name (Spark loads it, as it would on a cluster). Not through py4j: py4j may pick
    ``functions.udf``'s untyped overload for a class from ``--jars``, which Spark refuses.
    """
    if spark.catalog.functionExists(function_name):
        return True
    try:
        spark.udf.registerJavaFunction(function_name, class_name, returns)
    except Exception as exc:  # the class is missing: Spark expressions do the work
        if id(spark) not in _warned:
            _warned.add(id(spark))
            log.warning(
                "the job's compiled checks (%s) are not on the class path, so Spark expressions do "
                "their work: the same rows, slower. make setup builds %s; spark-submit takes it "
                "with --jars. (%s)",
                class_name, JAR_NAME, str(exc).strip().splitlines()[0],
            )  # fmt: skip
        return False
    return True

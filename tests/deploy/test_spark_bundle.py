"""The Spark code bundle: computed module list, byte-for-byte builds, upload and checks on moto S3,
and the packaged bundle run by a real ``spark-submit``."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest

from imdb_elt import config
from imdb_elt.catalog import BY_FILE_NAME
from imdb_elt.orchestration import aws_spark
from imdb_elt.spark_bundle import (
    ARCHIVE_NAME,
    ENTRY_NAME,
    SUMS_NAME,
    BundleError,
    build_bundle,
    imported_modules,
    main,
    package_roots,
    upload,
    verify_deployed,
)
from tests.fixtures.aws import REGION, S3Zones


def _zip_names(archive: bytes) -> list[str]:
    return zipfile.ZipFile(BytesIO(archive)).namelist()


# ---- what goes in -----------------------------------------------------------------------------------


def test_the_bundle_holds_the_modules_the_job_imports_and_nothing_else() -> None:
    bundle = build_bundle()
    # What Python itself loads when the entry point is imported, in a clean interpreter.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, spark_jobs.clean_imdb; print('\\n'.join(sorted(m for m in "
            "sys.modules if m.split('.')[0] in ('imdb_elt', 'spark_jobs'))))",
        ],
        cwd=config.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert set(loaded) - {"spark_jobs.clean_imdb"} <= set(bundle.modules)
    names = _zip_names(bundle.archive)
    assert names == sorted(names)
    packages = {m.rsplit(".", 1)[0] for m in bundle.modules if "." in m}
    assert names == [
        m.replace(".", "/") + ("/__init__.py" if m in packages else ".py") for m in bundle.modules
    ]
    assert not [n for n in names if n.startswith(("tests/", "devtools/", "benchmarks/", "dags/"))]
    assert "spark_jobs/clean_imdb.py" not in names  # the entry point travels beside the zip
    assert bundle.entry == (config.REPO_ROOT / "spark_jobs" / "clean_imdb.py").read_bytes()


def test_the_import_walk_is_exact(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "entry.py": (
            "from __future__ import annotations\nimport json\nfrom . import rel\nfrom pkg.sub import leaf\n"
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.typing_only\n"
            "def f():\n    from pkg.lazy import x\n    return x\n"
        ),
        "rel.py": "from .sub.deep import y\n",
        "lazy.py": "x = 1\n",
        "typing_only.py": "",
        "unused.py": "",
        "sub/__init__.py": "",
        "sub/leaf.py": "",
        "sub/deep.py": "y = 2\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    assert imported_modules("pkg.entry", {"pkg": pkg}) == [
        "pkg",
        "pkg.lazy",
        "pkg.rel",
        "pkg.sub",
        "pkg.sub.deep",
        "pkg.sub.leaf",
    ]


def test_the_bundle_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    first = build_bundle()
    # The same sources elsewhere, with other timestamps and modes, give the same bytes.
    roots = {}
    for name, root in package_roots().items():
        roots[name] = tmp_path / name
        shutil.copytree(root, roots[name], ignore=shutil.ignore_patterns("__pycache__"))
        for path in roots[name].rglob("*.py"):
            os.utime(path, (1_900_000_000, 1_900_000_000))
            path.chmod(0o600)
    again = build_bundle(roots=roots)
    assert again.files == first.files and again.version == first.version
    infos = zipfile.ZipFile(BytesIO(first.archive)).infolist()
    assert {(i.date_time, i.external_attr >> 16, i.compress_type) for i in infos} == {
        ((1980, 1, 1, 0, 0, 0), 0o644, zipfile.ZIP_STORED)
    }
    # Different code, different version.
    (roots["spark_jobs"] / "io.py").write_text((roots["spark_jobs"] / "io.py").read_text() + "\n# changed\n")
    assert build_bundle(roots=roots).version != first.version

    assert main(["package", "--out", str(tmp_path / "a")]) == 0
    assert main(["package", "--out", str(tmp_path / "b")]) == 0
    folder = f"spark/{first.version}"
    for name in (ENTRY_NAME, ARCHIVE_NAME, SUMS_NAME):
        assert (tmp_path / "a" / folder / name).read_bytes() == (tmp_path / "b" / folder / name).read_bytes()
    sums = (tmp_path / "a" / folder / SUMS_NAME).read_text()
    assert sums == (
        f"{hashlib.sha256(first.entry).hexdigest()}  clean_imdb.py\n"
        f"{hashlib.sha256(first.archive).hexdigest()}  spark_jobs.zip\n"
    )
    assert first.version == hashlib.sha256(sums.encode()).hexdigest()[:16]


def test_the_make_targets_run_the_bundle_commands() -> None:
    dry = subprocess.run(
        ["make", "-n", "deploy-code"],
        cwd=config.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "-m imdb_elt.spark_bundle package" in dry and "-m imdb_elt.spark_bundle deploy" in dry


# ---- S3 (moto): the test's own bucket, or the deployed stack's (tests/infra/test_deployed_in_moto.py)


@pytest.fixture
def s3(s3_zones: S3Zones) -> Any:
    return boto3.client("s3", region_name=REGION)


def test_deploy_code_uploads_the_packaged_bundle_under_its_version(s3, s3_zones, tmp_path, capsys) -> None:
    code_uri = s3_zones.code
    bucket, prefix = S3Zones.at(code_uri)
    bundle = build_bundle()
    assert main(["deploy", "--out", str(tmp_path)]) == 1
    assert "run `make package` first" in capsys.readouterr().err

    assert main(["package", "--out", str(tmp_path)]) == 0
    assert main(["deploy", "--out", str(tmp_path)]) == 0
    assert f"uploaded to {code_uri}/{bundle.version}/" in capsys.readouterr().out
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [f"{prefix}/{bundle.version}/{n}" for n in (SUMS_NAME, ENTRY_NAME, ARCHIVE_NAME)]
    for name, data in bundle.files.items():
        key = f"{prefix}/{bundle.version}/{name}"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()

    assert main(["deploy", "--out", str(tmp_path)]) == 0  # idempotent
    assert "already at" in capsys.readouterr().out
    assert verify_deployed(bundle, code_uri, s3) == (
        f"{code_uri}/{bundle.version}/clean_imdb.py",
        f"{code_uri}/{bundle.version}/spark_jobs.zip",
    )


def test_a_missing_or_changed_bundle_fails_fast_and_says_what_to_run(s3, s3_zones) -> None:
    code_uri = s3_zones.code
    bucket, prefix = S3Zones.at(code_uri)
    settings = config.load()
    plan = {"run_id": "S1", "new_deliveries": ["title.ratings.tsv.gz"]}
    bundle = build_bundle()
    missing = rf"bundle {bundle.version}.*holds no bundle.*make package deploy-code"
    with pytest.raises(BundleError, match=missing):
        aws_spark.emr_steps(settings, plan, s3)

    upload(bundle, code_uri, s3)
    steps = aws_spark.emr_steps(settings, plan, s3)
    assert f"{code_uri}/{bundle.version}/clean_imdb.py" in steps[0]["HadoopJarStep"]["Args"]

    # Someone replaced the archive in place: the version folder no longer holds this code.
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{bundle.version}/{ARCHIVE_NAME}", Body=b"other")
    changed = r"spark_jobs\.zip is not the bundle's file.*make package deploy-code"
    with pytest.raises(BundleError, match=changed):
        aws_spark.emr_serverless_job_driver(settings, plan, s3)
    upload(bundle, code_uri, s3)  # deploy-code repairs it
    assert aws_spark.emr_serverless_job_driver(settings, plan, s3)["sparkSubmit"]["entryPoint"].endswith(
        f"/{bundle.version}/clean_imdb.py"
    )


# ---- the packaged bundle under spark-submit ----------------------------------------------------------

#: A small subset that still runs every module: an IMDb TSV (decimals) and the Kaggle CSV (arrays).
FILES = ["title.ratings.tsv.gz", "movie_metadata.csv"]


def _dataset_rows(folder: Path) -> list[tuple]:
    """Every row, sorted, without the load time (the two runs load at different moments)."""
    source = f"read_parquet('{folder}/*.parquet')"
    with duckdb.connect() as con:
        columns = [r[0] for r in con.execute(f"describe select * from {source}").fetchall()]
        kept = ", ".join(f'"{c}"' for c in columns if c != "_loaded_at")
        return con.execute(f"select {kept} from {source} order by all").fetchall()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_packaged_bundle_runs_under_spark_submit_like_the_local_runner(tmp_path: Path) -> None:
    """spark-submit of the bundle alone, in a Python that cannot see this repository (``-S``:
    no site-packages, so no editable install): a module missing from the zip fails the run.

    Both have an OpenLineage transport: the local runner reports the job; the bundle's driver,
    like an EMR driver without the OpenLineage client, says so in one line and runs on."""
    assert main(["package", "--out", str(tmp_path / "dist")]) == 0
    bundle = build_bundle()
    code = tmp_path / "code"
    shutil.copytree(tmp_path / "dist" / "spark" / bundle.version, code)
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in FILES:
        shutil.copy(config.SAMPLE_DIR / name, raw / name)
    python = tmp_path / "python-isolated"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    python.chmod(0o755)
    import pyspark

    from spark_jobs.session import QUICK_START_JAVA_OPTIONS

    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    unset = ("PYTHON", "SPARK_", "PYSPARK_", "OPENLINEAGE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    env.update({"PYSPARK_PYTHON": str(python), "PYSPARK_DRIVER_PYTHON": str(python)})
    lineage = {"OPENLINEAGE__TRANSPORT__TYPE": "file", "OPENLINEAGE__TRANSPORT__APPEND": "true"}
    events = {where: tmp_path / f"{where}-lineage.jsonl" for where in ("submitted", "local")}
    args = aws_spark.clean_arguments(str(raw), str(tmp_path / "submitted"), "S1", FILES, 0.01)
    submit = [
        str(spark_submit), "--master", "local[1]", "--driver-memory", "1g",
        # The local runner picks the JIT's quick start for inputs this small; spark-submit's own
        # JVM is started before the job can choose, so the test asks for it (EMR runs never do).
        "--driver-java-options", QUICK_START_JAVA_OPTIONS,
        *aws_spark.spark_submit_arguments(str(code / ENTRY_NAME), str(code / ARCHIVE_NAME), args),
    ]  # fmt: skip
    local = [
        sys.executable, "-m", "spark_jobs.clean_imdb",
        *aws_spark.clean_arguments(str(raw), str(tmp_path / "local"), "S1", FILES, 0.01),
        "--master", "local[1]", "--driver-memory", "1g",
    ]  # fmt: skip
    # The isolated interpreter cannot see the project: only the zip can provide its modules.
    blind = subprocess.run([str(python), "-c", "import imdb_elt"], cwd=code, env=env, capture_output=True)
    assert blind.returncode != 0 and b"No module named 'imdb_elt'" in blind.stderr

    # Both at once, one core each: the test costs one job's time, not two.
    started = time.perf_counter()
    runs = {
        "spark-submit of the bundle": subprocess.Popen(
            submit, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**env, **lineage, "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(events["submitted"])}),
        "local runner": subprocess.Popen(
            local, cwd=config.REPO_ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **lineage, "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(events["local"])}),
    }  # fmt: skip
    outputs = {}
    for name, proc in runs.items():
        out, err = proc.communicate(timeout=540)
        assert proc.returncode == 0, f"{name} failed:\n{err[-3000:]}"
        outputs[name] = out + err
    print(
        f"\nspark-submit of the bundle and the local runner, side by side: "
        f"{time.perf_counter() - started:.1f} s"
    )

    for zone in ("processed/snapshots/S1", "quarantine/S1"):
        for dataset in ("title_ratings", "movie_metadata"):
            ours, theirs = (tmp_path / lake / zone / dataset for lake in ("submitted", "local"))
            assert ours.is_dir() == theirs.is_dir(), f"{zone}/{dataset}"
            if not ours.is_dir():
                continue
            assert _dataset_rows(ours) == _dataset_rows(theirs), f"{zone}/{dataset}"
            # The step definition's options keep files COPY cannot read out of the dataset folders.
            visible = sorted(p.name for p in ours.iterdir() if not p.name.startswith("."))
            assert visible and all(n.startswith("part-") and n.endswith(".parquet") for n in visible), visible
    assert _dataset_rows(tmp_path / "submitted/processed/snapshots/S1/title_ratings")
    assert (tmp_path / "submitted/processed/snapshots/S1/_SPARK_DONE").exists()
    # Lineage: the bundle alone has no OpenLineage client; the local runner's driver reports.
    assert outputs["spark-submit of the bundle"].count("openlineage-python is not installed") == 1
    assert not events["submitted"].exists()
    reported = [json.loads(line) for line in events["local"].read_text().splitlines()]
    ends = sorted(e["job"]["name"] for e in reported if e["eventType"] == "COMPLETE")
    assert ends == sorted(["imdb_elt.clean", *(f"imdb_elt.clean.{BY_FILE_NAME[f].dataset}" for f in FILES)])

"""The Spark code bundle: computed module list, byte-for-byte builds, upload and checks on moto S3.

The packaged bundle under a real ``spark-submit``, in a Python that cannot see this repository,
is tested on a standalone cluster (tests/cluster/test_cluster_run.py)."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import pytest

from imdb_elt import config
from imdb_elt.orchestration import aws_spark
from imdb_elt.spark_bundle import (
    ARCHIVE_NAME,
    ENTRY_NAME,
    JAR_NAME,
    SUMS_NAME,
    BundleError,
    build_bundle,
    imported_modules,
    main,
    package_roots,
    read_packaged,
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
    # A package is a folder with an __init__.py (spark_jobs.jvm holds Java, no Python submodule).
    packages = {m for m in bundle.modules if config.REPO_ROOT.joinpath(*m.split("."), "__init__.py").exists()}
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
    java = (config.REPO_ROOT / "spark_jobs" / "jvm" / "imdbelt" / "TsvLineCheck.java").read_bytes()
    for name in (ENTRY_NAME, ARCHIVE_NAME, "TsvLineCheck.java", JAR_NAME, SUMS_NAME):
        assert (tmp_path / "a" / folder / name).read_bytes() == (tmp_path / "b" / folder / name).read_bytes()
    sums = (tmp_path / "a" / folder / SUMS_NAME).read_text()
    folder_java = config.REPO_ROOT / "spark_jobs" / "jvm" / "imdbelt"
    sources = {p.name: p.read_bytes() for p in folder_java.glob("*.java")}
    assert sorted(sources) == ["KeyOrderCheck.java", "LineBudget.java", "TsvLineCheck.java"]
    assert sums == (
        f"{hashlib.sha256(first.entry).hexdigest()}  clean_imdb.py\n"
        f"{hashlib.sha256(first.archive).hexdigest()}  spark_jobs.zip\n"
        + "".join(f"{hashlib.sha256(sources[n]).hexdigest()}  {n}\n" for n in sorted(sources))
    )
    assert first.version == hashlib.sha256(sums.encode()).hexdigest()[:16]
    # The jar holds the line check's classes, compiled from the listed source.
    classes = _zip_names((tmp_path / "a" / folder / JAR_NAME).read_bytes())
    assert {f"imdbelt/{name.removesuffix('.java')}.class" for name in sources} <= set(classes)
    # A changed Java source is a new version, as a changed module is.
    (roots["spark_jobs"] / "jvm" / "imdbelt" / "TsvLineCheck.java").write_bytes(java + b"\n")
    assert build_bundle(roots=roots).version not in (first.version, again.version)


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
    names = ("KeyOrderCheck.java", "LineBudget.java", SUMS_NAME, "TsvLineCheck.java", ENTRY_NAME, JAR_NAME,
             ARCHIVE_NAME)  # fmt: skip
    assert keys == [f"{prefix}/{bundle.version}/{n}" for n in names]
    packaged = read_packaged(bundle, tmp_path)
    assert packaged.jar is not None and packaged.version == bundle.version
    for name, data in packaged.files.items():
        key = f"{prefix}/{bundle.version}/{name}"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()

    assert main(["deploy", "--out", str(tmp_path)]) == 0  # idempotent
    assert "already at" in capsys.readouterr().out
    assert verify_deployed(bundle, code_uri, s3) == (
        f"{code_uri}/{bundle.version}/clean_imdb.py",
        f"{code_uri}/{bundle.version}/spark_jobs.zip",
        f"{code_uri}/{bundle.version}/{JAR_NAME}",
    )


def test_a_missing_or_changed_bundle_fails_fast_and_says_what_to_run(s3, s3_zones) -> None:
    code_uri = s3_zones.code
    bucket, prefix = S3Zones.at(code_uri)
    settings = config.load()
    plan = {"run_id": "S1", "new_deliveries": ["title.ratings.tsv.gz"]}
    bundle = build_bundle(with_jar=True)
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
    # The jar is the one file SHA256SUMS does not list (the DAG cannot compile it): it must be there.
    s3.delete_object(Bucket=bucket, Key=f"{prefix}/{bundle.version}/{JAR_NAME}")
    with pytest.raises(BundleError, match=rf"{JAR_NAME} is missing.*make package deploy-code"):
        aws_spark.emr_steps(settings, plan, s3)
    with pytest.raises(BundleError, match="packaged bundle"):
        upload(build_bundle(), code_uri, s3)  # only a packaged bundle (with its jar) is uploaded
    upload(bundle, code_uri, s3)  # deploy-code repairs it
    assert aws_spark.emr_serverless_job_driver(settings, plan, s3)["sparkSubmit"]["entryPoint"].endswith(
        f"/{bundle.version}/clean_imdb.py"
    )


def test_make_setup_keeps_one_jar_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The jar's older name (before the key order check joined the line check) is removed."""
    from imdb_elt import checks_jar

    monkeypatch.setattr(checks_jar, "checks_jar", lambda: tmp_path / JAR_NAME)
    (tmp_path / "imdb-elt-line-check.jar").write_bytes(b"old")
    (tmp_path / "spark-classes-0123.jsa").write_bytes(b"archive")  # not a jar: kept
    assert checks_jar.build() == tmp_path / JAR_NAME
    assert sorted(p.name for p in tmp_path.iterdir()) == [JAR_NAME, "spark-classes-0123.jsa"]
    assert {"imdbelt/KeyOrderCheck.class", "imdbelt/TsvLineCheck.class"} <= set(
        _zip_names((tmp_path / JAR_NAME).read_bytes())
    )

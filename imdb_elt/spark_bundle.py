"""The Spark job's code bundle: what `make package` builds and `make deploy-code` uploads.

A bundle is a folder named by its version:

    clean_imdb.py       the entry point spark-submit runs (spark_jobs/clean_imdb.py, byte for byte)
    spark_jobs.zip      every first-party module the entry imports, found by walking its imports
                        (``--py-files``); nothing else: no tests, no sample generator (devtools/)
    *.java              the compiled checks' sources (spark_jobs/jvm: TsvLineCheck, KeyOrderCheck,
                        LineBudget)
    imdb-elt-checks.jar their classes (``--jars``), compiled by `make package`
    SHA256SUMS          the SHA-256 of the entry, the zip and the Java sources

The version is the first 16 hex digits of the SHA-256 of SHA256SUMS: the same code gives the same
version and the same bytes on any machine (zip entries sorted, fixed timestamps and modes, stored
uncompressed so that no zlib build can change a byte). The Airflow DAG builds the same bundle in
memory from the code it runs, submits that version, and refuses to start the Spark step when
IMDB_SPARK_CODE_URI/<version>/ is missing or holds other bytes. The jar is the one file outside
SHA256SUMS: it is built from the listed source by the JDK's compiler, which the DAG's workers do
not have, so the DAG checks that it is there, and `make package` always compiles it afresh.

    python -m imdb_elt.spark_bundle package [--out dist]   # make package
    python -m imdb_elt.spark_bundle deploy [--out dist]    # make deploy-code (boto3)
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import importlib.util
import io
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imdb_elt import storage
from imdb_elt.config import REPO_ROOT, load
from spark_jobs import jvm

ENTRY_MODULE = "spark_jobs.clean_imdb"
FIRST_PARTY = ("imdb_elt", "spark_jobs")
ENTRY_NAME = "clean_imdb.py"
ARCHIVE_NAME = "spark_jobs.zip"
SUMS_NAME = "SHA256SUMS"
#: The compiled checks: their sources' folder inside spark_jobs, and the jar's name.
JAVA_DIR = jvm.SOURCE_DIR.name
JAR_NAME = jvm.JAR_NAME
DEFAULT_OUT = REPO_ROOT / "dist"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


class BundleError(RuntimeError):
    """The bundle is missing, incomplete or not the one this code builds; says what to run."""


# ---- which modules the job imports --------------------------------------------------------------


def package_roots() -> dict[str, Path]:
    """Folder of each first-party top-level package (found without importing it)."""
    roots = {}
    for name in FIRST_PARTY:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise BundleError(f"package {name} not found: run from the project's environment (make setup)")
        roots[name] = Path(next(iter(spec.submodule_search_locations)))
    return roots


def module_path(module: str, roots: dict[str, Path]) -> Path | None:
    """The source file of a first-party module or package, None for anything else."""
    top, _, rest = module.partition(".")
    if top not in roots:
        return None
    base = roots[top].joinpath(*rest.split(".")) if rest else roots[top]
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, including those inside functions; not ``if TYPE_CHECKING:``
    bodies, which never run."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif _is_type_checking(child):
            yield from _import_nodes(ast.Module(body=child.orelse, type_ignores=[]))
        else:
            yield from _import_nodes(child)


def _imported_names(path: Path, module: str) -> set[str]:
    """Dotted names a module may import (modules, or attributes of modules: filtered later)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return names


def imported_modules(entry_module: str = ENTRY_MODULE, roots: dict[str, Path] | None = None) -> list[str]:
    """Every first-party module the entry imports, directly or not, with their packages; sorted.

    The entry module itself is left out unless another module imports it.
    """
    roots = roots or package_roots()
    entry_path = module_path(entry_module, roots)
    if entry_path is None:
        raise BundleError(f"entry module {entry_module} not found")
    seen: set[str] = set()
    todo = [(entry_module, entry_path)]
    while todo:
        module, path = todo.pop()
        for name in _imported_names(path, module):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # a module needs its packages' __init__ too
                candidate = ".".join(parts[:i])
                found = module_path(candidate, roots)
                if found is not None and candidate not in seen:
                    seen.add(candidate)
                    todo.append((candidate, found))
    seen.discard(entry_module)
    return sorted(seen)


# ---- the bundle ---------------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _archive_name(module: str, path: Path) -> str:
    parts = module.split(".")
    return "/".join(parts) + ("/__init__.py" if path.name == "__init__.py" else ".py")


def deterministic_zip(entries: dict[str, bytes]) -> bytes:
    """Same entries, same bytes: sorted names, fixed time and mode, stored (no compression)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the building machine
            zf.writestr(info, entries[name])
    return buffer.getvalue()


@dataclass(frozen=True)
class Bundle:
    entry: bytes
    archive: bytes
    modules: tuple[str, ...]
    #: The compiled checks' Java sources (file name → bytes), and the jar compiled from them: None in
    #: a bundle built from the code alone (the DAG's), which only names the version.
    java: tuple[tuple[str, bytes], ...] = ()
    jar: bytes | None = None

    @property
    def listed(self) -> dict[str, bytes]:
        """The files SHA256SUMS lists, in order: everything but the jar."""
        return {ENTRY_NAME: self.entry, ARCHIVE_NAME: self.archive, **dict(self.java)}

    @property
    def sums(self) -> bytes:
        return "".join(f"{_sha256(data)}  {name}\n" for name, data in self.listed.items()).encode()

    @property
    def version(self) -> str:
        return _sha256(self.sums)[:16]

    @property
    def files(self) -> dict[str, bytes]:
        """Name → bytes, in upload order: SHA256SUMS last, so its presence means complete."""
        jar = {} if self.jar is None else {JAR_NAME: self.jar}
        return {**self.listed, **jar, SUMS_NAME: self.sums}


def java_sources(roots: dict[str, Path]) -> tuple[tuple[str, bytes], ...]:
    sources = jvm.sources(roots["spark_jobs"] / JAVA_DIR)
    names = [path.name for path in sources]
    if len(set(names)) != len(names):  # the bundle folder is flat
        raise BundleError(f"two Java sources share a file name: {names}")
    return tuple((path.name, path.read_bytes()) for path in sources)


def compile_jar(roots: dict[str, Path]) -> bytes:
    """The compiled checks' jar, compiled afresh from ``roots``' sources (needs the JDK)."""
    import tempfile

    from imdb_elt.checks_jar import build

    with tempfile.TemporaryDirectory(prefix="imdb-elt-bundle-") as tmp:
        jar = Path(tmp) / JAR_NAME
        build(jar, jvm.sources(roots["spark_jobs"] / JAVA_DIR))
        return jar.read_bytes()


def build_bundle(
    entry_module: str = ENTRY_MODULE, roots: dict[str, Path] | None = None, with_jar: bool = False
) -> Bundle:
    """The bundle of the code installed here (cheap: a few dozen small files read); ``with_jar``
    compiles the checks' jar too (`make package`: a second or two of javac)."""
    roots = roots or package_roots()
    entry_path = module_path(entry_module, roots)
    assert entry_path is not None
    modules = imported_modules(entry_module, roots)
    entries = {}
    for module in modules:
        path = module_path(module, roots)
        assert path is not None
        entries[_archive_name(module, path)] = path.read_bytes()
    return Bundle(
        entry=entry_path.read_bytes(),
        archive=deterministic_zip(entries),
        modules=tuple(modules),
        java=java_sources(roots),
        jar=compile_jar(roots) if with_jar else None,
    )


def write_bundle(bundle: Bundle, out_dir: Path = DEFAULT_OUT) -> Path:
    if bundle.jar is None:
        raise BundleError("a bundle is packaged with its compiled checks: build it with with_jar=True")
    folder = Path(out_dir) / "spark" / bundle.version
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in bundle.files.items():
        (folder / name).write_bytes(data)
    return folder


def read_packaged(bundle: Bundle, out_dir: Path = DEFAULT_OUT) -> Bundle:
    """The packaged copy of ``bundle`` in ``out_dir``, jar included; refuses a missing or different one."""
    folder = Path(out_dir) / "spark" / bundle.version
    if not all((folder / name).is_file() for name in [*bundle.listed, JAR_NAME, SUMS_NAME]):
        raise BundleError(f"no packaged bundle {bundle.version} in {folder}: run `make package` first")
    entry, archive = ((folder / name).read_bytes() for name in (ENTRY_NAME, ARCHIVE_NAME))
    java = tuple((name, (folder / name).read_bytes()) for name, _ in bundle.java)
    packaged = Bundle(entry, archive, bundle.modules, java, (folder / JAR_NAME).read_bytes())
    if packaged.listed != bundle.listed or (folder / SUMS_NAME).read_bytes() != bundle.sums:
        raise BundleError(f"{folder} differs from the code here: run `make package` again")
    return packaged


# ---- S3 -------------------------------------------------------------------------------------------


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def version_uri(code_uri: str, version: str) -> str:
    if not code_uri.startswith("s3://"):
        raise BundleError(f"IMDB_SPARK_CODE_URI={code_uri!r} must be an s3:// folder")
    return f"{code_uri.rstrip('/')}/{version}"


def _missing(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code in ("404", "NoSuchKey", "NotFound")


def deployed_problems(bundle: Bundle, code_uri: str, s3: Any) -> list[str]:
    """What is wrong with IMDB_SPARK_CODE_URI/<version>/ for this bundle ([] when it is exact)."""
    folder = version_uri(code_uri, bundle.version)
    bucket, prefix = storage.split_s3(folder)
    try:
        remote_sums = s3.get_object(Bucket=bucket, Key=f"{prefix}/{SUMS_NAME}")["Body"].read()
    except Exception as exc:
        if _missing(exc):
            return [f"{folder}/ holds no bundle ({SUMS_NAME} missing)"]
        raise
    if remote_sums != bundle.sums:
        return [f"{folder}/{SUMS_NAME} lists other files than this code's bundle"]
    problems = []
    for name in [*bundle.listed, JAR_NAME]:
        try:
            head = s3.head_object(Bucket=bucket, Key=f"{prefix}/{name}", ChecksumMode="ENABLED")
        except Exception as exc:
            if _missing(exc):
                problems.append(f"{folder}/{name} is missing")
                continue
            raise
        if name == JAR_NAME:  # built from the listed source: present is all the DAG can check
            continue
        if head.get("ChecksumSHA256") != _b64_sha256(bundle.files[name]):
            problems.append(f"{folder}/{name} is not the bundle's file (SHA-256 differs or was not recorded)")
    return problems


def verify_deployed(bundle: Bundle, code_uri: str, s3: Any) -> tuple[str, str, str]:
    """(entry point, --py-files archive, --jars jar) of this exact bundle on S3, or BundleError
    saying what to run."""
    problems = deployed_problems(bundle, code_uri, s3)
    if problems:
        raise BundleError(
            f"the Spark code this DAG runs is bundle {bundle.version}, and {'; '.join(problems)}. "
            f"Run `make package deploy-code` with IMDB_SPARK_CODE_URI={code_uri} from the same "
            "commit as the DAG, then clear this task."
        )
    folder = version_uri(code_uri, bundle.version)
    return f"{folder}/{ENTRY_NAME}", f"{folder}/{ARCHIVE_NAME}", f"{folder}/{JAR_NAME}"


def upload(bundle: Bundle, code_uri: str, s3: Any) -> tuple[str, bool]:
    """Upload to IMDB_SPARK_CODE_URI/<version>/ (SHA256SUMS last); (folder, uploaded?).

    S3 checks each body against its SHA-256 on arrival and keeps it for ``verify_deployed``.
    An exact copy already there is left alone; a damaged one is repaired.
    """
    folder = version_uri(code_uri, bundle.version)
    if bundle.jar is None:
        raise BundleError("upload the packaged bundle (read_packaged): it holds the compiled checks")
    if not deployed_problems(bundle, code_uri, s3):
        return folder, False
    bucket, prefix = storage.split_s3(folder)
    for name, data in bundle.files.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=data,
                      ChecksumAlgorithm="SHA256", ChecksumSHA256=_b64_sha256(data))
    return folder, True


# ---- command line ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imdb_elt.spark_bundle", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["package", "deploy"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where bundles are built (dist/)")
    args = parser.parse_args(argv)
    try:
        if args.command == "package":
            bundle = build_bundle(with_jar=True)
            folder = write_bundle(bundle, args.out)
            print(f"Spark bundle {bundle.version}: {len(bundle.modules)} modules, "
                  f"{ARCHIVE_NAME} {len(bundle.archive):,} bytes, {JAR_NAME} {len(bundle.jar or b''):,} "
                  f"bytes -> {folder}/")
            return 0
        bundle = build_bundle()
        code_uri = load().spark_code_uri
        if not code_uri:
            raise BundleError("IMDB_SPARK_CODE_URI is not set: the s3:// folder that holds the Spark code")
        packaged = read_packaged(bundle, args.out)
        folder, uploaded = upload(packaged, code_uri, storage.s3_client())
        print(f"Spark bundle {bundle.version} {'uploaded to' if uploaded else 'already at'} {folder}/ "
              f"({', '.join(bundle.files)}); the DAG submits this version")
        return 0
    except BundleError as exc:
        print(f"spark_bundle: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

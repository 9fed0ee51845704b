"""A real browser (headless Chromium via Playwright) on the Airflow UI and the dbt docs site.

Both servers are started through the project's own scripts (scripts/airflow_standalone.sh,
scripts/dbt_docs.sh) on free ports with a throw-away AIRFLOW_HOME, lake and DuckDB file, and
stopped (whole process group) afterwards. Screenshots land in artifacts/browser/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from imdb_elt.config import REPO_ROOT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a zombie group leader not yet reaped still answers
        return True
    return True


def _kill_group(pgid: int, grace: float) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``grace`` seconds."""
    if not _group_alive(pgid):
        return
    os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)


def _stop(proc: subprocess.Popen, extra_group_file: Path | None = None) -> None:
    """Stop the script's process group and the server group it started (its pgid file).

    The Airflow script runs `airflow standalone` in a session of its own (so Ctrl-C stops
    scheduler, triggerer and processor too); killing only the script would orphan it.
    """
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGINT)  # the script's trap stops its server group
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    if extra_group_file is not None and extra_group_file.exists():
        _kill_group(int(extra_group_file.read_text().strip()), grace=15)


def require_chromium(path: str = CHROMIUM) -> None:
    """Without Chromium the browser tests skip on a workstation, and fail under CI (``CI`` set):
    there a skip would let a build pass with no browser test run."""
    if Path(path).exists():
        return
    message = f"no {path}: install Debian's chromium (scripts/check_system.sh does)"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{message}; CI is set, so the browser tests must run", pytrace=False)
    pytest.skip(message)


def test_missing_chromium_fails_under_ci_and_skips_elsewhere(tmp_path, monkeypatch):
    missing = str(tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(BaseException) as under_ci:  # a skip, caught too, must not pass for a failure
        require_chromium(missing)
    assert under_ci.type is pytest.fail.Exception and "CI is set" in str(under_ci.value)
    monkeypatch.delenv("CI")
    with pytest.raises(BaseException) as elsewhere:
        require_chromium(missing)
    assert elsewhere.type is pytest.skip.Exception
    require_chromium(__file__)  # present: neither


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Start Airflow and dbt docs together (their start-ups overlap), stop both whatever happens."""
    import duckdb

    root = tmp_path_factory.mktemp("browser")
    (root / "warehouse").mkdir()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    base_env.update(
        {
            "IMDB_LAKE_DIR": str(root / "lake"),
            "DUCKDB_PATH": str(root / "warehouse" / "imdb.duckdb"),
            "IMDB_DBT_MANIFEST_DIR": str(root / "dbt_manifest"),
            "AIRFLOW_HOME": str(root / "airflow"),
            "IMDB_AIRFLOW_UNPAUSE": "false",  # look at the DAG, do not run it in the background
        }
    )
    duckdb.connect(base_env["DUCKDB_PATH"]).close()  # an (empty) warehouse: no pipeline run needed
    airflow_port, docs_port = _free_port(), _free_port()
    started: list[tuple[subprocess.Popen, Path | None]] = []
    logs = []
    try:
        for script, extra, pgid_file in (
            ("airflow_standalone.sh", {"IMDB_AIRFLOW_PORT": str(airflow_port)},
             root / "airflow" / "standalone.pgid"),
            ("dbt_docs.sh", {"IMDB_DOCS_PORT": str(docs_port),
                             "IMDB_DOCS_TARGET_PATH": str(root / "docs_target")}, None),
        ):
            log = open(root / f"{script}.log", "w")  # noqa: SIM115
            logs.append(log)
            proc = subprocess.Popen(
                [str(REPO_ROOT / "scripts" / script)],
                env={**base_env, **extra},
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
            )
            started.append((proc, pgid_file))
        yield {
            "airflow": (f"http://127.0.0.1:{airflow_port}", started[0][0], Path(base_env["AIRFLOW_HOME"])),
            "docs": (f"http://127.0.0.1:{docs_port}", started[1][0]),
            "root": root,
        }
    finally:
        for proc, pgid_file in started:
            _stop(proc, pgid_file)
        for log in logs:
            log.close()


@pytest.mark.timeout(360)
def test_airflow_ui_shows_the_dag_graph_with_the_dbt_tasks(browser, servers):
    started = time.monotonic()
    base, proc, airflow_home = servers["airflow"]
    _wait_http(f"{base}/api/v2/monitor/health", proc, timeout=240)
    passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + 60
    while not passwords.exists() and time.monotonic() < deadline:
        time.sleep(1)
    password = json.loads(passwords.read_text())["admin"]
    print(f"\nAirflow API up after {time.monotonic() - started:.0f} s")
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{base}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)

    # The DAG appears once the dag processor has parsed the folder (bounded wait).
    deadline = time.monotonic() + 150
    while True:
        page.goto(f"{base}/dags/imdb_elt_hourly")
        try:
            page.get_by_text("imdb_elt_hourly").first.wait_for(timeout=10_000)
            break
        except Exception:
            if time.monotonic() > deadline:
                page.screenshot(path=str(ARTIFACTS / "airflow_no_dag.png"))
                raise
    page.get_by_role("button", name=re.compile("Show Graph")).click()
    nodes = page.locator(".react-flow__node")
    nodes.first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # let the layout settle before the screenshot
    page.screenshot(path=str(ARTIFACTS / "airflow_graph.png"), full_page=True)
    labels = " ".join(nodes.all_inner_texts())
    print(f"{nodes.count()} graph nodes rendered, {time.monotonic() - started:.0f} s in all")
    assert "detect" in labels and "publish_snapshot" in labels
    assert "dbt" in labels  # the Cosmos task group (collapsed: one node)

    # The collapsed Cosmos group says how many tasks it holds ("+ 44 Tasks"); expanded, it shows
    # one node per dbt model build task.
    expand = page.get_by_text(re.compile(r"\+\s*\d+\s+Tasks"))
    in_group = int(re.search(r"\d+", expand.first.inner_text()).group())
    print(f"dbt task group holds {in_group} tasks")
    assert in_group >= 33  # one per model, plus the tests on two models
    expand.first.click()
    page.get_by_text(re.compile(r"movies_model_build")).first.wait_for(timeout=20_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "airflow_graph_dbt.png"), full_page=True)
    build_nodes = [t for t in nodes.all_inner_texts() if "_model_build" in t]
    print(f"{len(build_nodes)} dbt model build nodes visible")
    assert len(build_nodes) >= 10


#: Rendered lineage: the unique ids of the visible nodes of the graph (Cytoscape, in #cy).
_LINEAGE_NODES = """() => {
    const box = document.querySelector('#cy');
    const cy = box && box._cyreg && box._cyreg.cy;
    return cy ? cy.nodes(':visible').map(n => n.id()) : [];
}"""


@pytest.mark.timeout(240)
def test_dbt_docs_show_the_movies_model_and_its_lineage(browser, servers):
    base, proc = servers["docs"]
    _wait_http(f"{base}/", proc, timeout=200)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    loaded: dict[str, object] = {}
    page.on("response", lambda r: loaded.setdefault("manifest", r)
            if r.url.split("?")[0].endswith("/manifest.json") else None)
    page.goto(f"{base}/#!/model/model.imdb_elt.movies")
    heading = page.locator("h1")
    heading.first.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => document.querySelector('h1') && document.querySelector('h1').innerText.includes('movies')",
        timeout=30_000,
    )
    page.screenshot(path=str(ARTIFACTS / "dbt_docs_movies.png"), full_page=True)
    assert "movies" in heading.first.inner_text()

    # The lineage graph: the floating button at the bottom right opens a canvas in #cy.
    page.locator(".launcher-btn a[title='View Lineage Graph']").click(timeout=15_000)
    page.locator("#cy canvas").first.wait_for(timeout=30_000)
    page.wait_for_function(f"() => ({_LINEAGE_NODES})().length > 1", timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "dbt_docs_lineage.png"))
    shown = set(page.evaluate(_LINEAGE_NODES))

    # The graph shows the model, what it reads and what reads it, as the manifest the page loaded
    # says; and, written from the project, one model on each side (a hard-coded relation in
    # place of a ref() would drop the edge from the manifest too, so the manifest alone is not enough).
    assert "manifest" in loaded, "the docs page loaded no manifest.json"
    manifest = loaded["manifest"].json()  # type: ignore[attr-defined]
    movies = "model.imdb_elt.movies"
    neighbours = {n for n in (*manifest["parent_map"][movies], *manifest["child_map"][movies])
                  if n.split(".")[0] in ("model", "source", "exposure")}
    print(f"\nlineage of movies: {len(shown)} nodes shown; the manifest's neighbours: {sorted(neighbours)}")
    assert {"model.imdb_elt.int_movies__imdb", "model.imdb_elt.top_ten_movies_by_year"} <= neighbours
    missing = (neighbours | {movies}) - shown
    assert not missing, f"the lineage graph does not show {sorted(missing)}"

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


def _stop(proc: subprocess.Popen) -> None:
    """Stop the script's whole process group (it started servers with children of their own)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=40)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("browser")
    (root / "warehouse").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "IMDB_LAKE_DIR": str(root / "lake"),
            "DUCKDB_PATH": str(root / "warehouse" / "imdb.duckdb"),
            "IMDB_DBT_MANIFEST_DIR": str(root / "dbt_manifest"),
            "AIRFLOW_HOME": str(root / "airflow"),
            "IMDB_AIRFLOW_UNPAUSE": "false",  # look at the DAG, do not run it in the background
        }
    )
    return env


@pytest.fixture(scope="module")
def airflow_ui(server_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    port = _free_port()
    env = {**server_env, "IMDB_AIRFLOW_PORT": str(port)}
    log = open(Path(env["AIRFLOW_HOME"]).parent / "airflow_standalone.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(REPO_ROOT / "scripts" / "airflow_standalone.sh")],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/api/v2/monitor/health", proc, timeout=420)
        passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
        deadline = time.monotonic() + 60
        while not passwords.exists() and time.monotonic() < deadline:
            time.sleep(1)
        password = json.loads(passwords.read_text())["admin"]
        yield base, password
    finally:
        _stop(proc)
        log.close()


@pytest.mark.timeout(600)
def test_airflow_ui_shows_the_dag_graph_with_the_dbt_tasks(browser, airflow_ui):
    base, password = airflow_ui
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{base}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)

    # The DAG appears once the dag processor has parsed the folder.
    deadline = time.monotonic() + 120
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
    print(f"\n{nodes.count()} graph nodes rendered")
    assert "detect" in labels and "publish_snapshot" in labels
    assert "dbt" in labels  # the Cosmos task group


@pytest.fixture(scope="module")
def dbt_docs(server_env: dict[str, str]) -> Iterator[str]:
    import duckdb

    duckdb.connect(server_env["DUCKDB_PATH"]).close()  # an (empty) warehouse: no pipeline run needed
    port = _free_port()
    env = {
        **server_env,
        "IMDB_DOCS_PORT": str(port),
        "IMDB_DOCS_TARGET_PATH": str(Path(server_env["DUCKDB_PATH"]).parent / "docs_target"),
    }
    log = open(Path(server_env["DUCKDB_PATH"]).parent / "dbt_docs.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(REPO_ROOT / "scripts" / "dbt_docs.sh")],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/", proc, timeout=240)
        yield base
    finally:
        _stop(proc)
        log.close()


@pytest.mark.timeout(300)
def test_dbt_docs_show_the_movies_model_and_its_lineage(browser, dbt_docs):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{dbt_docs}/#!/model/model.imdb_elt.movies")
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
    page.wait_for_timeout(2000)
    page.screenshot(path=str(ARTIFACTS / "dbt_docs_lineage.png"))
    assert page.locator("#cy canvas").count() >= 1

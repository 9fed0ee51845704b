"""A real browser (headless Chromium via Playwright) on the Airflow UI and the dbt docs site.

Airflow is the session's server (tests/fixtures/airflow_server.py, started as `make airflow`
does, after the scheduler tests' runs); the dbt docs server is started by scripts/dbt_docs.sh on
a free port and stopped (whole process group) afterwards. Screenshots land in artifacts/browser/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from imdb_elt.config import REPO_ROOT
from tests.fixtures.airflow_server import free_port, stop_group

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"


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
def servers(tmp_path_factory: pytest.TempPathFactory, airflow_server) -> Iterator[dict[str, object]]:
    """The session's Airflow (tests/fixtures/airflow_server.py) and a dbt docs server started by
    its script on a copy of that Airflow's warehouse (which the scheduler tests filled)."""
    import duckdb

    root = tmp_path_factory.mktemp("browser")
    (root / "warehouse").mkdir()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    docs_db = root / "warehouse" / "imdb.duckdb"
    if airflow_server.db.exists():
        shutil.copy2(airflow_server.db, docs_db)
    else:
        duckdb.connect(str(docs_db)).close()  # an (empty) warehouse: no pipeline run needed
    base_env.update({"IMDB_LAKE_DIR": str(root / "lake"), "DUCKDB_PATH": str(docs_db)})
    docs_port = free_port()
    log = open(root / "dbt_docs.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(REPO_ROOT / "scripts" / "dbt_docs.sh")],
        env={**base_env, "IMDB_DOCS_PORT": str(docs_port),
             "IMDB_DOCS_TARGET_PATH": str(root / "docs_target")},
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole
    )
    try:
        yield {"airflow": airflow_server, "docs": (f"http://127.0.0.1:{docs_port}", proc), "root": root}
    finally:
        stop_group(proc.pid, grace=15)  # the docs script's own process group
        log.close()


def _login(page, server) -> None:
    page.goto(f"{server.base}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", server.password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)


@pytest.mark.timeout(600)
def test_airflow_ui_triggers_a_run_that_turns_green_and_shows_one_task_per_model(browser, servers):
    started = time.monotonic()
    server = servers["airflow"]
    runs_path = "/api/v2/dags/imdb_elt_hourly/dagRuns"
    before = {r["dag_run_id"] for r in server.request("GET", runs_path)["dag_runs"]}
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    _login(page, server)
    page.goto(f"{server.base}/dags/imdb_elt_hourly")
    page.get_by_text("imdb_elt_hourly").first.wait_for(timeout=60_000)

    # Trigger from the UI: the header's Trigger button, then the dialog's own Trigger button.
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "airflow_trigger_dialog.png"))
    dialog.get_by_role("button", name=re.compile(r"^\s*Trigger\s*$")).last.click()
    deadline = time.monotonic() + 60
    new: set[str] = set()
    while not new and time.monotonic() < deadline:
        runs = server.request("GET", runs_path)["dag_runs"]
        new = {r["dag_run_id"] for r in runs} - before
        time.sleep(1)
    assert len(new) == 1, "the UI's Trigger did not create a run"
    run_id = new.pop()
    state, seconds = server.wait(run_id, timeout=400)
    assert state == "success"

    # The run's page says so, in the UI.
    page.goto(f"{server.base}/dags/imdb_elt_hourly/runs/{run_id}")
    page.get_by_text(re.compile("success", re.I)).first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "airflow_run_success.png"), full_page=True)
    print(f"\nUI-triggered run {run_id}: {state} in {seconds:.0f} s "
          f"({time.monotonic() - started:.0f} s in all)")

    page.goto(f"{server.base}/dags/imdb_elt_hourly")
    page.get_by_role("button", name=re.compile("Show Graph")).click()
    nodes = page.locator(".react-flow__node")
    nodes.first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # let the layout settle before the screenshot
    page.screenshot(path=str(ARTIFACTS / "airflow_graph.png"), full_page=True)
    labels = " ".join(nodes.all_inner_texts())
    assert "detect" in labels and "publish" in labels and "report" in labels
    assert "dbt" in labels  # the Cosmos task group (collapsed: one node)
    # The collapsed Cosmos group says how many tasks it holds; expanded, one node per model.
    expand = page.get_by_text(re.compile(r"\+\s*\d+\s+Tasks"))
    in_group = int(re.search(r"\d+", expand.first.inner_text()).group())
    print(f"dbt task group holds {in_group} tasks")
    expand.first.click()
    page.get_by_text(re.compile(r"movies_run")).first.wait_for(timeout=20_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "airflow_graph_dbt.png"), full_page=True)
    # A node shows the task's name, then its operator's ("movies_run", "DbtRunWatcherOperator").
    model_nodes = [t for t in nodes.all_inner_texts() if re.search(r"\w_run\b", t)]
    assert len(model_nodes) >= 10


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
    assert "imdb.marts.movies" in page.inner_text("body")  # the published relation, not marts_audit

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

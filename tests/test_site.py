"""The course's website (`make site`, site/conf.py): built once here, from this checkout, into a
temporary folder, then read as files and in a real browser.

The browser is Debian's Chromium, driven by Playwright with its own browser download switched off
(`executable_path`); the test is skipped, saying so, where neither is installed (`.ci/run`
installs Chromium). It saves screenshots to build/site-screenshots/ for the note.
"""

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

from nst_utils.grader.release import REGIONS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT_VERSIONS = sorted((ROOT / "notebooks" / "student").glob("[0-9][0-9]_*.ipynb"))
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
SCREENSHOTS = ROOT / "build" / "site-screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The flags that keep a headless Chromium from reaching out (updates, sync, metrics): here, its
#: background connections were refused many at a time and slowed every page.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
MARKERS = [marker for pair in REGIONS.values() for marker in pair]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site's folder. The build must be clean: a warning (a README part not found, a
    docstring that is not valid reStructuredText) fails it."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-W", "--keep-going",
                           "-b", "html", "-d", out / "doctrees", ROOT / "site", out / "html"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr, done.stdout + done.stderr
    return out / "html"


def _text(path):
    """What a file of the site says: an HTML page's text, a notebook's sources and outputs, or a
    script's raw text; whitespace runs as one space."""
    if path.suffix == ".html":
        text = BeautifulSoup(path.read_text(), "html.parser").get_text()
    elif path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
        text = "\n".join([cell.source for cell in notebook.cells] + [
            json.dumps(cell.get("outputs", []), ensure_ascii=False) for cell in notebook.cells])
    else:
        text = path.read_text(errors="replace")
    return " ".join(text.split())


def _texts(site):
    return {path: _text(path) for path in site.rglob("*")
            if path.suffix in (".html", ".js", ".ipynb", ".txt", ".json")}


def _region_lines(notebook):
    """Every line inside a solution region or hidden tests, as nbgrader delimits them."""
    found = []
    for cell in notebook.cells:
        inside = False
        for line in cell.source.split("\n"):
            if any(begin in line for begin, _ in REGIONS.values()):
                inside = True
            elif any(end in line for _, end in REGIONS.values()):
                inside = False
            elif inside:
                found.append(" ".join(line.split()))
    return found


@pytest.mark.slow
def test_no_page_shows_a_solution_or_a_hidden_test(site):
    student_lines = {" ".join(line.split()) for path in STUDENT_VERSIONS
                     for cell in nbformat.read(path, as_version=4).cells
                     for line in cell.source.split("\n")}
    # A line that the student versions show too (`return loss`, a blank line) reveals nothing.
    secret = {line for path in NOTEBOOKS for line in _region_lines(nbformat.read(path, 4))
              if len(line) >= 8 and line not in student_lines}
    assert len(secret) > 50, secret  # the regions were found: the check below can fail
    texts = _texts(site)
    leaks = {(str(path.relative_to(site)), line) for path, text in texts.items()
             for line in secret if line in text}
    assert not leaks, sorted(leaks)[:20]
    # The markers may appear in the reference, which explains them, never in a notebook's page or
    # download.
    chapters = {path: text for path, text in texts.items()
                if path.parent.name == "notebooks" or path.suffix == ".ipynb"}
    assert len(chapters) == len(NOTEBOOKS) + len(STUDENT_VERSIONS), sorted(chapters)
    assert not [(path, marker) for path, text in chapters.items() for marker in MARKERS
                if marker in text]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_a_notebook_page_has_the_tasks_and_the_committed_outputs(site, path):
    solution = nbformat.read(path, as_version=4)
    page = site / "notebooks" / f"{path.stem}.html"
    text = _text(page)
    student = ROOT / "notebooks" / "student" / path.name
    tasks = nbformat.read(student, 4) if student.is_file() else solution
    stubs = sum(cell.source.count("raise NotImplementedError()") for cell in tasks.cells)
    assert text.count("raise NotImplementedError()") == stubs
    # Each check's printed verdict, from the solution's run, stays under its check.
    printed = [" ".join(output.text.split()) for cell in solution.cells
               if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
               for output in cell.outputs if output.output_type == "stream"]
    assert all(verdict in text for verdict in printed), printed
    html = page.read_text()
    assert "application/vnd.jupyter.widget-view+json" not in html
    assert html.count('src="../_images/') + html.count('src="data:image/') == \
        _figures(solution) > 0


def _figures(notebook):
    """How many images a notebook's outputs show: figures, and the animation (an HTML <img>),
    outside solution cells, whose outputs the site leaves out."""
    return sum(any(kind.startswith("image/") for kind in output.get("data", {}))
               or "<img" in output.get("data", {}).get("text/html", "")
               for cell in notebook.cells if cell.cell_type == "code"
               and not cell.metadata.get("nbgrader", {}).get("solution")
               for output in cell.outputs)


def test_the_readme_links_the_site_of_the_repository():
    owner, name = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", REPOSITORY).groups()
    assert f"https://{owner}.github.io/{name}/" in (ROOT / "README.md").read_text()


def test_the_pages_workflow_publishes_what_make_site_builds():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(step.get("run") == "make site" for step in steps)
    upload = [step for step in steps
              if step.get("uses", "").startswith("actions/upload-pages-artifact@")]
    folder = re.search(r"^SITE := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert [step["with"]["path"] for step in upload] == [f"{folder}/html"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed (extra `test`)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served(site):
    """The site on a local HTTP server, as GitHub Pages serves it: its address."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.mark.slow
def test_in_a_browser_every_page_renders_and_every_link_leads_somewhere(browser, served, site):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    # Only the site itself: the Colab badges and links lead outside, which the test cannot reach.
    page.route(re.compile(r"^(?!" + re.escape(served) + ")"), lambda route: route.abort())
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    anchors, links, queue = {}, set(), deque([served + "index.html"])
    while queue:
        url = queue.popleft()
        if url in anchors:
            continue
        response = page.goto(url)
        assert response.status == 200, url
        anchors[url] = set(page.eval_on_selector_all("[id]", "all => all.map(e => e.id)"))
        for href in page.eval_on_selector_all("a[href]", "all => all.map(a => a.href)"):
            target, fragment = urldefrag(href)
            if not target.startswith(served):
                continue
            links.add((url, target, fragment))
            if urlparse(target).path.endswith((".html", "/")):
                queue.append(target)
            elif page.request.get(target).status != 200:
                failed.append(target)
        if "/notebooks/" in url:
            _check_notebook_page(page, url, site)
    broken = [(source, f"{target}#{fragment}") for source, target, fragment in links
              if target in anchors and fragment and fragment not in anchors[target]]
    assert not failed and not broken, (failed, broken)
    pages = {urlparse(url).path.lstrip("/") for url in anchors}
    built = {str(path.relative_to(site)) for path in site.rglob("*.html")
             if path.parent.name != "_static"}  # the theme's templates
    # Every page is reachable from the home page (Sphinx's own search page is reached by a form).
    assert built - pages == {"search.html"}, built - pages
    assert sum("notebooks/" in path for path in pages) == len(NOTEBOOKS)


def _check_notebook_page(page, url, site):
    """Its figures are loaded and its equations typeset by MathJax, without an error."""
    name = urlparse(url).path.rsplit("/", 1)[-1].removesuffix(".html")
    sizes = page.eval_on_selector_all(
        ".cell_output img", "all => all.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    expected = _figures(nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4))
    assert len(sizes) == expected and all(done and w > 0 and h > 0 for done, w, h in sizes), sizes
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    typeset = page.evaluate("""MathJax.startup.promise.then(() => [
        document.querySelectorAll('.math').length,
        document.querySelectorAll('.math mjx-container').length,
        document.querySelectorAll('mjx-merror').length])""")
    math, rendered, errors = typeset
    assert math > 0 and rendered == math and errors == 0, (url, typeset)


@pytest.mark.slow
def test_in_a_browser_search_finds_the_gram_matrix(browser, served):
    page = browser.new_page()
    page.goto(served + "search.html?q=Gram+matrix")
    page.wait_for_selector("#search-results ul.search li")
    found = page.eval_on_selector_all("#search-results ul.search li a",
                                      "all => all.map(a => a.getAttribute('href'))")
    assert any("notebooks/02_style_reconstruction.html" in href for href in found), found


@pytest.mark.slow
def test_screenshots_for_the_note(browser, served):
    """The home page, notebook 02 (its top, and its first figure with the equations above it),
    and the library's reference."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    shots = {"home": "index.html", "notebook-02": "notebooks/02_style_reconstruction.html",
             "reference": "reference/method.html"}
    for name, path in shots.items():
        page.goto(served + path)
        page.wait_for_function("() => !window.MathJax || MathJax.startup?.promise")
        page.evaluate("window.MathJax ? MathJax.startup.promise : null")
        page.screenshot(path=SCREENSHOTS / f"{name}.png")
        if name == "notebook-02":
            figure = page.locator(".cell_output img").first
            figure.scroll_into_view_if_needed()
            page.screenshot(path=SCREENSHOTS / "notebook-02-figure.png")
    assert all((SCREENSHOTS / f"{name}.png").stat().st_size > 10_000 for name in shots)

"""The course's website (`make site`; .github/workflows/pages.yml publishes it): Sphinx settings.

The pages are built from what is committed, never re-run: the executed solution notebooks (their
outputs are the figures), the README (included in parts) and the library's docstrings. The site
is public, so a notebook page is the student version of its notebook, as `nst assign` writes it,
with the outputs of every cell that is not a solution put back.
"""

import re
import shutil
import sys
import tomllib
from importlib import resources
from pathlib import Path

import nbformat
from sphinx.ext.napoleon import Config as NapoleonConfig
from sphinx.ext.napoleon.docstring import GoogleDocstring

ROOT = Path(__file__).resolve().parent.parent
# Document this checkout's library, whichever copy of nst the environment has installed.
sys.path.insert(0, str(ROOT))

from nst_utils.grader.release import make_student_version  # noqa: E402

REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
COLAB = REPOSITORY.replace("https://github.com/", "https://colab.research.google.com/github/")

project = "nst"
html_title = "nst: learn neural style transfer by building it"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinxarg.ext"]

# notebooks/ is a link to the repository's notebooks folder; only the four chapters are pages
# (the student versions are downloads, the rest is not part of the site).
include_patterns = ["*.md", "reference/*.md", "notebooks/[0-9][0-9]_*.ipynb"]

nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 2
# Docstrings write `name` for a name of the library: make it a link where Sphinx knows the name.
default_role = "py:obj"
autodoc_member_order = "bysource"
# Functions list their arguments Google-style ("Args:"; style_transfer: "Keyword options:"). The
# napoleon extension would also read a constant's "#: name: text" comment as "type: text".
GOOGLE_STYLE = NapoleonConfig(napoleon_custom_sections=[("Keyword options", "params_style")])

html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": REPOSITORY,
    "use_repository_button": True,
    # The theme's download button offers a page's source file, which for a notebook page is the
    # solution notebook: each notebook page has its own links instead (see `chapter_page`).
    "use_download_button": False,
    "show_toc_level": 2,
}
html_copy_source = False
html_show_sourcelink = False
# The theme links neither index; the search box and the reference pages take their place.
html_use_index = False
html_domain_indices = False

# MathJax from the wheel of django-static-mathjax (MathJax 3, as the files MathJax publishes, with
# no dependency): the equations render with no request to a CDN, so the site works offline and
# the browser test sees what readers see.
MATHJAX = resources.files("mathjax") / "static" / "mathjax" / "es5"
MATHJAX_FILES = ["tex-chtml.js", "output/chtml/fonts/woff-v2"]  # the script and its fonts
mathjax_path = "mathjax/tex-chtml.js"


def chapter_page(app, docname, source):
    """A notebook's page: its student version with the solution notebook's outputs, but none of a
    solution cell's, and links to open and download both versions."""
    if not docname.startswith("notebooks/"):
        return
    solution = nbformat.reads(source[0], as_version=4)
    page = make_student_version(solution)
    # By cell id: the student version leaves some cells out (the claim cells).
    run = {cell.get("id"): cell for cell in solution.cells}
    for shown in page.cells:
        cell = run[shown.get("id")]
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("solution"):
            shown.outputs, shown.execution_count = cell.outputs, cell.execution_count
    name = Path(docname).name + ".ipynb"
    solutions = f"[in Colab]({COLAB}/blob/main/notebooks/{name}) · " \
                f"[download]({REPOSITORY}/raw/main/notebooks/{name})"
    if (ROOT / "notebooks" / "student" / name).is_file():
        links = (f"**Exercises**: [in Colab]({COLAB}/blob/main/notebooks/student/{name}) · "
                 f"[download](path:student/{name}). **With solutions**: {solutions}.")
    else:
        links = f"**This notebook** (no exercises): {solutions}."
    page.cells.insert(1, nbformat.v4.new_markdown_cell(links))
    source[0] = nbformat.writes(page)


def google_style(app, what, name, obj, options, lines):
    if what in ("function", "method", "class"):
        lines[:] = GoogleDocstring(lines, GOOGLE_STYLE, app, what, name, obj, options).lines()


def readme_links(app, relative_path, parent_docname, content):
    """The README's links to files of the repository, which the site does not hold, lead to
    those files on the repository's site; its links within itself stay."""
    if relative_path.name == "README.md":
        content[0] = re.sub(r"\]\((?!https?://|#)([^)\s]+)\)",
                            rf"]({REPOSITORY}/blob/main/\1)", content[0])


def copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        for name in MATHJAX_FILES:
            target = Path(app.outdir) / "_static" / "mathjax" / name
            with resources.as_file(MATHJAX / name) as found:
                if found.is_dir():
                    shutil.copytree(found, target, dirs_exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(found, target)


def setup(app):
    app.connect("source-read", chapter_page)
    app.connect("include-read", readme_links)
    app.connect("autodoc-process-docstring", google_style)
    app.connect("build-finished", copy_mathjax)

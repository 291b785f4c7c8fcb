# The two commands of README.md, `make demo` and `make test`, and `make site`, the course as a
# website. Each sets itself up: a project-local virtual environment (.venv), the package and its
# pinned-range dependencies, and (demo, test) the VGG weights. Second runs reuse all three. The
# extra `cpu` brings TensorFlow's small CPU build (pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SITE := build/site

.PHONY: demo test test-fast lint weights lab site test-jax test-torch

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[cpu,test]"
	touch $@

weights: $(INSTALLED)
	$(BIN)/nst weights

demo: weights
	$(BIN)/nst transfer

# The linter first (ruff, [tool.ruff] in pyproject.toml), then every test and notebook, in two
# pytest-xdist workers, each taking whole files (a notebook's cells share one kernel, a module's
# fixtures its sandboxes): much of the suite waits on subprocesses (sandboxes, kernels, nbgrader),
# so two workers finish sooner than one on two cores.
test: weights
	$(BIN)/ruff check .
	NST_QUICK=1 $(BIN)/python -m pytest -n 2 --dist loadfile

# The fast lane, for the edit-test loop: every test not marked slow (the sandboxes and the red
# team, nbgrader, otter-grader, the wheel, the website and the notebooks' cells), in under two
# minutes on two cores; pytest's last line gives the suite's time, and the slowest tests above it
# say what to mark slow next.
test-fast: weights
	NST_QUICK=1 $(BIN)/python -m pytest -m "not slow" --durations=5

lint: $(INSTALLED)
	$(BIN)/ruff check .

# Jupyter refuses to run as root (containers, hosted machines) unless told to.
lab: weights
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[cpu,test,lab]"
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

# The course's website (site/conf.py) into $(SITE)/html, from the committed notebooks, the README
# and the docstrings, running nothing; any warning fails it. The extra `site` comes with `test`,
# whose browser test builds the site too. .github/workflows/pages.yml publishes it.
site: $(INSTALLED)
	$(BIN)/python -m sphinx -q -W --keep-going -b html -d $(SITE)/doctrees site $(SITE)/html

# The unit tests and the notebooks (quick mode, strict nbval) on another Keras backend, each in a
# virtual environment of its own with no TensorFlow in it. CI runs test-jax after test. PyTorch's
# wheel from PyPI brings several GB of CUDA libraries, so test-torch is run by hand. Left out on
# those backends: the wheel and install tests, nbgrader and otter-grader (TensorFlow's own
# install; tools that do not depend on the backend), the red team (its attacks use
# TensorFlow's file API; it runs against the TensorFlow grader in `make test`), and the website
# (built from committed outputs; its tools are in the extra `site`, not `unit`).
OTHER_BACKEND_TESTS = --ignore=tests/test_install.py --ignore=tests/test_nbgrader.py \
	--ignore=tests/test_otter.py --ignore=tests/test_redteam.py --ignore=tests/test_site.py

.venv-%/.installed: pyproject.toml
	test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$*,unit]"
	touch $@

test-jax test-torch: test-%: .venv-%/.installed
	KERAS_BACKEND=$* .venv-$*/bin/nst weights
	KERAS_BACKEND=$* NST_QUICK=1 .venv-$*/bin/python -m pytest $(OTHER_BACKEND_TESTS)

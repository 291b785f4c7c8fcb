# The two commands of README.md: `make demo` and `make test`. Each sets itself up: a project-local
# virtual environment (.venv), the package and its pinned-range dependencies, and the VGG weights.
# Second runs reuse all three. The extra `cpu` brings TensorFlow's small CPU build (pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test weights lab

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[cpu,test]"
	touch $@

weights: $(INSTALLED)
	$(BIN)/nst weights

demo: weights
	$(BIN)/nst transfer

test: weights
	NST_QUICK=1 $(BIN)/python -m pytest

lab: weights
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[cpu,test,lab]"
	$(BIN)/jupyter lab notebooks/

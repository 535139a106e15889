# Two commands do everything on a fresh Debian or Ubuntu machine:
#   make demo   install what is missing, build the Linux guest, run armcheck on the built-in qemu target
#   make test   install what is missing, build the Linux guest, run the whole test suite
PYTHON ?= python3
VENV := .venv
ARMCHECK := $(VENV)/bin/armcheck

.PHONY: setup system venv guest demo test bench clean

setup: system venv guest

system:
	scripts/setup-system.sh

# Bytecode for armcheck's own modules: an editable install has none, and where
# PYTHONDONTWRITEBYTECODE is set, each command would compile them again.
venv: $(VENV)/.installed
	$(VENV)/bin/python -m compileall -q armcheck

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

guest: venv
	scripts/build-guest.sh

demo: setup
	$(ARMCHECK) run qemu-virt

test: setup
	$(VENV)/bin/pytest -q

clean:
	rm -rf $(VENV) build runs

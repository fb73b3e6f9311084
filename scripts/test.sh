#!/usr/bin/env bash
# Install vlgym with the dev extras and every simulator family (and vLLM in .venv-vllm), check style, and run the
# full test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Python writes each module's bytecode on first import and reuses it (pip installs with --no-compile): a
# PYTHONDONTWRITEBYTECODE left set by the environment would make every process, vLLM's engine processes
# and the workers included, compile all it imports from source again.
unset PYTHONDONTWRITEBYTECODE
bash scripts/install.sh dev,miniworld,alfworld,webshop,agents,record,remote,ray,vllm  # vllm: .venv-vllm, for tests_vllm/
bash scripts/base_venv.sh
.venv/bin/ruff check .
# Over every core (pytest-xdist), a test file's tests on one worker, files handed out in the order of
# tests/conftest.py (the longest first). `-n 0` runs serially; a plain `pytest tests/...` does too.
.venv/bin/python -m pytest tests -q -n logical --dist loadfile --no-loadscope-reorder "$@"

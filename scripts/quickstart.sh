#!/usr/bin/env bash
# Fresh machine -> results, on CPU, offline: install vlgym with the agents extra, then run the quickstart:
# build a tiny VLM, warm-start it on NumberLine expert demonstrations, train it with VL-DAC, evaluate it
# before and after on held-out seeds, and write outputs/quickstart/{report.md,learning_curve.png,episode.gif}.
set -euo pipefail
cd "$(dirname "$0")/.."
# Python writes each module's bytecode on first import and reuses it (pip installs with --no-compile): a
# PYTHONDONTWRITEBYTECODE left set by the environment would make every process, vLLM's engine processes
# and the workers included, compile all it imports from source again.
unset PYTHONDONTWRITEBYTECODE
bash scripts/install.sh agents
OMP_NUM_THREADS=1 .venv/bin/vlgym-train quickstart --output outputs/quickstart "$@"   # e.g. --seeds 5

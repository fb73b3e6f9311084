#!/usr/bin/env bash
# A second virtual environment, .venv-base, with `pip install vlgym` and no extras (no simulators, no torch):
# tests/test_extras.py makes envs there to check what a user without an extra is told.
# Rebuilt only when pyproject.toml or constraints.txt change.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv-base/installed-from
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ -x .venv-base/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  exit 0
fi
python=${PYTHON:-python3}
[ -x .venv-base/bin/python ] || "$python" -m venv .venv-base
log=.venv-base/pip-install.log
if ! .venv-base/bin/python -m pip install --no-compile -c constraints.txt . >"$log" 2>&1; then
  tail -40 "$log"
  echo "pip install failed (full log: $log)" >&2
  exit 1
fi
rm -rf build  # setuptools' build folder from the non-editable install
echo "$wanted" >"$stamp"
echo "base install (no extras) in .venv-base"

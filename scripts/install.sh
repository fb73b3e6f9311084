#!/usr/bin/env bash
# Install vlgym into a project-local virtual environment (.venv), with the given extras.
#   bash scripts/install.sh            # the environments only (no torch)
#   bash scripts/install.sh dev        # + test tools (pytest, hypothesis, ruff, Stable-Baselines3)
#   bash scripts/install.sh dev,miniworld
#   bash scripts/install.sh agents,vllm    # + vLLM, in its own .venv-vllm (scripts/install_vllm.sh)
# Debian packages that a simulator family needs are installed with apt-get when missing (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
# vLLM pins its own torch: it goes to a second virtual environment (constraints-vllm.txt says why).
with_vllm=false
case ",$extras," in *,vllm,*) with_vllm=true ;; esac
extras=$(echo ",$extras," | sed -e 's/,vllm,/,/g' -e 's/^,//' -e 's/,$//')

# Debian packages per family (none needed for Gym-Cards).
apt_packages=()
case ",$extras," in
  *,miniworld,*|*,all,*)
    # Mesa's EGL + software rasteriser (headless rendering), GLU (MiniWorld's camera), Xvfb as the fallback.
    apt_packages+=(libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libglu1-mesa xvfb xauth) ;;
esac
case ",$extras," in
  *,webshop,*|*,all,*)
    # Headless Chromium and its WebDriver (WebShop's browser renderer), and the fonts its pages use.
    apt_packages+=(chromium chromium-driver fonts-dejavu-core) ;;
esac
case ",$extras," in
  *,alfworld,*|*,all,*)
    # fast-downward-textworld (ALFWorld's planner, through textworld[pddl]) has no wheel: pip compiles it.
    apt_packages+=(cmake g++ make) ;;
esac
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
target="."
[ -n "$extras" ] && target=".[$extras]"
# One constraints file pins what must be pinned (torch/torchvision pair, gymnasium). --no-compile: pip would
# byte-compile every file of torch's CUDA build (more than half the install's time); Python compiles what is
# imported, once, on first use (scripts/test.sh and quickstart.sh make sure it may write the bytecode).
log=.venv/pip-install.log
if ! .venv/bin/python -m pip install --no-compile -c constraints.txt -e "$target" >"$log" 2>&1; then
  grep -v "^WARNING: Location" "$log" | tail -40
  echo "pip install failed (full log: $log)" >&2
  exit 1
fi
.venv/bin/python -c "import vlgym; print('vlgym', vlgym.__version__, 'installed with', len(vlgym.list_envs()), 'env ids')"
if $with_vllm; then
  bash scripts/install_vllm.sh
fi

#!/usr/bin/env bash
# Fresh machine -> results: install vlgym, then evaluate the expert and random agents on every Gym-Cards id,
# print the table, and write outputs/quickstart/{results.json,first_frames.png}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
out=outputs/quickstart
mkdir -p "$out"
.venv/bin/vlgym eval --family cards --agent expert --agent random --episodes 200 \
  --output "$out/results.json" --contact-sheet "$out/first_frames.png"

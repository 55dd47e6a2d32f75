#!/usr/bin/env bash
# Build the bot's venv with the base install (no torch: ~380 MB) inside Toolforge's python3.11 image:
#   toolforge jobs run bootstrap-venv --image python3.11 --wait 900 \
#       --command "$HOME/commons-nsfw-bot/deploy/toolforge/bootstrap-venv.sh"
# Run it again after every `git pull`. The venv must be built in the image the jobs use
# (the bastion's Python differs), hence a job rather than a shell on the bastion.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv --clear .venv
.venv/bin/python -m pip install -q --upgrade pip
# [mariadb]: ToolsDB's driver. No other extra: torch would not fit a 512 MiB job.
.venv/bin/python -m pip install -q '.[mariadb]'
.venv/bin/python -c "import importlib.util as u, sys; sys.exit('torch' if u.find_spec('torch') else 0)"
echo "bootstrap-venv: $(du -sh .venv | cut -f1) in $PWD/.venv"

#!/usr/bin/env bash
# `python -m bot "$@"` as a Toolforge job runs it: the tool's pywikibot config and bot.toml,
# the venv from bootstrap-venv.sh, and MALLOC_ARENA_MAX=2 (flat RSS; docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYWIKIBOT_DIR="${PYWIKIBOT_DIR:-$HOME/.pywikibot}"
export NSFWBOT_CONFIG="${NSFWBOT_CONFIG:-$HOME/bot.toml}"
export MALLOC_ARENA_MAX=2
exec .venv/bin/python -m bot "$@"

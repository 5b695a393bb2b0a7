#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need when it is missing
# (zsh, fish, dash, tmux, shellcheck, elvish from Debian; moto's server, the aws CLI and boto3 from PyPI), then runs
# `cargo test`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for tool in zsh fish dash tmux shellcheck elvish; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@"; }
command -v moto_server >/dev/null 2>&1 || pip_install 'moto[server]'
command -v aws >/dev/null 2>&1 || pip_install awscli
python3 -c 'import boto3' >/dev/null 2>&1 || pip_install boto3
# pyenv installs put new commands behind shims that need a rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi

exec cargo test --locked "$@"

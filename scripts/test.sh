#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need when it is missing
# (zsh, fish, dash, tmux, shellcheck, elvish, chromium, curl for the sign-in tests' browser,
# and gnome-keyring, libsecret-tools, dbus and xvfb for the keyring tests, from Debian; moto's
# server, the aws CLI and boto3 from PyPI; nushell from npm; at pinned versions), checks the
# formatting and the lints, then runs `cargo test`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for tool in zsh fish dash tmux shellcheck elvish npm curl chromium; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# The OS keyring tests (tests/it/keys.rs): a private D-Bus session with gnome-keyring's
# Secret Service, secret-tool to read it back, and an X display nobody looks at for the
# unlock prompt that is never answered. Program, then the Debian package that has it.
keyring=()
for pair in gnome-keyring-daemon:gnome-keyring secret-tool:libsecret-tools \
  dbus-daemon:dbus-daemon dbus-run-session:dbus-bin Xvfb:xvfb; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || keyring+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ] || [ ${#keyring[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${missing[*]} ${keyring[*]}" >&2
  as_root apt-get update -qq
  apt_install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  if [ ${#keyring[@]} -gt 0 ]; then apt_install --no-install-recommends "${keyring[@]}"; fi
fi

# The Python tools the tests run, pinned: a new release of any of them must not change what
# the tests see.
PYPI_PINS=('moto[server]==5.2.1' 'awscli==1.45.11' 'boto3==1.43.11')
pinned() { # package version: is exactly that version installed?
  [ "$(python3 -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null)" = "$2" ]
}
if ! pinned moto 5.2.1 || ! pinned awscli 1.45.11 || ! pinned boto3 1.43.11; then
  echo "scripts/test.sh: installing ${PYPI_PINS[*]}" >&2
  python3 -m pip install --quiet --disable-pip-version-check "${PYPI_PINS[@]}"
fi
# pyenv installs put new commands behind shims that need a rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi

# nushell: the official release binary from the npm registry's `nushell` package, pinned
# (tests/it/common/shells.rs NU_VERSION), in .tools/nu, which git ignores. The package's own
# .bin/nu is a node wrapper; the tests run the binary itself.
NU_VERSION=0.115.1
nu_bin() {
  for d in "$PWD"/.tools/nu/node_modules/@nushell/*/bin; do
    if [ -x "$d/nu" ]; then echo "$d"; return; fi
  done
}
if [ "$("$(nu_bin)/nu" --version 2>/dev/null)" != "$NU_VERSION" ]; then
  echo "scripts/test.sh: installing nushell $NU_VERSION into .tools/nu" >&2
  mkdir -p .tools/nu
  npm install --prefix .tools/nu --no-save --no-package-lock --no-audit --no-fund \
    --loglevel=error "nushell@$NU_VERSION"
fi
if [ -z "$(nu_bin)" ]; then
  echo "scripts/test.sh: nushell $NU_VERSION is not in .tools/nu after npm install" >&2
  exit 1
fi
PATH="$(nu_bin):$PATH"
export PATH

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
exec cargo test --locked "$@"

#!/usr/bin/env bash
# Regenerates the checked-in completion scripts from the binary (tests/completions.rs fails
# when they differ from what `stsenv completions` prints).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/stsenv
"$bin" completions bash >completions/stsenv.bash
"$bin" completions zsh >completions/_stsenv
"$bin" completions fish >completions/stsenv.fish
"$bin" completions powershell >completions/_stsenv.ps1
"$bin" completions elvish >completions/stsenv.elv
"$bin" completions nu >completions/stsenv.nu

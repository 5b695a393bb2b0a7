#!/usr/bin/env bash
# Benchmarks stsenv against the one-liner it replaces, whole-process, on one machine in one
# run, with moto on loopback as the STS. Installs hyperfine, jq, GNU time, gnome-keyring,
# libsecret-tools and dbus-bin (Debian) and moto and the aws CLI (PyPI) when missing. Prints a Markdown table and writes it, with the
# raw hyperfine JSON, to target/bench/.
#   scripts/bench.sh            # 30 runs per command
#   RUNS=100 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-30}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v script >/dev/null || missing+=(bsdutils)
command -v jq >/dev/null || missing+=(jq)
[ -x /usr/bin/time ] || missing+=(time)
# `keys export` against a real Secret Service: gnome-keyring on a private session bus.
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
command -v secret-tool >/dev/null || missing+=(libsecret-tools)
command -v dbus-run-session >/dev/null || missing+=(dbus-bin)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
command -v aws >/dev/null || python3 -m pip install --quiet awscli
if command -v pyenv >/dev/null; then pyenv rehash || true; fi

cargo build --release --locked --quiet
bin=$PWD/target/release/stsenv
out=$PWD/target/bench
mkdir -p "$out"

work=$(mktemp -d)
. scripts/lib/moto.sh

# An isolated HOME, config and environment: nothing of the real ~/.aws is read.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p')
export HOME=$work AWS_CONFIG_FILE=$work/config AWS_SHARED_CREDENTIALS_FILE=$work/credentials
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
printf '[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$AWS_SHARED_CREDENTIALS_FILE"
role=arn:aws:iam::123456789012:role/bench
profile='[profile bench]
role_arn = arn:aws:iam::123456789012:role/bench
source_profile = base
region = us-east-1
'
printf '%s' "$profile" >"$AWS_CONFIG_FILE"
# The same profile at the end of a 7,000-line config.
{
  for i in $(seq 0 1398); do
    printf '[profile p%04d]\nrole_arn = arn:aws:iam::123456789012:role/r%d\nsource_profile = base\nregion = eu-west-1\n\n' "$i" "$i"
  done
  printf '%s' "$profile"
} >"$work/big-config"
aws iam create-role --role-name bench --query Role.Arn --output text \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}' >/dev/null

jq_filter='.Credentials | "export AWS_ACCESS_KEY_ID=\(.AccessKeyId)\nexport AWS_SECRET_ACCESS_KEY=\(.SecretAccessKey)\nexport AWS_SESSION_TOKEN=\(.SessionToken)"'
network=(
  -n "stsenv assume <role ARN>" "$bin assume $role --shell bash --no-cache"
  -n "aws sts assume-role | jq" "aws sts assume-role --role-arn $role --role-session-name bench | jq -r '$jq_filter'"
)
if aws configure export-credentials --help >/dev/null 2>&1; then
  network+=(-n "aws configure export-credentials" "aws configure export-credentials --profile bench")
fi
hyperfine --style basic --warmup 2 --runs "$runs" --export-json "$out/network.json" "${network[@]}" >&2

"$bin" assume bench --shell bash >/dev/null # fills the cache
hyperfine --style basic -N --warmup 5 --runs $((runs * 3)) --export-json "$out/local.json" \
  -n "stsenv assume <profile> (cache hit)" "$bin assume bench --shell bash" \
  -n "stsenv init bash" "$bin init bash" \
  -n "stsenv completions bash" "$bin completions bash" \
  -n "stsenv profiles --names" "$bin profiles --names" >&2
AWS_CONFIG_FILE=$work/big-config "$bin" assume bench --shell bash >/dev/null
AWS_CONFIG_FILE=$work/big-config hyperfine --style basic -N --warmup 5 --runs $((runs * 3)) \
  --export-json "$out/big.json" \
  -n "stsenv assume <profile> (cache hit, 7,000-line config)" "$bin assume bench --shell bash" \
  -n "stsenv profiles --names (7,000-line config)" "$bin profiles --names" >&2

# The picker's first frame, on a real terminal (a 200x50 tmux pane: under script(1) with no
# terminal behind it the pane is 0x0 and the picker draws nothing), on the 7,000-line config
# and on one of 100,000 profiles (a third of them SSO profiles as sso sync writes them).
python3 - "$work/huge-config" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(100000):
        if i % 3 == 0:
            f.write(f"[profile acct{i:06d}.Admin]\nsso_session = corp\nsso_account_id = {100000000000 + i}\nsso_role_name = Admin\nregion = us-east-1\nstsenv_generated_from = corp\n\n")
        else:
            f.write(f"[profile p{i:06d}]\nrole_arn = arn:aws:iam::123456789012:role/r{i}\nsource_profile = base\nregion = eu-west-1\n\n")
    f.write("[sso-session corp]\nsso_start_url = https://bench.awsapps.com/start\nsso_region = us-east-1\n")
PY
command -v tmux >/dev/null || as_root apt-get install -y -qq tmux >/dev/null
picker_big=$(AWS_CONFIG_FILE=$work/big-config scripts/lib/picker_frame.sh "$bin" "$runs")
picker_huge=$(AWS_CONFIG_FILE=$work/huge-config scripts/lib/picker_frame.sh "$bin" "$runs")

# A slow credential_process (half a second, as a helper that asks for a touch might be):
# stsenv from its cache, against the helper itself (what the AWS CLI pays on every call).
cat >"$work/slow-helper" <<'SH'
#!/bin/sh
sleep 0.5
printf '{"Version": 1, "AccessKeyId": "ASIASLOW", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "%s"}\n' "$(date -u -d +8hours +%Y-%m-%dT%H:%M:%SZ)"
SH
chmod +x "$work/slow-helper"
printf '%s\n[profile slow]\ncredential_process = %s\n' "$profile" "$work/slow-helper" >"$work/slow-config"
AWS_CONFIG_FILE=$work/slow-config "$bin" assume slow --shell bash >/dev/null
AWS_CONFIG_FILE=$work/slow-config hyperfine --style basic -N --warmup 2 --runs 10 --export-json "$out/process.json" \
  -n "the helper itself" "sh -c 'sleep 0.5'" \
  -n "stsenv assume <credential_process profile> (cache hit)" "$bin assume slow --shell bash" >&2

# stsenv sso sync over 1,000 accounts x 3 roles, against a fake portal on loopback.
sso_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 scripts/lib/fake_sso.py "$sso_port" 1000 3 >"$work/sso.log" 2>&1 &
sso_pid=$!
trap 'kill $moto_pid $sso_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $sso_port), 1)" 2>/dev/null && break; sleep 0.1; done
mkdir -p "$work/.aws/sso/cache"
sso_config=$work/sso-config
printf '[sso-session bench]\nsso_start_url = https://bench.awsapps.com/start\nsso_region = us-east-1\n' >"$sso_config"
token_file=$work/.aws/sso/cache/$(printf %s bench | sha1sum | cut -c1-40).json
printf '{"startUrl": "https://bench.awsapps.com/start", "region": "us-east-1", "accessToken": "bench", "expiresAt": "%s"}' \
  "$(date -u -d '+8 hours' +%Y-%m-%dT%H:%M:%SZ)" >"$token_file"
chmod 600 "$token_file"
sso_env=(env AWS_CONFIG_FILE="$sso_config" AWS_ENDPOINT_URL_SSO="http://127.0.0.1:$sso_port")
/usr/bin/time -f %e -o "$out/sync-first.txt" "${sso_env[@]}" "$bin" sso sync bench >/dev/null 2>&1
first_sync=$(tail -n 1 "$out/sync-first.txt")
grep -c '^\[profile ' "$sso_config" >"$out/sync-profiles.txt"
"${sso_env[@]}" hyperfine --style basic -N --warmup 1 --runs 10 --export-json "$out/sync.json" \
  -n "stsenv sso sync (1,000 accounts x 3 roles, up to date)" "$bin sso sync bench" >&2

# BASELINE=/path/to/an/older/stsenv: the same runs of it beside this build.
if [ -n "${BASELINE:-}" ]; then
  "$BASELINE" assume bench --shell bash >/dev/null
  hyperfine --style basic -N --warmup 3 --runs "$runs" --export-json "$out/baseline.json" \
    -n "baseline: assume <role ARN>" "$BASELINE assume $role --shell bash --no-cache" \
    -n "this: assume <role ARN>" "$bin assume $role --shell bash --no-cache" \
    -n "baseline: cache hit" "$BASELINE assume bench --shell bash" \
    -n "this: cache hit" "$bin assume bench --shell bash" >&2
fi

# stsenv keys export: what every AWS tool runs for a profile whose keys are in the OS keyring
# (credential_process), against gnome-keyring on a private bus with a throw-away collection,
# beside secret-tool's own lookup of the same item.
# shellcheck disable=SC2016
AWS_CONFIG_FILE=$work/keyring-config scripts/lib/keyring-session.sh "$work/keyring" \
  env STSENV="$bin" RUNS="$runs" OUT="$out" bash -c '
  "$STSENV" keys add bench-keys --from-env 2>/dev/null
  hyperfine --style basic -N --warmup 5 --runs $((RUNS * 3)) --export-json "$OUT/keyring.json" \
    -n "stsenv keys export" "$STSENV keys export bench-keys" \
    -n "secret-tool lookup" "secret-tool lookup service stsenv username bench-keys"' >&2

size=$(stat -c %s "$bin")
# The size of the BASELINE binary, beside this one's.
base_size=
if [ -n "${BASELINE:-}" ]; then base_size=$(stat -c %s "$BASELINE"); fi
peak=0
for _ in 1 2 3 4 5; do
  kb=$(/usr/bin/time -f %M "$bin" assume "$role" --shell bash --no-cache 2>&1 >/dev/null | tail -n 1)
  [ "$kb" -gt "$peak" ] && peak=$kb
done

ms() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$out/$1.json"; }
net_stsenv=$(ms network "stsenv assume <role ARN>")
net_aws=$(ms network "aws sts assume-role | jq")
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "yes" : "**no**" }'; }
row() { printf '| %s | %.2f ms | %s | %s |\n' "$1" "$2" "$3" "$(verdict "$2" "$4")"; }
{
  echo "| what (whole process, median of $runs+ runs) | time | target | met |"
  echo "|---|---|---|---|"
  row "stsenv assume \<role ARN\> (AssumeRole to moto)" "$net_stsenv" "≥ 50× faster than aws \| jq" "$(awk -v a="$net_aws" 'BEGIN { print a / 50 }')"
  printf '| aws sts assume-role \\| jq (the same call) | %.2f ms | | |\n' "$net_aws"
  if grep -q export-credentials "$out/network.json"; then
    printf '| aws configure export-credentials | %.2f ms | | |\n' "$(ms network "aws configure export-credentials")"
  fi
  printf '| **ratio** | **%.0f×** | ≥ 50× | %s |\n' "$(awk -v a="$net_aws" -v s="$net_stsenv" 'BEGIN { print a / s }')" \
    "$(awk -v a="$net_aws" -v s="$net_stsenv" 'BEGIN { print (a / s >= 50) ? "yes" : "**no**" }')"
  row "stsenv assume \<profile\> from the cache" "$(ms local "stsenv assume <profile> (cache hit)")" "≤ 2 ms" 2
  row "stsenv init bash" "$(ms local "stsenv init bash")" "≤ 2 ms" 2
  row "stsenv completions bash" "$(ms local "stsenv completions bash")" "" 1000
  row "stsenv profiles --names" "$(ms local "stsenv profiles --names")" "" 1000
  row "stsenv assume \<profile\> from the cache, 7,000-line config" "$(ms big "stsenv assume <profile> (cache hit, 7,000-line config)")" "≤ 10 ms" 10
  row "stsenv profiles --names, 7,000-line config" "$(ms big "stsenv profiles --names (7,000-line config)")" "< 50 ms" 50
  row "the picker's first frame in tmux, 7,000-line config (start, read, rank, draw)" "$picker_big" "≤ 50 ms" 50
  row "the picker's first frame in tmux, 100,000 profiles" "$picker_huge" "≤ 500 ms" 500
  row "stsenv assume \<credential_process profile\> from its cache" "$(ms process "stsenv assume <credential_process profile> (cache hit)")" "≤ 2 ms" 2
  printf '| a 0.5 s credential_process helper, run (what the AWS CLI pays on every call) | %.2f ms | | |\n' "$(ms process "the helper itself")"
  printf '| stsenv sso sync, 1,000 accounts x 3 roles, first run (%s profiles written) | %.0f ms | | |\n' "$(cat "$out/sync-profiles.txt")" "$(awk -v s="$first_sync" 'BEGIN { print s * 1000 }')"
  row "stsenv sso sync, 1,000 accounts x 3 roles, up to date" "$(ms sync "stsenv sso sync (1,000 accounts x 3 roles, up to date)")" "" 100000
  row "stsenv keys export (credential_process from gnome-keyring)" "$(ms keyring "stsenv keys export")" "≤ 20 ms" 20
  printf '| secret-tool lookup of the same item | %.2f ms | | |\n' "$(ms keyring "secret-tool lookup")"
  printf '| release binary size | %.2f MB | ≤ 7 MB | %s |\n' "$(awk -v b="$size" 'BEGIN { print b / 1e6 }')" \
    "$(awk -v b="$size" 'BEGIN { print (b <= 7e6) ? "yes" : "**no**" }')"
  if [ -n "$base_size" ]; then
    printf '| release binary size of BASELINE | %.2f MB | | |\n' "$(awk -v b="$base_size" 'BEGIN { print b / 1e6 }')"
  fi
  printf '| peak memory of an assume (max RSS) | %.1f MB | ≤ 15 MB | %s |\n' "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" \
    "$(awk -v k="$peak" 'BEGIN { print (k <= 15 * 1024) ? "yes" : "**no**" }')"
  echo
  echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(uname -sr); $(hyperfine --version), $(aws --version 2>&1 | cut -d' ' -f1), $(date -u +%Y-%m-%d)."
} | tee "$out/results.md"

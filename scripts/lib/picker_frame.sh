#!/usr/bin/env bash
# The picker's first frame on a real terminal: a 200x50 tmux pane runs `stsenv assume` RUNS
# times with the bench hook STSENV_PICKER_FIRST_FRAME_ONLY (the picker stops once its first
# frame is drawn) and times each whole process, start to exit, with the pane's own clock.
# Prints the median in milliseconds. The environment (AWS_CONFIG_FILE, HOME…) is the
# caller's.
#   scripts/lib/picker_frame.sh BIN RUNS
set -euo pipefail
bin=$1 runs=${2:-20}
dir=$(mktemp -d)
sock=$dir/tmux.sock
cat >"$dir/loop.sh" <<'LOOP'
bin=$1 runs=$2 out=$3
export STSENV_PICKER_FIRST_FRAME_ONLY=1
i=0
while [ "$i" -lt "$runs" ]; do
  a=$(date +%s%N)
  "$bin" assume -s bash >/dev/null 2>&1 || true
  b=$(date +%s%N)
  echo $(( (b - a) / 1000 )) >>"$out.tmp"
  i=$((i + 1))
done
mv "$out.tmp" "$out"
LOOP
tmux -S "$sock" new-session -d -x 200 -y 50 sh "$dir/loop.sh" "$bin" "$runs" "$dir/times"
while [ ! -e "$dir/times" ]; do sleep 0.05; done
tmux -S "$sock" kill-server 2>/dev/null || true
sort -n "$dir/times" | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f\n", m / 1000 }'
rm -rf "$dir"

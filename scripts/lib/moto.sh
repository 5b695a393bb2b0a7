# shellcheck shell=bash disable=SC2154
# Sourced by scripts/demo.sh and scripts/bench.sh: starts moto_server on a free loopback port
# in $work (which the caller created), stops it on exit, and waits until it answers.
# Sets moto_port.
moto_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 150); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "http://127.0.0.1:$moto_port/moto-api/" 2>/dev/null && break
  sleep 0.2
done

#!/usr/bin/env bash
# Runs COMMAND in a private D-Bus session bus with its own gnome-keyring-daemon serving the
# Secret Service, its keyrings in DIR (created; a throw-away "login" collection made and
# unlocked with a password of its own): no keyring of yours is touched. Used by
# scripts/bench.sh; needs gnome-keyring and dbus-bin (Debian).
#   scripts/lib/keyring-session.sh DIR COMMAND [ARGS...]
set -euo pipefail
dir=$1
shift
mkdir -p "$dir"/{home,data,config,cache,run}
chmod 700 "$dir/run"
export HOME=$dir/home XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/config \
  XDG_CACHE_HOME=$dir/cache XDG_RUNTIME_DIR=$dir/run KR_PASSWORD=throwaway-bench-password
# No display (so no unlock prompt can be shown) and no other session's keyring or bus.
unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL DBUS_SESSION_BUS_ADDRESS
cat >"$dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><keep_umask/><listen>unix:dir=$dir/run</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
<standard_session_servicedirs/></busconfig>
CONF
# shellcheck disable=SC2016
inner='printf %s "$KR_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1
exec "$@"'
dbus-run-session --config-file="$dir/bus.conf" -- sh -c "$inner" sh "$@" 2> >(grep -v 'Failed to set fd limit' >&2)

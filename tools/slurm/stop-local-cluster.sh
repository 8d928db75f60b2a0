#!/usr/bin/env bash
# Stops the cluster that start-local-cluster.sh started in DIR: cancels its jobs, stops slurmd,
# slurmctld and munged by the pids in DIR's pid files (never by name: other clusters and other
# users' daemons on the machine are left alone), then removes DIR unless --keep is given.
#
#   tools/slurm/stop-local-cluster.sh DIR [--keep]
set -uo pipefail

dir="${1:?usage: stop-local-cluster.sh DIR [--keep]}"
keep="${2:-}"
[ -f "$dir/slurm.conf" ] || { echo "stop-local-cluster: $dir holds no slurm.conf; nothing to stop" >&2; exit 0; }
export SLURM_CONF="$dir/slurm.conf"

scancel --full --quiet --user="$(id -un)" 2>/dev/null || true

stop_pidfile() {
    local file="$1" pid
    [ -f "$file" ] || return 0
    pid="$(cat "$file" 2>/dev/null)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
}
stop_pidfile "$dir/slurmd.pid"
stop_pidfile "$dir/slurmctld.pid"
stop_pidfile "$dir/munge/munged.pid"

if [ "$keep" != "--keep" ]; then rm -rf "$dir"; fi

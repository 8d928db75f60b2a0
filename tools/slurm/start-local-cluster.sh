#!/usr/bin/env bash
# Starts a throw-away single-node Slurm cluster (munged + slurmctld + slurmd) whose every file
# lives in one directory, for the sweep tests and for trying `runexp sweep submit` on a laptop.
#
#   tools/slurm/start-local-cluster.sh [DIR]      # DIR default: a new mktemp -d directory
#
# On success the last line of stdout is `export SLURM_CONF=DIR/slurm.conf`; every Slurm client
# (sbatch, squeue, sinfo, scontrol) reads that variable, so `eval "$(... | tail -1)"` points a
# shell at the cluster. Stop it with tools/slurm/stop-local-cluster.sh DIR.
#
# Needs root (slurmd runs jobs as their submitting user and must be able to switch to it) and
# the Debian packages slurm-wlm and munge (`make deps` installs them). Nothing outside DIR is
# written: munge's key, socket and log, slurm.conf, the state and spool directories, logs and
# pid files are all under DIR. No cgroup plugin is used (proctrack/linuxproc, task/none), so it
# works in containers without a cgroup hierarchy. Exit codes: 0 up and idle, 2 a prerequisite is
# missing (the message says which), 1 a daemon failed to start (its log is printed).
set -euo pipefail

fail() { echo "start-local-cluster: $1" >&2; exit "${2:-1}"; }

# The daemons outlive this script, so they must not hold any of the caller's descriptors: a
# caller reading our output through a pipe (Python's subprocess, Foundation's Process) would
# otherwise wait for an EOF that only comes when the cluster stops. Close everything above
# stderr here, and start each daemon with its stdio on its own log file.
for fd in /proc/$$/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

[ "$(id -u)" -eq 0 ] || fail "needs root (slurmd must run jobs as their user); run as root or use a real cluster" 2
for tool in munged mungekey slurmctld slurmd sinfo scontrol; do
    command -v "$tool" >/dev/null 2>&1 || fail "'$tool' not found; install the Debian packages slurm-wlm and munge (make deps does, as root)" 2
done

dir="${1:-$(mktemp -d /tmp/vitlab-slurm.XXXXXX)}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
chmod 0755 "$dir"
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 0700 "$dir/munge"

# Ports: a pair derived from the directory name, so two clusters (two test runs) on one machine
# do not collide; overridable for firewalled machines.
hash=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
ctld_port="${SLURMCTLD_PORT:-$((20000 + hash % 20000 * 2))}"
slurmd_port="${SLURMD_PORT:-$((ctld_port + 1))}"

# --- munge: its own key, socket and pid file ---------------------------------------------------
[ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
chmod 0400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
# --force: munged refuses root and /tmp-based paths (world-writable ancestors) without it.
munged --force --key-file="$dir/munge/munge.key" --socket="$socket" --pid-file="$dir/munge/munged.pid" \
       --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" </dev/null >>"$dir/log/munged.out" 2>&1 \
    || { cat "$dir/log/munged.out" >&2 2>/dev/null; cat "$dir/log/munged.log" >&2 2>/dev/null; fail "munged did not start"; }

# --- slurm.conf: this host, its real CPUs and memory ------------------------------------------
host="$(hostname -s)"
node="$(slurmd -C | head -1)"   # NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105
node="${node/NodeName=* CPUs/NodeName=$host CPUs}"
cat > "$dir/slurm.conf" <<CONF
# Written by tools/slurm/start-local-cluster.sh: one node, everything under $dir.
ClusterName=vitlab-local
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
LaunchParameters=use_interactive_step
# CPUs are the consumable: two 1-CPU array tasks share the node.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
ReturnToService=2
# Short timers: a test cluster should react in seconds, not minutes.
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=20
MessageTimeout=10
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

# -i: ignore any state from an earlier cluster in the same directory (a clean start).
slurmctld -i -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmctld.out" 2>&1 || { tail -20 "$dir/log/slurmctld.log" >&2 2>/dev/null; fail "slurmctld did not start"; }
slurmd -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmd.out" 2>&1 || { tail -20 "$dir/log/slurmd.log" >&2 2>/dev/null; fail "slurmd did not start"; }

# Wait for the node to register and become idle (a few seconds normally).
for _ in $(seq 1 60); do
    state="$(sinfo -h -n "$host" -o '%t' 2>/dev/null | head -1 || true)"
    if [ "$state" = "idle" ]; then
        echo "start-local-cluster: node $host idle (partition debug, ports $ctld_port/$slurmd_port, dir $dir)" >&2
        echo "export SLURM_CONF=$dir/slurm.conf"
        exit 0
    fi
    sleep 0.5
done
echo "start-local-cluster: node $host did not become idle within 30 s (state: '${state:-none}')" >&2
tail -20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 2>/dev/null || true
exit 1

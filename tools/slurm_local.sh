#!/usr/bin/env bash
# A one-node Slurm cluster on 127.0.0.1 for tests: everything (config, state, spool, logs, pid
# files) lives in DIR; nothing outside it is touched. The daemons run as the calling user (root
# here), without munge (auth/none).
#   tools/slurm_local.sh start DIR   # writes DIR/slurm.conf, starts slurmctld + slurmd, waits
#                                    # for the node to be idle; then: SLURM_CONF=DIR/slurm.conf sbatch …
#   tools/slurm_local.sh stop DIR    # scontrol shutdown, then the two daemons stopped by PID
set -euo pipefail
cmd=${1:-} dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
dir=$(cd "$dir" && pwd)
conf=$dir/slurm.conf
export SLURM_CONF=$conf

stop_pid() { # stop_pid FILE: TERM the process named in FILE, then KILL it after 5 s
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 0; }; kill "$pid" 2>/dev/null || true; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

case "$cmd" in
start)
  for t in slurmctld slurmd sbatch scontrol sinfo; do
    command -v "$t" >/dev/null || { echo "slurm_local: $t not found (apt-get install slurm-wlm)" >&2; exit 3; }
  done
  mkdir -p "$dir/state" "$dir/spool"
  port=$((20000 + RANDOM % 20000))
  cat > "$conf" <<EOF
ClusterName=upscaletest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MailProg=/bin/true
MinJobAge=3600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  slurmctld -D -f "$conf" >"$dir/slurmctld.out" 2>&1 &
  echo $! > "$dir/slurmctld.pid.own"
  slurmd -D -N localhost -f "$conf" >"$dir/slurmd.out" 2>&1 &
  echo $! > "$dir/slurmd.pid.own"
  for _ in $(seq 300); do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
    if [ "$state" = idle ]; then echo "slurm_local: node idle (config $conf)" >&2; exit 0; fi
    sleep 0.1
  done
  echo "slurm_local: the node did not become idle (state '${state:-}'); logs in $dir" >&2
  tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 1
  ;;
stop)
  [ -f "$conf" ] && timeout 10 scontrol shutdown >/dev/null 2>&1 || true
  stop_pid "$dir/slurmd.pid.own"
  stop_pid "$dir/slurmctld.pid.own"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

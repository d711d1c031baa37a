# shellcheck shell=bash
# Sourced by the Slurm tests: a private single-node Slurm cluster (munged + slurmctld + slurmd,
# Debian 12's packages) started as plain processes, without systemd, with every file under one
# folder. Nothing outside it is written: the daemons get their own slurm.conf (SLURM_CONF), munge
# key and socket, and free TCP ports, so the system's own /etc/slurm, /etc/munge and /run/munge
# are left alone and two of these clusters can run side by side.
#
#   cluster_install        installs slurmctld slurmd slurm-client munge when missing (as root)
#   cluster_up DIR CPUS    starts the daemons; exports SLURM_CONF; returns once the node is idle;
#                          every job's Open MPI session folder is DIR/mpi/job-<id> (TaskProlog)
#   cluster_down DIR       cancels the jobs, waits for them, stops the daemons by their PIDs

cluster_have_packages() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
        command -v sbatch >/dev/null && command -v munged >/dev/null
}

# Returns 1 (after saying why) when the packages are missing and cannot be installed.
cluster_install() {
    cluster_have_packages && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "cannot install slurmctld slurmd slurm-client munge: not root"
        return 1
    fi
    echo "installing slurmctld slurmd slurm-client munge"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }; then
        echo "apt-get could not install slurmctld slurmd slurm-client munge"
        return 1
    fi
    cluster_have_packages
}

cluster_port_taken() { (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A TCP port nobody listens on, and the one after it.
cluster_free_port_pair() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 20000))
        if ! cluster_port_taken "$port" && ! cluster_port_taken $((port + 1)); then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# Polls until "$@" succeeds, at most $1 tenths of a second.
cluster_poll() {
    local tenths=$1
    shift
    for _ in $(seq "$tenths"); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

cluster_munge_ok() {
    munge --socket="$1" -n 2>/dev/null | unmunge --socket="$1" >/dev/null 2>&1
}

cluster_controller_up() { scontrol ping 2>/dev/null | grep -q UP; }
cluster_no_jobs() { [ -z "$(squeue -h -o %i 2>/dev/null)" ]; }

cluster_node_up() {
    case "$(sinfo -h -N -o %T 2>/dev/null | head -n 1)" in
        idle* | mixed* | allocated*) return 0 ;;
    esac
    return 1
}

cluster_up() {
    local dir=$1 cpus=$2 host port socket
    host=$(hostname -s)
    mkdir -p "$dir"/{state,spool,log,run,munge,mpi}
    # Every job's Open MPI (mpirun, or ranks started by srun) keeps its session folder under
    # $dir/mpi/job-<id>: Open MPI 4 otherwise shares <TMPDIR>/ompi.<host>.<uid> between the
    # jobs that run side by side, and one job's cleanup can remove it while another creates it.
    cat >"$dir/task-prolog.sh" <<PROLOG
#!/bin/sh
echo "export OMPI_MCA_orte_tmpdir_base=$dir/mpi/job-\$SLURM_JOB_ID"
PROLOG
    chmod 755 "$dir/task-prolog.sh"
    chmod 0755 "$dir"
    socket=$dir/munge/munge.socket

    # munge: a key of our own; the daemon runs as user munge (setpriv execs, so $! is its PID)
    chown munge:munge "$dir/munge"
    chmod 0755 "$dir/munge"   # munged wants the socket folder executable by all
    mungekey --create --keyfile="$dir/munge/munge.key"
    chown munge:munge "$dir/munge/munge.key"
    chmod 0400 "$dir/munge/munge.key"
    setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground \
        --socket="$socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
        --seed-file="$dir/munge/munged.seed" --log-file="$dir/munge/munged.log" \
        >"$dir/log/munged.out" 2>&1 &
    echo $! >"$dir/run/munged.pid"
    cluster_poll 100 cluster_munge_ok "$socket" || {
        echo "munged did not start"; cat "$dir/log/munged.out"; return 1; }

    port=$(cluster_free_port_pair) || { echo "no free TCP port"; return 1; }
    export SLURM_CONF=$dir/slurm.conf
    cat >"$SLURM_CONF" <<CONF
ClusterName=distmf-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may start again this many seconds after its end (default 120)
AuthInfo=socket=$socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$dir/task-prolog.sh
MpiDefault=pmix
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=2,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=10
MinJobAge=300
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MailProg=/bin/true
# more CPUs than the machine has (a 2-core CI machine still runs 4 tasks)
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

    # the daemons in the foreground (-D), put in the background here so that we know their PIDs
    /usr/sbin/slurmctld -D -c -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
    echo $! >"$dir/run/slurmctld.daemon.pid"
    cluster_poll 100 cluster_controller_up || {
        echo "slurmctld did not start"; tail -n 20 "$dir/log/slurmctld.log"; return 1; }
    /usr/sbin/slurmd -D -f "$SLURM_CONF" -N "$host" >"$dir/log/slurmd.out" 2>&1 &
    echo $! >"$dir/run/slurmd.daemon.pid"
    cluster_poll 300 cluster_node_up || {
        echo "the node did not come up"
        tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" "$dir/log/slurmd.out"
        return 1
    }
}

# Stops a daemon by the PID in file $1: TERM, then KILL after 10 s.
cluster_stop_pid() {
    [ -s "$1" ] || return 0
    local pid
    pid=$(cat "$1")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$1"
}

cluster_down() {
    local dir=$1 ids
    export SLURM_CONF=$dir/slurm.conf
    # jobs first: a job still running when slurmd stops leaves slurmstepd and its tasks behind
    if [ -s "$dir/run/slurmctld.daemon.pid" ] &&
        kill -0 "$(cat "$dir/run/slurmctld.daemon.pid")" 2>/dev/null; then
        ids=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086
            scancel $ids 2>/dev/null || true
            cluster_poll 300 cluster_no_jobs || true
        fi
    fi
    cluster_stop_pid "$dir/run/slurmd.daemon.pid"
    cluster_stop_pid "$dir/run/slurmctld.daemon.pid"
    cluster_stop_pid "$dir/run/munged.pid"
}

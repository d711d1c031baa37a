# shellcheck shell=bash
# Sourced by the Slurm tests (slurm_test.sh, tune_slurm_test.sh): what each of them does around
# its jobs. harness_start brings up a private cluster (cluster.sh) in a temporary folder and
# works in its work/ subfolder; at exit the cluster is taken down, and when the test failed the
# jobs' logs are printed first. Prints "SKIPPED: ..." and exits 77 when it cannot run a cluster
# (not root, no packages).
#
#   harness_start NAME DISTMF_BINARY SOURCE_DIR CPUS   sets distmf, source_dir and dir
#   fail WHY / check DESCRIPTION COMMAND...            the test's verdicts
#   gone JOB / field JOB NAME / has FILE REGEX         what Slurm and the logs say
#   wait_for_all_jobs DEADLINE                         until no job is left (fails at DEADLINE s)
#
# DISTMF_SLURM_TEST_KEEP=1 keeps the temporary folder (daemon logs, job outputs) afterwards.

skip() {
    echo "SKIPPED: $*"
    exit 77
}

fail() {
    echo "FAILED: $*"
    exit 1
}

check() {  # check DESCRIPTION COMMAND...: the test fails with DESCRIPTION unless COMMAND succeeds
    local what=$1
    shift
    "$@" || fail "$what"
    echo "ok: $what"
}

# shellcheck disable=SC2317  # run by the EXIT trap
harness_finish() {
    local status=$?
    set +e
    if [ "$status" -ne 0 ]; then
        for log in "$dir"/work/*.out "$dir"/log/slurmctld.log "$dir"/log/slurmd.log; do
            [ -f "$log" ] || continue
            echo "---- $log (without progress lines)"
            grep -vE '^(iter |checkpoint )' "$log" | tail -n 40
        done
    fi
    cluster_down "$dir"
    if [ "${DISTMF_SLURM_TEST_KEEP:-0}" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
    echo "$harness_name: $([ "$status" -eq 0 ] && echo passed || echo FAILED) in $SECONDS s"
}

harness_start() {
    harness_name=$1
    # shellcheck disable=SC2034  # for the test that sources this
    distmf=$(realpath "$2")
    source_dir=$(realpath "$3")
    [ "$(id -u)" -eq 0 ] ||
        skip "the Slurm test starts slurmctld, slurmd and munged: run it as root"
    # shellcheck source-path=SCRIPTDIR source=cluster.sh
    source "$source_dir/tests/slurm/cluster.sh"
    cluster_install ||
        skip "slurmctld slurmd slurm-client munge are missing and could not be installed"
    for tool in h5diff python3 setpriv mungekey; do
        command -v "$tool" >/dev/null || fail "no $tool (scripts/install-deps.sh)"
    done
    # A Slurm job around this test (a developer's salloc) must not leak into the jobs it submits.
    while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SRUN)_' ||
        true)
    dir=$(mktemp -d /tmp/distmf-slurm-test.XXXXXX)
    trap harness_finish EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    cluster_up "$dir" "$4" || fail "could not bring up Slurm"
    echo "Slurm is up after $SECONDS s ($4 CPUs declared on a $(nproc)-core machine)"
    mkdir "$dir/work"
    cd "$dir/work" || fail "no $dir/work"
    source "$source_dir/scripts/mpi-env.sh"  # Open MPI as root; sbatch passes the environment on
}

gone() { [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; }
field() { scontrol show job "$1" | grep -oE "(^| )$2=[^ ]*" | head -n 1 | cut -d= -f2; }
has() { grep -qE "$2" "$1"; }

wait_for_all_jobs() {
    while [ -n "$(squeue -h -o %i 2>/dev/null)" ]; do
        [ $SECONDS -lt "$1" ] || fail "timed out waiting for the jobs to end: $(squeue)"
        sleep 0.2
    done
    echo "all jobs ended after $SECONDS s"
}

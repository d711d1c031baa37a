# Sourced by distmf's scripts: the Open MPI switches its own runs need on small machines and
# as root (Open MPI refuses to run as root, and more ranks than cores, unless told).
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# With more than one thread per rank, let the threads spread over the cores: Open MPI 4 binds
# each rank to one core when there are at most two ranks (`--bind-to none`; distmf train warns
# when its threads would share fewer CPUs). On a cluster, give each rank its own cores instead
# (`--map-by slot:PE=<threads>`, as slurm/train.sbatch does).
if [ "$OMP_NUM_THREADS" -gt 1 ] 2>/dev/null; then
    export OMPI_MCA_hwloc_base_binding_policy=${OMPI_MCA_hwloc_base_binding_policy:-none}
fi

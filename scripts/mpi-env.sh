# Sourced by distmf's scripts: the Open MPI switches its own runs need on small machines and
# as root (Open MPI refuses to run as root, and more ranks than cores, unless told).
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

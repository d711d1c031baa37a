# add_mpi_test(<target> RANKS <n>...)
# Registers <target>.np<n> for every n: the test binary under mpiexec with n ranks. The
# Open MPI switches for running as root and oversubscribing a small machine are set by
# CTest itself, so the tests do not depend on a developer's shell.
set(DISTMF_MPI_TEST_ENV
    OMPI_ALLOW_RUN_AS_ROOT=1
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    OMPI_MCA_rmaps_base_oversubscribe=1
    OMPI_MCA_btl_vader_single_copy_mechanism=none
    OMP_NUM_THREADS=1
    ASAN_OPTIONS=detect_leaks=0)

function(add_mpi_test target)
    cmake_parse_arguments(ARG "" "TIMEOUT" "RANKS" ${ARGN})
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    foreach(n IN LISTS ARG_RANKS)
        add_test(NAME ${target}.np${n}
                 COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} ${MPIEXEC_PREFLAGS}
                         $<TARGET_FILE:${target}> ${MPIEXEC_POSTFLAGS})
        # A session folder of its own: Open MPI 4 shares <TMPDIR>/ompi.<host>.<uid> between all
        # of a user's jobs, and one job's cleanup can remove it while another creates it
        # ("orte_session_dir failed" under ctest -j). Open MPI creates the folder itself.
        set(session_dir ${CMAKE_BINARY_DIR}/mpi-sessions/${target}.np${n})
        set_tests_properties(${target}.np${n} PROPERTIES
            ENVIRONMENT "${DISTMF_MPI_TEST_ENV};OMPI_MCA_orte_tmpdir_base=${session_dir}"
            PROCESSORS ${n}
            TIMEOUT ${ARG_TIMEOUT}
            LABELS mpi)
    endforeach()
endfunction()

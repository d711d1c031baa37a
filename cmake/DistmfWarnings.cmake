# Compiler flags for distmf's own targets. Third-party headers come in through imported
# targets (system include directories), so their warnings do not count.
add_library(distmf_warnings INTERFACE)
target_compile_options(distmf_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
    -Wnon-virtual-dtor -Woverloaded-virtual -Wdouble-promotion -Wnull-dereference
    -Wimplicit-fallthrough
    # GCC 12 reports false -Wrestrict and -Wstringop-overflow positives inside libstdc++'s
    # std::string (GCC bugs 105329, 105651), the latter once <string> comes from a precompiled
    # header; they find nothing in our own code (ASan checks the same class of bug at run time).
    -Wno-restrict -Wno-stringop-overflow
    $<$<BOOL:${DISTMF_WERROR}>:-Werror>)

add_library(distmf_flags INTERFACE)
if(DISTMF_SANITIZE)
    # GCC's flow analysis under -fsanitize reports false -Wmaybe-uninitialized inside
    # libstdc++ (std::regex, std::function); the Release build keeps the warning.
    target_compile_options(distmf_flags INTERFACE
        -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
        -Wno-maybe-uninitialized)
    target_link_options(distmf_flags INTERFACE -fsanitize=address,undefined)
endif()
if(DISTMF_ARCH AND NOT DISTMF_ARCH STREQUAL "none")
    include(CheckCXXCompilerFlag)
    string(MAKE_C_IDENTIFIER "DISTMF_HAVE_MARCH_${DISTMF_ARCH}" arch_supported)
    check_cxx_compiler_flag("-march=${DISTMF_ARCH}" ${arch_supported})
    if(NOT ${arch_supported})
        message(FATAL_ERROR "DISTMF_ARCH=${DISTMF_ARCH}: ${CMAKE_CXX_COMPILER} does not accept "
                            "-march=${DISTMF_ARCH} (use native, x86-64-v2/v3/v4 or none)")
    endif()
    target_compile_options(distmf_flags INTERFACE -march=${DISTMF_ARCH})
endif()

# The options that silence GCC 12's false positives inside its AVX/AVX-512 intrinsics (GCC bug
# 105593), for the sources that instantiate Eigen's matrix kernels (set per file, never on a
# whole target): -Wmaybe-uninitialized, and under the sanitizers -Wuninitialized.
set(DISTMF_GCC_INTRINSICS_WARNINGS -Wno-maybe-uninitialized)
if(DISTMF_SANITIZE)
    list(APPEND DISTMF_GCC_INTRINSICS_WARNINGS -Wno-uninitialized)
endif()

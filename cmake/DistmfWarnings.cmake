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
if(DISTMF_NATIVE)
    target_compile_options(distmf_flags INTERFACE -march=native)
endif()

#include "distmf/resources.hpp"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("thread_binding_warning: only when a rank has fewer CPUs than threads", "[resources]") {
    CHECK(distmf::thread_binding_warning(0, 1, 1).empty());
    CHECK(distmf::thread_binding_warning(0, 2, 2).empty());
    CHECK(distmf::thread_binding_warning(0, 2, 8).empty());
    CHECK(distmf::thread_binding_warning(0, 4, 0).empty());  // mask unknown: no guess
    const std::string one = distmf::thread_binding_warning(3, 2, 1);
    CHECK(one.find("2 threads per rank, but rank 3 may run on only 1 CPU ") == 0);
    CHECK(one.find("the threads share it ") != std::string::npos);
    CHECK(one.find("`mpirun --bind-to none ...`") != std::string::npos);
    CHECK(one.find("`mpirun --map-by slot:PE=2 ...`") != std::string::npos);
    const std::string two = distmf::thread_binding_warning(0, 4, 2);
    CHECK(two.find("only 2 CPUs ") != std::string::npos);
    CHECK(two.find("share them ") != std::string::npos);
    CHECK(two.find("slot:PE=4") != std::string::npos);
}

TEST_CASE("allowed_cpu_count: at least one CPU, at most the machine's", "[resources]") {
    const int allowed = distmf::allowed_cpu_count();
    CHECK(allowed >= 1);
    CHECK(allowed <= 4096);
}

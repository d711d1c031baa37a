// The stock Catch2 v2 main, compiled once for the unit and CLI test binaries.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

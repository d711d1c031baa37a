#pragma once
/// @file int128.hpp
/// GCC's 128-bit integers under a name -Wpedantic accepts (used for overflow-free products
/// and exact fixed-point sums).

namespace distmf {
__extension__ typedef __int128 Int128;            // NOLINT(modernize-use-using)
__extension__ typedef unsigned __int128 UInt128;  // NOLINT(modernize-use-using)
}  // namespace distmf

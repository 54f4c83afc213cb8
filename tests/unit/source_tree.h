// Test helper: where a shipped file of the source tree is (conf/, man/, src/), for the tests that
// check the shipped examples and docs against the code.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

namespace ecomm::test {

// $top_srcdir (set by "make check"), else the current directory, else the tree this test was
// compiled from.
inline std::string source_file(const std::string& relative)
{
    if (const char* top = std::getenv("top_srcdir"); top && *top) {
        const auto candidate = std::filesystem::path(top) / relative;
        if (std::filesystem::exists(candidate)) return candidate.string();
    }
    if (std::filesystem::exists(relative)) return relative;
    return (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / relative).string();
}

}  // namespace ecomm::test

// Test helper: a test that cannot run here (a corpus or tool is missing) calls skip(), which
// says so and is counted apart, so the runner never reports a skipped test as passed.
#pragma once
#include <iostream>
#include <string>

namespace ecomm::test {

inline int& skipped_count()
{
    static int count = 0;
    return count;
}

inline void skip(const std::string& why)
{
    ++skipped_count();
    std::cout << "\nSKIPPED: " << why << std::endl;
}

}  // namespace ecomm::test

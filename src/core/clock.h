// The session's clock: what time it is, and how to wait. Injectable, so that unit tests and -t
// pin time and never really sleep.
#pragma once
#include <chrono>
#include <functional>
#include <thread>

namespace ecomm {

struct Clock {
    std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
    std::function<void(std::chrono::milliseconds)> sleep = [](std::chrono::milliseconds d) {
        std::this_thread::sleep_for(d);
    };
};

}  // namespace ecomm

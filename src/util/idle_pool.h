// Objects kept for reuse by any thread (set-up costs that are worth paying once): a use takes an
// idle object out and gives it back after, and at most MaxIdle wait (more were only needed in a
// burst). Thread-safe.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace ecomm {

template <typename T, std::size_t MaxIdle, typename Deleter = std::default_delete<T>>
class IdlePool {
public:
    using Pointer = std::unique_ptr<T, Deleter>;

    // An idle object, or null when none waits (the caller makes a new one).
    Pointer take()
    {
        const std::lock_guard lock(mutex_);
        if (idle_.empty()) return nullptr;
        Pointer object = std::move(idle_.back());
        idle_.pop_back();
        return object;
    }

    void give_back(Pointer object) noexcept
    {
        const std::lock_guard lock(mutex_);
        if (idle_.size() >= MaxIdle) return;
        try {
            idle_.push_back(std::move(object));
        } catch (const std::bad_alloc&) {
            // The object is freed; a later use makes another.
        }
    }

private:
    std::mutex mutex_;
    std::vector<Pointer> idle_;
};

}  // namespace ecomm

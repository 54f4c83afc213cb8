// A process-shared robust pthread mutex living in shared memory, and an RAII guard over it.
//
// Robust: when a holder dies, the next locker gets the lock with EOWNERDEAD instead of waiting
// forever; the guard reports that as LockState::previous_holder_died, and the caller repairs what
// the dead holder may have left half-written, then calls mark_consistent(). Had it not, the mutex
// would become unrecoverable (LockState::unrecoverable, lock not held).
//
// The wait is bounded, and measured on CLOCK_MONOTONIC (pthread_mutex_clocklock) rather than
// pthread_mutex_timedlock's CLOCK_REALTIME, so that a step of the wall clock can neither stretch
// nor cut it.
#pragma once
#include <pthread.h>

#include <chrono>
#include <string>

namespace ecomm {

// Initialises mutex in place as process-shared and robust. Throws CounterError on failure.
void init_robust_mutex(pthread_mutex_t& mutex);

enum class LockState { held, previous_holder_died, unrecoverable };

class RobustLock {
public:
    // Throws CounterError("counter table <name> stayed locked for N ms") on timeout, and on any
    // other failure than the three LockStates.
    RobustLock(pthread_mutex_t& mutex, std::chrono::milliseconds timeout, const std::string& name);
    ~RobustLock();
    RobustLock(const RobustLock&) = delete;
    RobustLock& operator=(const RobustLock&) = delete;

    LockState state() const { return state_; }
    bool owns_lock() const { return state_ != LockState::unrecoverable; }

    // After repairing the shared state a dead holder left: makes the mutex usable again.
    void mark_consistent();

    // Tests only: the lock is never released (the process is then killed or left to hold it).
    void keep_forever() { kept_ = true; }

private:
    pthread_mutex_t& mutex_;
    LockState state_ = LockState::held;
    bool kept_ = false;
};

}  // namespace ecomm

// The counter table's process-shared robust mutex and its guard (robust_mutex.h).
#include "counters/robust_mutex.h"

#include <cerrno>
#include <ctime>

#include "counters/counter_store.h"
#include "counters/mapped_file.h"

namespace ecomm {

namespace {

// Owns a pthread_mutexattr_t for the length of init_robust_mutex.
class MutexAttributes {
public:
    MutexAttributes()
    {
        if (const int error = pthread_mutexattr_init(&attributes_); error != 0)
            throw CounterError(system_error_text("pthread_mutexattr_init", error));
    }
    ~MutexAttributes() { pthread_mutexattr_destroy(&attributes_); }
    MutexAttributes(const MutexAttributes&) = delete;
    MutexAttributes& operator=(const MutexAttributes&) = delete;
    pthread_mutexattr_t* get() { return &attributes_; }

private:
    pthread_mutexattr_t attributes_;
};

timespec monotonic_deadline(std::chrono::milliseconds timeout)
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const auto total = std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec) + timeout;
    const auto seconds = std::chrono::floor<std::chrono::seconds>(total);
    timespec deadline{};
    deadline.tv_sec = static_cast<time_t>(seconds.count());
    deadline.tv_nsec = static_cast<long>(std::chrono::nanoseconds(total - seconds).count());
    return deadline;
}

}  // namespace

void init_robust_mutex(pthread_mutex_t& mutex)
{
    MutexAttributes attributes;
    if (const int error = pthread_mutexattr_setpshared(attributes.get(), PTHREAD_PROCESS_SHARED); error != 0)
        throw CounterError(system_error_text("pthread_mutexattr_setpshared", error));
    if (const int error = pthread_mutexattr_setrobust(attributes.get(), PTHREAD_MUTEX_ROBUST); error != 0)
        throw CounterError(system_error_text("pthread_mutexattr_setrobust", error));
    if (const int error = pthread_mutex_init(&mutex, attributes.get()); error != 0)
        throw CounterError(system_error_text("pthread_mutex_init", error));
}

RobustLock::RobustLock(pthread_mutex_t& mutex, std::chrono::milliseconds timeout, const std::string& name)
    : mutex_(mutex)
{
    const timespec deadline = monotonic_deadline(timeout);
    int error;
    do {
        error = pthread_mutex_clocklock(&mutex_, CLOCK_MONOTONIC, &deadline);
    } while (error == EINTR);
    switch (error) {
    case 0: state_ = LockState::held; return;
    case EOWNERDEAD: state_ = LockState::previous_holder_died; return;
    case ENOTRECOVERABLE: state_ = LockState::unrecoverable; return;
    case ETIMEDOUT:
        throw CounterError("counter table " + name + " stayed locked for " + std::to_string(timeout.count()) + " ms");
    default: throw CounterError(system_error_text("cannot lock counter table " + name, error));
    }
}

RobustLock::~RobustLock()
{
    if (owns_lock() && !kept_) pthread_mutex_unlock(&mutex_);
}

void RobustLock::mark_consistent()
{
    if (state_ != LockState::previous_holder_died) return;
    pthread_mutex_consistent(&mutex_);
    state_ = LockState::held;
}

}  // namespace ecomm

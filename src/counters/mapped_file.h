// RAII owners of the C handles behind the counter table: a shared memory mapping and an
// exclusive flock (the file descriptor's is util/file_descriptor.h). Each closes, unmaps or unlocks exactly once, when it goes out of
// scope, so no early return or exception can leak one. Failures throw CounterError with the
// system's reason.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "util/file_descriptor.h"

namespace ecomm {

// A MAP_SHARED mapping of a whole file, or of anonymous memory shared with fork()ed children.
class SharedMapping {
public:
    SharedMapping() = default;
    static SharedMapping of_file(int fd, std::size_t size, const std::string& what);
    static SharedMapping anonymous(std::size_t size);
    ~SharedMapping();
    SharedMapping(SharedMapping&& other) noexcept;
    SharedMapping& operator=(SharedMapping&& other) noexcept;
    SharedMapping(const SharedMapping&) = delete;
    SharedMapping& operator=(const SharedMapping&) = delete;

    unsigned char* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    SharedMapping(unsigned char* data, std::size_t size) : data_(data), size_(size) {}
    unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
};

// An exclusive flock held until destruction. Polls rather than blocking, so that a process stuck
// while holding it cannot make the caller wait without bound.
class ExclusiveFileLock {
public:
    // Throws CounterError when the lock is not had within timeout.
    ExclusiveFileLock(int fd, std::chrono::milliseconds timeout, const std::string& what);
    ~ExclusiveFileLock();
    ExclusiveFileLock(const ExclusiveFileLock&) = delete;
    ExclusiveFileLock& operator=(const ExclusiveFileLock&) = delete;

private:
    int fd_;
};

// The system's reason for the last failure, for messages: "what: reason".
std::string system_error_text(const std::string& what, int error_number);

}  // namespace ecomm

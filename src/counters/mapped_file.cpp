// RAII owners of the counter table's mapping and flock (mapped_file.h).
#include "counters/mapped_file.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "counters/counter_store.h"

namespace ecomm {

std::string system_error_text(const std::string& what, int error_number)
{
    return what + ": " + std::strerror(error_number);
}

SharedMapping SharedMapping::of_file(int fd, std::size_t size, const std::string& what)
{
    void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) throw CounterError(system_error_text("cannot map " + what, errno));
    return SharedMapping(static_cast<unsigned char*>(data), size);
}

SharedMapping SharedMapping::anonymous(std::size_t size)
{
    void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) throw CounterError(system_error_text("cannot map an anonymous counter table", errno));
    return SharedMapping(static_cast<unsigned char*>(data), size);
}

SharedMapping::~SharedMapping()
{
    if (data_) ::munmap(data_, size_);
}

SharedMapping::SharedMapping(SharedMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0))
{
}

SharedMapping& SharedMapping::operator=(SharedMapping&& other) noexcept
{
    if (this != &other) {
        if (data_) ::munmap(data_, size_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

ExclusiveFileLock::ExclusiveFileLock(int fd, std::chrono::milliseconds timeout, const std::string& what) : fd_(fd)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int error_number = errno;
        if (error_number == EINTR) continue;
        if (error_number != EWOULDBLOCK) throw CounterError(system_error_text("cannot lock " + what, error_number));
        if (std::chrono::steady_clock::now() >= deadline)
            throw CounterError(what + " stayed locked (flock) for " + std::to_string(timeout.count()) + " ms");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

ExclusiveFileLock::~ExclusiveFileLock() { ::flock(fd_, LOCK_UN); }

}  // namespace ecomm

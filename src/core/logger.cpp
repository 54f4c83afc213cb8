#include "core/logger.h"

#include <pthread.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "core/syslog_socket.h"
#include "util/no_destructor.h"

namespace ecomm::log {

namespace {

constexpr char kIdent[] = "ecomm-milter";

std::atomic<bool> g_also_stderr{false};
std::atomic<pid_t> g_pid{0};  // kept current across fork: getpid is a system call, a line is not

void remember_pid() noexcept { g_pid.store(getpid(), std::memory_order_relaxed); }

// The pid for the tag, kept right in a forked child (the daemon forks to detach).
pid_t current_pid() noexcept
{
    static const bool watching_forks = [] {
        pthread_atfork(nullptr, nullptr, remember_pid);
        remember_pid();
        return true;
    }();
    (void)watching_forks;
    return g_pid.load(std::memory_order_relaxed);
}

// Threads still running at exit may log (libmilter does not wait for them).
SyslogSocket& syslog_socket()
{
    static NoDestructor<SyslogSocket> socket;
    return socket.get();
}

// "ecomm-milter[PID]: ", as glibc's syslog with LOG_PID writes it.
class Tag {
public:
    Tag()
    {
        char* at = text_;
        std::memcpy(at, kIdent, sizeof kIdent - 1);
        at += sizeof kIdent - 1;
        *at++ = '[';
        at = std::to_chars(at, at + 12, current_pid()).ptr;
        std::memcpy(at, "]: ", 3);
        length_ = static_cast<std::size_t>(at + 3 - text_);
    }
    std::string_view view() const { return {text_, length_}; }

private:
    char text_[sizeof kIdent + 16];
    std::size_t length_;
};

// The copy that glibc's LOG_PERROR would write, "ecomm-milter[PID]: line", in one writev(2).
// LOG_PERROR goes through dprintf, which sets up a stream (fstat, lseek) for every line: with a
// line per message that was 4% of the milter's CPU in the benchmarks (docs/BENCHMARKS.md).
void copy_to_stderr(std::string_view tag, std::string_view line) noexcept
{
    const bool add_newline = line.empty() || line.back() != '\n';
    iovec parts[3] = {{const_cast<char*>(tag.data()), tag.size()},
                      {const_cast<char*>(line.data()), line.size()},
                      {const_cast<char*>("\n"), add_newline ? 1u : 0u}};
    iovec* next = parts;
    int count = 3;
    while (count > 0) {
        ssize_t written = writev(STDERR_FILENO, next, count);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;  // nowhere to write: syslog still has the line
        while (count > 0 && static_cast<std::size_t>(written) >= next->iov_len) {
            written -= static_cast<ssize_t>(next->iov_len);
            ++next;
            --count;
        }
        if (count > 0) {
            next->iov_base = static_cast<char*>(next->iov_base) + written;
            next->iov_len -= static_cast<std::size_t>(written);
        }
    }
}

void emit(int level, const std::string& line)
{
    const Tag tag;
    syslog_socket().send(LOG_MAIL | level, tag.view(), line);
    if (g_also_stderr.load(std::memory_order_relaxed)) copy_to_stderr(tag.view(), line);
}

}  // namespace

void open(bool also_stderr)
{
    // Under systemd, stderr goes to the journal, which also receives syslog: one copy is enough.
    if (std::getenv("JOURNAL_STREAM") != nullptr) also_stderr = false;
    current_pid();
    g_also_stderr.store(also_stderr, std::memory_order_relaxed);
    syslog_socket();  // connects now, as openlog with LOG_NDELAY did
}

void info(const std::string& line) { emit(LOG_INFO, line); }
void notice(const std::string& line) { emit(LOG_NOTICE, line); }
void warning(const std::string& line) { emit(LOG_WARNING, line); }
void error(const std::string& line) { emit(LOG_ERR, line); }

}  // namespace ecomm::log

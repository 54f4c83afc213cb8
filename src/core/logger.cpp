#include "core/logger.h"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

namespace ecomm::log {

namespace {

std::atomic<bool> g_also_stderr{false};
std::atomic<pid_t> g_pid{0};  // read once in open(): getpid is a system call, a line is not

// The copy that glibc's LOG_PERROR would write, "ecomm-milter[PID]: line", in one write(2).
// LOG_PERROR goes through dprintf, which sets up a stream (fstat, lseek) for every line: with a
// line per message that was 4% of the milter's CPU in the benchmarks (docs/BENCHMARKS.md).
void copy_to_stderr(const std::string& line) noexcept
{
    try {
        std::string text = "ecomm-milter[" + std::to_string(g_pid.load(std::memory_order_relaxed)) + "]: ";
        text += line;
        if (text.back() != '\n') text += '\n';
        std::string_view rest = text;
        while (!rest.empty()) {
            const ssize_t written = write(STDERR_FILENO, rest.data(), rest.size());
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) return;  // nowhere to write: syslog still has the line
            rest.remove_prefix(static_cast<std::size_t>(written));
        }
    } catch (...) {
        // Out of memory: syslog still has the line.
    }
}

void emit(int priority, const std::string& line)
{
    syslog(priority, "%s", line.c_str());  // "%s": a '%' in mail data is not a directive
    if (g_also_stderr.load(std::memory_order_relaxed)) copy_to_stderr(line);
}

}  // namespace

void open(bool also_stderr)
{
    // Under systemd, stderr goes to the journal, which also receives syslog: one copy is enough.
    if (std::getenv("JOURNAL_STREAM") != nullptr) also_stderr = false;
    g_pid.store(getpid(), std::memory_order_relaxed);
    g_also_stderr.store(also_stderr, std::memory_order_relaxed);
    openlog("ecomm-milter", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void info(const std::string& line) { emit(LOG_INFO, line); }
void notice(const std::string& line) { emit(LOG_NOTICE, line); }
void warning(const std::string& line) { emit(LOG_WARNING, line); }
void error(const std::string& line) { emit(LOG_ERR, line); }

}  // namespace ecomm::log

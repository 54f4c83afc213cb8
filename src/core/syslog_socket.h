// The daemon's own syslog(3): lines in glibc's format ("<PRI>Mmm dd hh:mm:ss TAG: text") sent
// to /dev/log. glibc's syslog takes a process-wide lock around each line, calls getpid, formats
// through a memory stream and localtime_r, and sends under the lock: with a decision line per
// message from concurrent session threads that was a contended lock and about 8 µs a message
// (docs/BENCHMARKS.md). Here a datagram socket is shared by all threads without a lock (the
// kernel keeps each send whole), the time stamp is formatted once a second, and the line is sent
// from where it lies with sendmsg, not copied.
//
// As glibc does: the socket is blocking (a full syslog queue holds the caller rather than losing
// lines), a socket that turns out to be a stream socket is used as one (a NUL ends each line,
// sends are then serialised), and when a send fails the socket connects again and sends once
// more. Unlike glibc, after a failed attempt to connect the next comes no sooner than
// retry_interval later, not with every line.
#pragma once
#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ecomm {

class SyslogSocket {
public:
    explicit SyslogSocket(std::string path = "/dev/log",
                          std::chrono::steady_clock::duration retry_interval = std::chrono::seconds(1));
    ~SyslogSocket();
    SyslogSocket(const SyslogSocket&) = delete;
    SyslogSocket& operator=(const SyslogSocket&) = delete;

    // Sends "<priority>TIMESTAMP tag text" (tag e.g. "ecomm-milter[42]: "). False when the line
    // could not be delivered (no syslog daemon listening). Safe from any thread.
    bool send(int priority, std::string_view tag, std::string_view text) noexcept;

private:
    bool connect_locked() noexcept;  // with mutex_ held
    bool send_once(std::string_view head, std::string_view tag, std::string_view text) noexcept;
    void format_time(char (&out)[16]) noexcept;

    const std::string path_;
    const std::chrono::steady_clock::duration retry_interval_;
    std::mutex mutex_;  // connecting, and sends on a stream socket
    int fd_ = -1;       // its number never changes: a new connection is dup2'ed onto it
    std::atomic<bool> connected_{false};
    std::atomic<bool> stream_{false};
    std::optional<std::chrono::steady_clock::time_point> last_failure_;  // of connecting
    std::mutex time_mutex_;
    std::time_t cached_second_ = -1;
    char cached_time_[16] = {};  // "Mmm dd hh:mm:ss "
};

// "Mmm dd hh:mm:ss " (16 characters, day padded with a space, C locale), as glibc's syslog
// writes the local time.
void format_syslog_time(const std::tm& local, char (&out)[16]) noexcept;

}  // namespace ecomm

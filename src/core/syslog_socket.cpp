#include "core/syslog_socket.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace ecomm {

namespace {

// A new socket of the type, connected to path, or -1 (errno says why).
int connected_socket(const std::string& path, int type) noexcept
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd);
        errno = error;
        return -1;
    }
    return fd;
}

}  // namespace

void format_syslog_time(const std::tm& local, char (&out)[16]) noexcept
{
    static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const int month = local.tm_mon >= 0 && local.tm_mon < 12 ? local.tm_mon : 0;
    const auto two_digits = [](char* at, int value, char pad) {
        at[0] = value >= 10 ? static_cast<char>('0' + value / 10 % 10) : pad;
        at[1] = static_cast<char>('0' + value % 10);
    };
    std::memcpy(out, kMonths + 3 * month, 3);
    out[3] = ' ';
    two_digits(out + 4, local.tm_mday, ' ');
    out[6] = ' ';
    two_digits(out + 7, local.tm_hour, '0');
    out[9] = ':';
    two_digits(out + 10, local.tm_min, '0');
    out[12] = ':';
    two_digits(out + 13, local.tm_sec, '0');
    out[15] = ' ';
}

SyslogSocket::SyslogSocket(std::string path, std::chrono::steady_clock::duration retry_interval)
    : path_(std::move(path)), retry_interval_(retry_interval)
{
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const std::lock_guard lock(mutex_);
    connect_locked();
}

SyslogSocket::~SyslogSocket()
{
    if (fd_ >= 0) ::close(fd_);
}

bool SyslogSocket::connect_locked() noexcept
{
    if (fd_ < 0) return false;
    int type = stream_.load() ? SOCK_STREAM : SOCK_DGRAM;
    int fd = connected_socket(path_, type);
    if (fd < 0 && errno == EPROTOTYPE) {  // the listener is of the other type
        type = type == SOCK_DGRAM ? SOCK_STREAM : SOCK_DGRAM;
        fd = connected_socket(path_, type);
    }
    if (fd < 0) {
        connected_ = false;
        last_failure_ = std::chrono::steady_clock::now();
        return false;
    }
    // The descriptor's number stays the same: a thread sending at this moment uses the old
    // socket or the new one, never a closed or reused descriptor.
    const bool replaced = ::dup2(fd, fd_) == fd_;
    ::close(fd);
    stream_ = type == SOCK_STREAM;
    connected_ = replaced;
    if (!replaced) last_failure_ = std::chrono::steady_clock::now();
    return replaced;
}

bool SyslogSocket::send_once(std::string_view head, std::string_view tag, std::string_view text) noexcept
{
    static const char kNul = '\0';
    iovec parts[4] = {{const_cast<char*>(head.data()), head.size()},
                      {const_cast<char*>(tag.data()), tag.size()},
                      {const_cast<char*>(text.data()), text.size()},
                      {const_cast<char*>(&kNul), 1}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = stream_.load() ? 4 : 3;  // on a stream a NUL ends the line, as in glibc
    const std::size_t total = head.size() + tag.size() + text.size() + (message.msg_iovlen == 4 ? 1 : 0);
    for (;;) {
        const ssize_t sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
        if (sent >= 0) return static_cast<std::size_t>(sent) == total;  // a stream may cut it: the line is lost
        if (errno != EINTR) return false;
    }
}

void SyslogSocket::format_time(char (&out)[16]) noexcept
{
    const std::time_t now = std::time(nullptr);
    const std::lock_guard lock(time_mutex_);
    if (now != cached_second_) {
        std::tm local{};
        if (localtime_r(&now, &local) != nullptr) format_syslog_time(local, cached_time_);
        cached_second_ = now;
    }
    std::memcpy(out, cached_time_, sizeof out);
}

bool SyslogSocket::send(int priority, std::string_view tag, std::string_view text) noexcept
{
    char head[32] = {'<'};
    char* const end = std::to_chars(head + 1, head + 16, priority).ptr;
    *end = '>';
    char time_text[16];
    format_time(time_text);
    std::memcpy(end + 1, time_text, sizeof time_text);
    const std::string_view head_text(head, static_cast<std::size_t>(end + 1 + sizeof time_text - head));

    // A datagram socket takes whole lines from any number of threads: no lock on the way.
    if (!stream_.load() && connected_.load() && send_once(head_text, tag, text)) return true;

    // A stream socket, a failed send, or no listener yet. Another thread may have connected again
    // a moment ago: try what there is first.
    const std::lock_guard lock(mutex_);
    if (connected_.load() && send_once(head_text, tag, text)) return true;
    if (last_failure_ && std::chrono::steady_clock::now() - *last_failure_ < retry_interval_) return false;
    return connect_locked() && send_once(head_text, tag, text);
}

}  // namespace ecomm

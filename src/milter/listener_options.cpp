// Finding libmilter's listeners and setting their options (listener_options.h).
#include "milter/listener_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <climits>
#include <filesystem>
#include <string>
#include <system_error>

namespace ecomm {

namespace {

bool is_inet_listener(int fd)
{
    int listening = 0;
    int family = 0;
    socklen_t length = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) return false;
    length = sizeof family;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &length) != 0) return false;
    return family == AF_INET || family == AF_INET6;
}

bool set_receive_buffer(int fd, std::size_t bytes)
{
    const int size = bytes > static_cast<std::size_t>(INT_MAX / 2) ? INT_MAX / 2 : static_cast<int>(bytes);
    return setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) == 0 ||
           setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == 0;
}

std::size_t receive_buffer_of(int fd)
{
    int size = 0;
    socklen_t length = sizeof size;
    return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &length) == 0 && size > 0 ? static_cast<std::size_t>(size) : 0;
}

}  // namespace

ListenerTuning tune_inet_listeners(const ListenerOptions& options)
{
    ListenerTuning tuning;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos || name.size() > 9) continue;
        const int fd = std::stoi(name);
        if (!is_inet_listener(fd)) continue;
        ++tuning.listeners;
        const int on = 1;
        if (options.nodelay && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0) ++tuning.nodelay_set;
        if (options.receive_buffer > 0 && set_receive_buffer(fd, options.receive_buffer)) {
            ++tuning.receive_buffer_set;
            tuning.receive_buffer = receive_buffer_of(fd);
        }
    }
    return tuning;
}

}  // namespace ecomm

// Finding libmilter's listeners and setting their options (listener_options.h).
#include "milter/listener_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

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

}  // namespace

ListenerTuning set_nodelay_on_inet_listeners()
{
    ListenerTuning tuning;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.size() > 9 || name.find_first_not_of("0123456789") != std::string::npos) continue;
        const int fd = std::stoi(name);
        if (!is_inet_listener(fd)) continue;
        ++tuning.listeners;
        const int on = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0) ++tuning.nodelay_set;
    }
    return tuning;
}

}  // namespace ecomm

// DNS over TCP with a deadline (tcp_exchange.h).
#include "dns/tcp_exchange.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "util/file_descriptor.h"

namespace ecomm {

namespace {

using Clock = std::chrono::steady_clock;

// Waits for events on fd until the deadline; false when it passed or poll failed.
bool wait_for(int fd, short events, Clock::time_point deadline)
{
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd entry{fd, events, 0};
        const int ready = ::poll(&entry, 1, static_cast<int>(left));
        if (ready > 0) return true;
        if (ready == 0 || errno != EINTR) return false;
    }
}

bool connect_by(int fd, const sockaddr* server, socklen_t length, Clock::time_point deadline)
{
    if (::connect(fd, server, length) == 0) return true;
    if (errno != EINPROGRESS || !wait_for(fd, POLLOUT, deadline)) return false;
    int error = 0;
    socklen_t size = sizeof error;
    return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0;
}

bool send_all(int fd, const unsigned char* data, std::size_t length, Clock::time_point deadline)
{
    while (length > 0) {
        const ssize_t sent = ::send(fd, data, length, MSG_NOSIGNAL);
        if (sent > 0) {
            data += sent;
            length -= static_cast<std::size_t>(sent);
        } else if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return false;
        } else if (!wait_for(fd, POLLOUT, deadline)) {
            return false;
        }
    }
    return true;
}

bool read_exactly(int fd, unsigned char* data, std::size_t length, Clock::time_point deadline)
{
    while (length > 0) {
        const ssize_t got = ::recv(fd, data, length, 0);
        if (got > 0) {
            data += got;
            length -= static_cast<std::size_t>(got);
        } else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return false;  // closed, or failed
        } else if (!wait_for(fd, POLLIN, deadline)) {
            return false;
        }
    }
    return true;
}

}  // namespace

int tcp_exchange(const sockaddr* server, socklen_t server_length, const unsigned char* query, int query_length,
                 unsigned char* answer, std::size_t answer_size, Clock::time_point deadline)
{
    if (query_length < 2 || query_length > 0xFFFF) return -1;
    const FileDescriptor fd(::socket(server->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid() || !connect_by(fd.get(), server, server_length, deadline)) return -1;

    std::vector<unsigned char> message(2 + static_cast<std::size_t>(query_length));
    message[0] = static_cast<unsigned char>(query_length >> 8);
    message[1] = static_cast<unsigned char>(query_length & 0xFF);
    std::copy(query, query + query_length, message.begin() + 2);
    if (!send_all(fd.get(), message.data(), message.size(), deadline)) return -1;

    unsigned char prefix[2];
    if (!read_exactly(fd.get(), prefix, sizeof prefix, deadline)) return -1;
    const std::size_t length = (std::size_t{prefix[0]} << 8) | prefix[1];
    if (length < 2 || length > answer_size || !read_exactly(fd.get(), answer, length, deadline)) return -1;
    if (answer[0] != query[0] || answer[1] != query[1]) return -1;  // not the answer to this query
    return static_cast<int>(length);
}

}  // namespace ecomm

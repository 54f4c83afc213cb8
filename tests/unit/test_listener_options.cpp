// Tests for milter/listener_options: TCP_NODELAY reaches a real listening TCP socket on loopback
// found among the process's descriptors, and a connection it accepts inherits it (which the
// milter relies on, since libmilter accepts the MTA's connections itself).
#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "milter/listener_options.h"

namespace {

// A descriptor closed at scope exit.
class Socket {
public:
    explicit Socket(int fd) : fd_(fd)
    {
        if (fd_ < 0) throw std::runtime_error("socket failed");
    }
    ~Socket()
    {
        if (fd_ >= 0) ::close(fd_);
    }
    Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

private:
    int fd_;
};

int int_option(int fd, int level, int name)
{
    int value = 0;
    socklen_t length = sizeof value;
    if (getsockopt(fd, level, name, &value, &length) != 0) throw std::runtime_error("getsockopt failed");
    return value;
}

Socket loopback_listener(sockaddr_in& address)
{
    Socket listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener.fd(), 4) != 0 ||
        ::getsockname(listener.fd(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw std::runtime_error("cannot listen on loopback");
    return listener;
}

// A connection to address, and the listener's side of it.
std::pair<Socket, Socket> connected_pair(const Socket& listener, const sockaddr_in& address)
{
    Socket client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(client.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        throw std::runtime_error("cannot connect to the listener");
    Socket accepted(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    return {std::move(client), std::move(accepted)};
}

}  // namespace

class ListenerOptionsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ListenerOptionsTest);
    CPPUNIT_TEST(accepted_connections_inherit_nodelay);
    CPPUNIT_TEST(unix_and_unlistening_sockets_are_left_alone);
    CPPUNIT_TEST_SUITE_END();

public:
    void accepted_connections_inherit_nodelay()
    {
        sockaddr_in address{};
        const Socket listener = loopback_listener(address);
        CPPUNIT_ASSERT_EQUAL(0, int_option(listener.fd(), IPPROTO_TCP, TCP_NODELAY));

        const ecomm::ListenerTuning tuning = ecomm::set_nodelay_on_inet_listeners();
        CPPUNIT_ASSERT(tuning.listeners >= 1);
        CPPUNIT_ASSERT_EQUAL(tuning.listeners, tuning.nodelay_set);
        CPPUNIT_ASSERT_EQUAL(1, int_option(listener.fd(), IPPROTO_TCP, TCP_NODELAY));

        const auto [client, accepted] = connected_pair(listener, address);
        CPPUNIT_ASSERT_EQUAL(1, int_option(accepted.fd(), IPPROTO_TCP, TCP_NODELAY));
    }

    void unix_and_unlistening_sockets_are_left_alone()
    {
        const Socket unix_listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un unix_address{};
        unix_address.sun_family = AF_UNIX;
        const std::string name = "ecomm-listener-test-" + std::to_string(::getpid());  // abstract: no file
        std::memcpy(unix_address.sun_path + 1, name.data(), name.size());
        const auto unix_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
        if (::bind(unix_listener.fd(), reinterpret_cast<const sockaddr*>(&unix_address), unix_length) != 0 ||
            ::listen(unix_listener.fd(), 4) != 0)
            throw std::runtime_error("cannot listen on an abstract unix socket");
        sockaddr_in address{};
        const Socket listener = loopback_listener(address);
        const auto [client, accepted] = connected_pair(listener, address);

        const ecomm::ListenerTuning tuning = ecomm::set_nodelay_on_inet_listeners();
        // The unix listener, the client and the accepted connection are not inet listeners (a
        // unix listener taken for one would be counted and refuse TCP_NODELAY).
        CPPUNIT_ASSERT(tuning.listeners >= 1);
        CPPUNIT_ASSERT_EQUAL(tuning.listeners, tuning.nodelay_set);
        CPPUNIT_ASSERT_EQUAL(1, int_option(listener.fd(), IPPROTO_TCP, TCP_NODELAY));
        CPPUNIT_ASSERT_EQUAL(0, int_option(client.fd(), IPPROTO_TCP, TCP_NODELAY));
        CPPUNIT_ASSERT_EQUAL(0, int_option(accepted.fd(), IPPROTO_TCP, TCP_NODELAY));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ListenerOptionsTest);

// Tests for milter/listener_options: the options reach a real listening TCP socket on loopback
// found among the process's descriptors, and a connection it accepts inherits them (which the
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
    CPPUNIT_TEST(accepted_connections_inherit_the_options);
    CPPUNIT_TEST(zero_leaves_the_kernels_receive_buffer);
    CPPUNIT_TEST(unix_and_unlistening_sockets_are_left_alone);
    CPPUNIT_TEST_SUITE_END();

public:
    void accepted_connections_inherit_the_options()
    {
        sockaddr_in address{};
        const Socket listener = loopback_listener(address);
        const int kernels = int_option(listener.fd(), SOL_SOCKET, SO_RCVBUF);

        ecomm::ListenerOptions options;
        options.receive_buffer = 1024 * 1024;
        const ecomm::ListenerTuning tuning = ecomm::tune_inet_listeners(options);
        CPPUNIT_ASSERT(tuning.listeners >= 1);
        CPPUNIT_ASSERT(tuning.nodelay_set >= 1);
        CPPUNIT_ASSERT(tuning.receive_buffer_set >= 1);

        const int buffer = int_option(listener.fd(), SOL_SOCKET, SO_RCVBUF);
        // Without CAP_NET_ADMIN net.core.rmem_max caps the request (Debian's 212,992 bytes, which
        // the kernel doubles): more than the kernel's starting size either way.
        CPPUNIT_ASSERT(buffer > kernels);
        CPPUNIT_ASSERT_EQUAL(static_cast<std::size_t>(buffer), tuning.receive_buffer);
        CPPUNIT_ASSERT_EQUAL(1, int_option(listener.fd(), IPPROTO_TCP, TCP_NODELAY));

        const auto [client, accepted] = connected_pair(listener, address);
        CPPUNIT_ASSERT_EQUAL(buffer, int_option(accepted.fd(), SOL_SOCKET, SO_RCVBUF));
        CPPUNIT_ASSERT_EQUAL(1, int_option(accepted.fd(), IPPROTO_TCP, TCP_NODELAY));
    }

    void zero_leaves_the_kernels_receive_buffer()
    {
        sockaddr_in address{};
        const Socket listener = loopback_listener(address);
        const int kernels = int_option(listener.fd(), SOL_SOCKET, SO_RCVBUF);

        const ecomm::ListenerTuning tuning = ecomm::tune_inet_listeners(ecomm::ListenerOptions{});
        CPPUNIT_ASSERT(tuning.nodelay_set >= 1);
        CPPUNIT_ASSERT_EQUAL(0, tuning.receive_buffer_set);
        CPPUNIT_ASSERT_EQUAL(kernels, int_option(listener.fd(), SOL_SOCKET, SO_RCVBUF));

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
        const int unix_buffer = int_option(unix_listener.fd(), SOL_SOCKET, SO_RCVBUF);
        sockaddr_in address{};
        const Socket listener = loopback_listener(address);
        const auto [client, accepted] = connected_pair(listener, address);
        const int client_buffer = int_option(client.fd(), SOL_SOCKET, SO_RCVBUF);

        ecomm::ListenerOptions options;
        options.receive_buffer = 1024 * 1024;
        ecomm::tune_inet_listeners(options);
        CPPUNIT_ASSERT_EQUAL(0, int_option(client.fd(), IPPROTO_TCP, TCP_NODELAY));
        CPPUNIT_ASSERT_EQUAL(client_buffer, int_option(client.fd(), SOL_SOCKET, SO_RCVBUF));
        CPPUNIT_ASSERT_EQUAL(unix_buffer, int_option(unix_listener.fd(), SOL_SOCKET, SO_RCVBUF));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ListenerOptionsTest);

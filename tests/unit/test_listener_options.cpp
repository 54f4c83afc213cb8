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
#include "util/file_descriptor.h"

namespace {

using ecomm::FileDescriptor;

FileDescriptor new_socket(int family)
{
    FileDescriptor socket(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket.valid()) throw std::runtime_error("socket failed");
    return socket;
}

int int_option(int fd, int level, int name)
{
    int value = 0;
    socklen_t length = sizeof value;
    if (getsockopt(fd, level, name, &value, &length) != 0) throw std::runtime_error("getsockopt failed");
    return value;
}

FileDescriptor loopback_listener(sockaddr_in& address)
{
    FileDescriptor listener = new_socket(AF_INET);
    address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener.get(), 4) != 0 ||
        ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw std::runtime_error("cannot listen on loopback");
    return listener;
}

// A connection to address, and the listener's side of it.
std::pair<FileDescriptor, FileDescriptor> connected_pair(const FileDescriptor& listener, const sockaddr_in& address)
{
    FileDescriptor client = new_socket(AF_INET);
    if (::connect(client.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        throw std::runtime_error("cannot connect to the listener");
    FileDescriptor accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!accepted.valid()) throw std::runtime_error("accept failed");
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
        const FileDescriptor listener = loopback_listener(address);
        CPPUNIT_ASSERT_EQUAL(0, int_option(listener.get(), IPPROTO_TCP, TCP_NODELAY));

        const ecomm::ListenerTuning tuning = ecomm::set_nodelay_on_inet_listeners();
        CPPUNIT_ASSERT(tuning.listeners >= 1);
        CPPUNIT_ASSERT_EQUAL(tuning.listeners, tuning.nodelay_set);
        CPPUNIT_ASSERT_EQUAL(1, int_option(listener.get(), IPPROTO_TCP, TCP_NODELAY));

        const auto [client, accepted] = connected_pair(listener, address);
        CPPUNIT_ASSERT_EQUAL(1, int_option(accepted.get(), IPPROTO_TCP, TCP_NODELAY));
    }

    void unix_and_unlistening_sockets_are_left_alone()
    {
        const FileDescriptor unix_listener = new_socket(AF_UNIX);
        sockaddr_un unix_address{};
        unix_address.sun_family = AF_UNIX;
        const std::string name = "ecomm-listener-test-" + std::to_string(::getpid());  // abstract: no file
        std::memcpy(unix_address.sun_path + 1, name.data(), name.size());
        const auto unix_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
        if (::bind(unix_listener.get(), reinterpret_cast<const sockaddr*>(&unix_address), unix_length) != 0 ||
            ::listen(unix_listener.get(), 4) != 0)
            throw std::runtime_error("cannot listen on an abstract unix socket");
        sockaddr_in address{};
        const FileDescriptor listener = loopback_listener(address);
        const auto [client, accepted] = connected_pair(listener, address);

        const ecomm::ListenerTuning tuning = ecomm::set_nodelay_on_inet_listeners();
        // The unix listener, the client and the accepted connection are not inet listeners (a
        // unix listener taken for one would be counted and refuse TCP_NODELAY).
        CPPUNIT_ASSERT(tuning.listeners >= 1);
        CPPUNIT_ASSERT_EQUAL(tuning.listeners, tuning.nodelay_set);
        CPPUNIT_ASSERT_EQUAL(1, int_option(listener.get(), IPPROTO_TCP, TCP_NODELAY));
        CPPUNIT_ASSERT_EQUAL(0, int_option(client.get(), IPPROTO_TCP, TCP_NODELAY));
        CPPUNIT_ASSERT_EQUAL(0, int_option(accepted.get(), IPPROTO_TCP, TCP_NODELAY));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ListenerOptionsTest);

// DNS over TCP with a deadline (dns/tcp_exchange.h), against a loopback server of the test's own:
// the two-byte length framing both ways, an answer read in pieces, the query id checked, and a
// server that accepts but never answers given up at the deadline.
#include <cppunit/extensions/HelperMacros.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "dns/tcp_exchange.h"

namespace ecomm {
namespace {

using Bytes = std::vector<unsigned char>;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A listening socket on 127.0.0.1; serve() takes one connection on a thread and runs handler on it.
class LoopbackServer {
public:
    LoopbackServer()
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        address_.sin_family = AF_INET;
        address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address_;
        CPPUNIT_ASSERT(::bind(fd_, reinterpret_cast<sockaddr*>(&address_), sizeof address_) == 0);
        CPPUNIT_ASSERT(::listen(fd_, 1) == 0);
        CPPUNIT_ASSERT(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address_), &length) == 0);
    }
    ~LoopbackServer()
    {
        if (thread_.joinable()) thread_.join();
        ::close(fd_);
    }
    LoopbackServer(const LoopbackServer&) = delete;
    LoopbackServer& operator=(const LoopbackServer&) = delete;

    void serve(std::function<void(int)> handler)
    {
        thread_ = std::thread([this, handler = std::move(handler)] {
            const int client = ::accept(fd_, nullptr, nullptr);
            if (client < 0) return;
            handler(client);
            ::close(client);
        });
    }

    const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&address_); }

private:
    int fd_ = -1;
    sockaddr_in address_{};
    std::thread thread_;
};

Bytes read_framed(int fd)
{
    unsigned char prefix[2];
    if (::recv(fd, prefix, 2, MSG_WAITALL) != 2) return {};
    Bytes message((std::size_t{prefix[0]} << 8) | prefix[1]);
    if (::recv(fd, message.data(), message.size(), MSG_WAITALL) != static_cast<ssize_t>(message.size())) return {};
    return message;
}

// A query-sized message with id 0x1234.
Bytes query_message()
{
    Bytes query(29, 0);
    query[0] = 0x12;
    query[1] = 0x34;
    return query;
}

}  // namespace

class TcpExchangeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TcpExchangeTest);
    CPPUNIT_TEST(answer_framed_and_read_in_pieces);
    CPPUNIT_TEST(answer_to_another_query_is_refused);
    CPPUNIT_TEST(silent_server_is_given_up_at_the_deadline);
    CPPUNIT_TEST_SUITE_END();

public:
    void answer_framed_and_read_in_pieces()
    {
        const Bytes query = query_message();
        Bytes received;
        Bytes answer(3000, 0xAB);  // more than a UDP answer would carry
        answer[0] = 0x12;
        answer[1] = 0x34;
        // Declared after what its thread uses, so that it is joined before they go: the answer
        // can arrive whole while the thread is still in send(), which ASan checks on return.
        LoopbackServer server;
        server.serve([&](int client) {
            received = read_framed(client);
            const unsigned char prefix[2] = {static_cast<unsigned char>(answer.size() >> 8),
                                             static_cast<unsigned char>(answer.size() & 0xFF)};
            ::send(client, prefix, 2, MSG_NOSIGNAL);
            ::send(client, answer.data(), 1000, MSG_NOSIGNAL);  // in two pieces, a pause between
            std::this_thread::sleep_for(milliseconds(50));
            ::send(client, answer.data() + 1000, answer.size() - 1000, MSG_NOSIGNAL);
        });
        Bytes buffer(65536);
        const int length = tcp_exchange(server.address(), sizeof(sockaddr_in), query.data(),
                                        static_cast<int>(query.size()), buffer.data(), buffer.size(),
                                        steady_clock::now() + milliseconds(2000));
        CPPUNIT_ASSERT_EQUAL(3000, length);
        CPPUNIT_ASSERT(Bytes(buffer.begin(), buffer.begin() + length) == answer);
        CPPUNIT_ASSERT(received == query);
    }

    void answer_to_another_query_is_refused()
    {
        LoopbackServer server;
        server.serve([](int client) {
            read_framed(client);
            const unsigned char reply[] = {0, 4, 0x99, 0x99, 0x81, 0x80};  // id 0x9999
            ::send(client, reply, sizeof reply, MSG_NOSIGNAL);
        });
        const Bytes query = query_message();
        Bytes buffer(65536);
        CPPUNIT_ASSERT_EQUAL(-1, tcp_exchange(server.address(), sizeof(sockaddr_in), query.data(),
                                              static_cast<int>(query.size()), buffer.data(), buffer.size(),
                                              steady_clock::now() + milliseconds(2000)));
    }

    // glibc's own TCP path would block here for ever: this one returns at the deadline.
    void silent_server_is_given_up_at_the_deadline()
    {
        LoopbackServer server;
        server.serve([](int client) {
            read_framed(client);
            std::this_thread::sleep_for(milliseconds(700));  // answers nothing, holds the connection
        });
        const Bytes query = query_message();
        Bytes buffer(65536);
        const auto start = steady_clock::now();
        CPPUNIT_ASSERT_EQUAL(-1, tcp_exchange(server.address(), sizeof(sockaddr_in), query.data(),
                                              static_cast<int>(query.size()), buffer.data(), buffer.size(),
                                              start + milliseconds(300)));
        const auto waited = steady_clock::now() - start;
        CPPUNIT_ASSERT(waited >= milliseconds(290));
        CPPUNIT_ASSERT(waited < milliseconds(650));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TcpExchangeTest);

}  // namespace ecomm

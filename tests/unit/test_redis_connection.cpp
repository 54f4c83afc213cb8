// RedisConnection and RedisPool against a real redis-server of the test's own (tests/unit/
// redis_server.h): addresses, commands, AUTH, SELECT, a unix socket, and above all the bounds:
// a refused, silent or paused server costs at most the timeout, and the pool's backoff makes
// an outage cost nothing at all.
#include <cppunit/extensions/HelperMacros.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "counters/counter_store.h"
#include "counters/redis_connection.h"
#include "counters/redis_pool.h"
#include "redis_server.h"
#include "skip.h"

using namespace ecomm;
using namespace ecomm::test;
using namespace std::chrono_literals;

namespace {

// Ports of this file's servers (16300-16349); kNobodyPort never has a listener.
constexpr int kPortCommands = 16301;
constexpr int kPortAuth = 16302;
constexpr int kPortAcl = 16303;
constexpr int kPortSelect = 16304;
constexpr int kPortPaused = 16305;
constexpr int kPortPoolLimit = 16306;
constexpr int kPortPoolRestart = 16307;
constexpr int kPortPoolFailure = 16308;
constexpr int kPortPoolReset = 16309;
constexpr int kPortPoolBroken = 16310;
constexpr int kPortPoolClosed = 16311;
constexpr int kNobodyPort = 16349;

using Clock = std::chrono::steady_clock;

long long elapsed_ms(Clock::time_point since)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

RedisConnectOptions tcp_options(int port, std::chrono::milliseconds timeout = 1000ms)
{
    RedisConnectOptions options;
    options.address.host = "127.0.0.1";
    options.address.port = port;
    options.timeout = timeout;
    return options;
}

std::string text(const RedisReplyPtr& reply)
{
    return reply->str ? std::string(reply->str, reply->len) : std::string();
}

bool skip_without_redis(const std::string& test)
{
    if (RedisServer::available()) return false;
    skip(test + ": redis-server not installed (package redis-server)");
    return true;
}

// Runs action, which must throw CounterError; returns its message.
std::string counter_error_of(const std::function<void()>& action)
{
    try {
        action();
    } catch (const CounterError& error) {
        return error.what();
    }
    CPPUNIT_FAIL("expected CounterError");
    return {};
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

// A TCP listener on an ephemeral loopback port that completes handshakes (the kernel does) but
// never reads or answers: the shape of a hung server.
class SilentListener {
public:
    SilentListener()
    {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket failed");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        if (bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 || listen(fd_, 16) != 0 ||
            getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
            close(fd_);
            throw std::runtime_error("cannot listen on loopback");
        }
        port_ = ntohs(address.sin_port);
    }
    ~SilentListener() { close(fd_); }
    SilentListener(const SilentListener&) = delete;
    SilentListener& operator=(const SilentListener&) = delete;
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

// A pool connector that counts its calls and fails while told to.
struct CountingConnector {
    std::atomic<int> calls{0};
    std::atomic<bool> failing{false};
    std::chrono::milliseconds delay{0};

    std::function<std::unique_ptr<RedisConnection>(const RedisConnectOptions&)> function()
    {
        return [this](const RedisConnectOptions& options) {
            ++calls;
            if (delay.count() > 0) std::this_thread::sleep_for(delay);
            if (failing) throw CounterError("test: connect failed");
            return RedisConnection::connect(options);
        };
    }
};

RedisPoolOptions pool_options(int port, CountingConnector& connector)
{
    RedisPoolOptions options;
    options.connect = tcp_options(port, 200ms);
    options.max_connections = 2;
    options.min_backoff = 100ms;
    options.max_backoff = 400ms;
    options.connector = connector.function();
    return options;
}

void check_ping(RedisConnection& connection)
{
    const auto reply = connection.command({"PING"});
    CPPUNIT_ASSERT_EQUAL(static_cast<int>(REDIS_REPLY_STATUS), reply->type);
    CPPUNIT_ASSERT_EQUAL(std::string("PONG"), text(reply));
}

}  // namespace

class RedisConnectionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RedisConnectionTest);
    CPPUNIT_TEST(parsesHostAndPort);
    CPPUNIT_TEST(parsesBracketedIpv6);
    CPPUNIT_TEST(parsesUnixSocketPath);
    CPPUNIT_TEST(rejectsBadAddresses);
    CPPUNIT_TEST(pingAndBinarySafeValues);
    CPPUNIT_TEST(errorReplyIsReturnedNotThrown);
    CPPUNIT_TEST(authWithPassword);
    CPPUNIT_TEST(authWithAclUser);
    CPPUNIT_TEST(selectIsolatesDatabases);
    CPPUNIT_TEST(connectsOverUnixSocket);
    CPPUNIT_TEST(refusedConnectionThrowsQuickly);
    CPPUNIT_TEST(pausedServerTimesOutCommand);
    CPPUNIT_TEST(silentListenerTimesOutAuth);
    CPPUNIT_TEST(silentListenerTimesOutSelect);
    CPPUNIT_TEST(stoppedServerBreaksConnection);
    CPPUNIT_TEST(maxClientsErrorBreaksConnection);
    CPPUNIT_TEST(oversizedReplyFailsAtTheLimit);
    CPPUNIT_TEST_SUITE_END();

public:
    void parsesHostAndPort()
    {
        auto parsed = parse_redis_address("127.0.0.1:6380");
        CPPUNIT_ASSERT_EQUAL(std::string(), parsed.error);
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), parsed.address.host);
        CPPUNIT_ASSERT_EQUAL(6380, parsed.address.port);
        CPPUNIT_ASSERT(parsed.address.unix_path.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:6380"), parsed.address.to_string());

        parsed = parse_redis_address("redis.example.edu");
        CPPUNIT_ASSERT_EQUAL(std::string(), parsed.error);
        CPPUNIT_ASSERT_EQUAL(std::string("redis.example.edu"), parsed.address.host);
        CPPUNIT_ASSERT_EQUAL(6379, parsed.address.port);

        parsed = parse_redis_address("localhost:65535");
        CPPUNIT_ASSERT_EQUAL(std::string(), parsed.error);
        CPPUNIT_ASSERT_EQUAL(65535, parsed.address.port);
        parsed = parse_redis_address("localhost:1");
        CPPUNIT_ASSERT_EQUAL(1, parsed.address.port);
    }

    void parsesBracketedIpv6()
    {
        auto parsed = parse_redis_address("[::1]:6390");
        CPPUNIT_ASSERT_EQUAL(std::string(), parsed.error);
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), parsed.address.host);
        CPPUNIT_ASSERT_EQUAL(6390, parsed.address.port);
        CPPUNIT_ASSERT_EQUAL(std::string("[::1]:6390"), parsed.address.to_string());

        parsed = parse_redis_address("[2001:db8::7]");
        CPPUNIT_ASSERT_EQUAL(std::string(), parsed.error);
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::7"), parsed.address.host);
        CPPUNIT_ASSERT_EQUAL(6379, parsed.address.port);
    }

    void parsesUnixSocketPath()
    {
        const auto parsed = parse_redis_address("/run/redis/redis-server.sock");
        CPPUNIT_ASSERT_EQUAL(std::string(), parsed.error);
        CPPUNIT_ASSERT_EQUAL(std::string("/run/redis/redis-server.sock"), parsed.address.unix_path);
        CPPUNIT_ASSERT(parsed.address.host.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("/run/redis/redis-server.sock"), parsed.address.to_string());
    }

    void rejectsBadAddresses()
    {
        const struct {
            const char* text;
            const char* says;
        } cases[] = {
            {"", "empty"},
            {"host:0", "1 to 65535"},
            {"host:65536", "1 to 65535"},
            {"host:99999999", "1 to 65535"},
            {"host:-1", "1 to 65535"},
            {"host:63a", "1 to 65535"},
            {"host:", "missing port"},
            {":6379", "missing host"},
            {"::1", "brackets"},
            {"fe80::1:6379", "brackets"},
            {"[::1", "missing ']'"},
            {"[]:6379", "empty IPv6"},
            {"[::1]6379", "after ']'"},
            {"[::1]:", "missing port"},
            {"[10.0.0.1]:6379", "only for IPv6"},
            {"run/redis.sock", "absolute path"},
            {"host name:6379", "white space"},
        };
        for (const auto& bad : cases) {
            const auto parsed = parse_redis_address(bad.text);
            const std::string context = std::string("\"") + bad.text + "\" -> " + parsed.error;
            CPPUNIT_ASSERT_MESSAGE(context, !parsed.error.empty());
            CPPUNIT_ASSERT_MESSAGE(context, contains(parsed.error, bad.says));
        }
        const auto too_long = parse_redis_address("/" + std::string(200, 'x'));
        CPPUNIT_ASSERT(contains(too_long.error, "longer than"));
    }

    void pingAndBinarySafeValues()
    {
        if (skip_without_redis("pingAndBinarySafeValues")) return;
        RedisServer server(kPortCommands);
        const auto connection = RedisConnection::connect(tcp_options(server.port()));
        check_ping(*connection);

        const std::string key("bin\0key", 7);
        const std::string value("a\0b\r\n\xff\0", 8);
        auto reply = connection->command({"SET", key, value});
        CPPUNIT_ASSERT_EQUAL(std::string("OK"), text(reply));
        reply = connection->command({"GET", key});
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(REDIS_REPLY_STRING), reply->type);
        CPPUNIT_ASSERT_EQUAL(value, text(reply));
        reply = connection->command({"GET", std::string_view("bin", 3)});  // not the same key
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(REDIS_REPLY_NIL), reply->type);

        const std::vector<std::string_view> arguments{"STRLEN", key};
        reply = connection->command(arguments);
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(REDIS_REPLY_INTEGER), reply->type);
        CPPUNIT_ASSERT_EQUAL(8LL, reply->integer);
        CPPUNIT_ASSERT(!connection->broken());
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:16301"), connection->address().to_string());
    }

    void errorReplyIsReturnedNotThrown()
    {
        if (skip_without_redis("errorReplyIsReturnedNotThrown")) return;
        RedisServer server(kPortCommands);
        const auto connection = RedisConnection::connect(tcp_options(server.port()));
        auto reply = connection->command({"EVALSHA", "0000000000000000000000000000000000000000", "0"});
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(REDIS_REPLY_ERROR), reply->type);
        CPPUNIT_ASSERT(contains(text(reply), "NOSCRIPT"));
        reply = connection->command({"NOSUCHCOMMAND"});
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(REDIS_REPLY_ERROR), reply->type);
        CPPUNIT_ASSERT(!connection->broken());
        check_ping(*connection);  // still in step with the server
    }

    void authWithPassword()
    {
        if (skip_without_redis("authWithPassword")) return;
        RedisServerOptions server_options;
        server_options.password = "s3cret";
        RedisServer server(kPortAuth, server_options);

        auto options = tcp_options(server.port());
        options.password = "s3cret";
        check_ping(*RedisConnection::connect(options));

        options.password = "wrong";
        const auto message = counter_error_of([&] { RedisConnection::connect(options); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "redis 127.0.0.1:16302: AUTH failed: WRONGPASS"));
        CPPUNIT_ASSERT_MESSAGE(message, !contains(message, "wrong"));  // the password is not echoed

        options.password.clear();  // no AUTH: connects, but commands are refused by the server
        const auto unauthenticated = RedisConnection::connect(options);
        const auto reply = unauthenticated->command({"GET", "k"});
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(REDIS_REPLY_ERROR), reply->type);
        CPPUNIT_ASSERT(contains(text(reply), "NOAUTH"));
    }

    void authWithAclUser()
    {
        if (skip_without_redis("authWithAclUser")) return;
        RedisServerOptions server_options;
        server_options.acl_user = "milter";
        server_options.acl_password = "user-pass";
        RedisServer server(kPortAcl, server_options);

        auto options = tcp_options(server.port());
        options.user = "milter";
        options.password = "user-pass";
        const auto connection = RedisConnection::connect(options);
        CPPUNIT_ASSERT_EQUAL(std::string("milter"), text(connection->command({"ACL", "WHOAMI"})));

        options.password = "other";
        const auto message = counter_error_of([&] { RedisConnection::connect(options); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "AUTH failed: WRONGPASS"));
    }

    void selectIsolatesDatabases()
    {
        if (skip_without_redis("selectIsolatesDatabases")) return;
        RedisServer server(kPortSelect);
        auto options = tcp_options(server.port());
        options.database = 3;
        const auto in_three = RedisConnection::connect(options);
        options.database = 0;
        const auto in_zero = RedisConnection::connect(options);

        in_three->command({"SET", "shared-name", "three"});
        CPPUNIT_ASSERT_EQUAL(static_cast<int>(REDIS_REPLY_NIL), in_zero->command({"GET", "shared-name"})->type);
        in_zero->command({"SET", "shared-name", "zero"});
        CPPUNIT_ASSERT_EQUAL(std::string("three"), text(in_three->command({"GET", "shared-name"})));
        CPPUNIT_ASSERT_EQUAL(std::string("zero"), text(in_zero->command({"GET", "shared-name"})));

        options.database = 99;  // the server has 16
        const auto message = counter_error_of([&] { RedisConnection::connect(options); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "SELECT 99 failed"));
    }

    void connectsOverUnixSocket()
    {
        if (skip_without_redis("connectsOverUnixSocket")) return;
        RedisServerOptions server_options;
        server_options.unix_socket = true;
        RedisServer server(0, server_options);  // no TCP at all

        const auto parsed = parse_redis_address(server.socket_path());
        CPPUNIT_ASSERT_EQUAL(std::string(), parsed.error);
        RedisConnectOptions options;
        options.address = parsed.address;
        options.database = 2;
        const auto connection = RedisConnection::connect(options);
        check_ping(*connection);
        connection->command({"SET", "over", "unix"});
        CPPUNIT_ASSERT_EQUAL(std::string("unix"), text(connection->command({"GET", "over"})));
        CPPUNIT_ASSERT_EQUAL(server.socket_path(), connection->address().to_string());

        options.address.unix_path = server.directory() + "/missing.sock";
        const auto message = counter_error_of([&] { RedisConnection::connect(options); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "missing.sock"));
    }

    void refusedConnectionThrowsQuickly()
    {
        const auto started = Clock::now();
        const auto message = counter_error_of([] { RedisConnection::connect(tcp_options(kNobodyPort, 2000ms)); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "redis 127.0.0.1:16349: connection refused"));
        CPPUNIT_ASSERT(elapsed_ms(started) < 200);  // refused is known at once, not at the timeout
    }

    void pausedServerTimesOutCommand()
    {
        if (skip_without_redis("pausedServerTimesOutCommand")) return;
        RedisServer server(kPortPaused);
        const auto connection = RedisConnection::connect(tcp_options(server.port(), 100ms));
        check_ping(*connection);

        server.pause();
        const auto started = Clock::now();
        const auto message = counter_error_of([&] { connection->command({"GET", "anything"}); });
        const auto elapsed = elapsed_ms(started);
        server.resume();
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "redis 127.0.0.1:16305: GET timed out after 100 ms"));
        CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed), elapsed >= 100 && elapsed < 600);
        CPPUNIT_ASSERT(connection->broken());

        // A broken connection is never used again, even though the server answers now.
        const auto again = Clock::now();
        const auto refused = counter_error_of([&] { connection->command({"PING"}); });
        CPPUNIT_ASSERT_MESSAGE(refused, contains(refused, "broken"));
        CPPUNIT_ASSERT(elapsed_ms(again) < 50);
    }

    void silentListenerTimesOutAuth()
    {
        SilentListener listener;
        auto options = tcp_options(listener.port(), 100ms);
        options.password = "never-checked";
        const auto started = Clock::now();
        const auto message = counter_error_of([&] { RedisConnection::connect(options); });
        const auto elapsed = elapsed_ms(started);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "AUTH timed out after 100 ms"));
        CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed), elapsed >= 100 && elapsed < 600);
    }

    void silentListenerTimesOutSelect()
    {
        SilentListener listener;
        auto options = tcp_options(listener.port(), 100ms);
        options.database = 5;
        const auto started = Clock::now();
        const auto message = counter_error_of([&] { RedisConnection::connect(options); });
        const auto elapsed = elapsed_ms(started);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "SELECT 5 timed out after 100 ms"));
        CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed), elapsed >= 100 && elapsed < 600);
    }

    void stoppedServerBreaksConnection()
    {
        if (skip_without_redis("stoppedServerBreaksConnection")) return;
        RedisServer server(kPortPaused);
        const auto connection = RedisConnection::connect(tcp_options(server.port(), 500ms));
        check_ping(*connection);
        server.stop();
        const auto started = Clock::now();
        const auto message = counter_error_of([&] { connection->command({"PING"}); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "redis 127.0.0.1:16305: PING"));
        CPPUNIT_ASSERT(elapsed_ms(started) < 400);  // a closed socket is seen at once
        CPPUNIT_ASSERT(connection->broken());
    }

    // Redis at its client limit answers a new connection's first command with this error and
    // closes it: that fails the command and breaks the connection, like any lost connection.
    void maxClientsErrorBreaksConnection()
    {
        FakeRedisServer server(fake_max_clients_reached);
        const auto connection = RedisConnection::connect(tcp_options(server.port()));  // sends nothing
        const auto message = counter_error_of([&] { connection->command({"PING"}); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, ": PING: ERR max number of clients reached"));
        CPPUNIT_ASSERT(connection->broken());
        CPPUNIT_ASSERT(!connection->reusable());
        CPPUNIT_ASSERT(!connection->closed_before_reply());  // it did reply: not a stale connection to retry
    }

    // A reply that does not end is read only up to kRedisMaxReplyBytes, not until the deadline.
    void oversizedReplyFailsAtTheLimit()
    {
        FakeRedisServer server(fake_endless_bulk_reply);
        const auto connection = RedisConnection::connect(tcp_options(server.port(), 5000ms));
        const auto started = Clock::now();
        const auto message = counter_error_of([&] { connection->command({"GET", "k"}); });
        const auto elapsed = elapsed_ms(started);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, ": GET: reading the reply: more than " +
                                                              std::to_string(kRedisMaxReplyBytes) + " bytes"));
        CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed), elapsed < 2500);
        CPPUNIT_ASSERT(connection->broken());
        CPPUNIT_ASSERT(!connection->closed_before_reply());
    }
};

class RedisPoolTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RedisPoolTest);
    CPPUNIT_TEST(describesServerAndDatabase);
    CPPUNIT_TEST(backoffFailsFastWithoutConnecting);
    CPPUNIT_TEST(onlyOneReconnectAtATime);
    CPPUNIT_TEST(maxConnectionsRespected);
    CPPUNIT_TEST(brokenConnectionIsClosedNotReturned);
    CPPUNIT_TEST(connectionClosedAfterItsReplyIsNotReturned);
    CPPUNIT_TEST(reconnectsAfterRestart);
    CPPUNIT_TEST(reportFailureDropsIdleConnections);
    CPPUNIT_TEST(successResetsBackoff);
    CPPUNIT_TEST_SUITE_END();

public:
    void describesServerAndDatabase()
    {
        RedisPoolOptions options;
        options.connect = tcp_options(6379);
        CPPUNIT_ASSERT_EQUAL(std::string("redis 127.0.0.1:6379 db 0"), RedisPool(options).describe());
        options.connect.address = parse_redis_address("/run/redis/redis.sock").address;
        options.connect.database = 4;
        CPPUNIT_ASSERT_EQUAL(std::string("redis /run/redis/redis.sock db 4"), RedisPool(options).describe());
    }

    void backoffFailsFastWithoutConnecting()
    {
        CountingConnector connector;
        connector.failing = true;
        RedisPool pool(pool_options(kNobodyPort, connector));

        const auto lease_fails = [&] {
            const auto started = Clock::now();
            counter_error_of([&] { pool.lease(); });
            return elapsed_ms(started);
        };
        lease_fails();
        CPPUNIT_ASSERT_EQUAL(1, connector.calls.load());
        // Down for 100 ms: fails at once, without connecting.
        CPPUNIT_ASSERT(lease_fails() < 20);
        const auto message = counter_error_of([&] { pool.lease(); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "redis 127.0.0.1:16349 db 0: unavailable"));
        CPPUNIT_ASSERT_EQUAL(1, connector.calls.load());

        std::this_thread::sleep_for(120ms);  // the first backoff is over: one more try
        lease_fails();
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());
        std::this_thread::sleep_for(120ms);  // now 200 ms: still down
        lease_fails();
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());
        std::this_thread::sleep_for(100ms);
        lease_fails();
        CPPUNIT_ASSERT_EQUAL(3, connector.calls.load());
        std::this_thread::sleep_for(300ms);  // now 400 ms (the maximum): still down
        lease_fails();
        CPPUNIT_ASSERT_EQUAL(3, connector.calls.load());
        std::this_thread::sleep_for(120ms);
        lease_fails();
        CPPUNIT_ASSERT_EQUAL(4, connector.calls.load());
        std::this_thread::sleep_for(420ms);  // still 400 ms, not 800
        lease_fails();
        CPPUNIT_ASSERT_EQUAL(5, connector.calls.load());
    }

    void onlyOneReconnectAtATime()
    {
        CountingConnector connector;
        connector.failing = true;
        RedisPool pool(pool_options(kNobodyPort, connector));
        counter_error_of([&] { pool.lease(); });
        std::this_thread::sleep_for(120ms);

        // After the backoff, one lease tries (slowly); the others meanwhile fail at once.
        connector.delay = 150ms;
        std::thread prober([&] {
            try {
                pool.lease();
            } catch (const CounterError&) {
            }
        });
        while (connector.calls.load() < 2) std::this_thread::sleep_for(1ms);
        const auto started = Clock::now();
        const auto message = counter_error_of([&] { pool.lease(); });
        CPPUNIT_ASSERT(elapsed_ms(started) < 20);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "reconnecting"));
        prober.join();
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());
    }

    void maxConnectionsRespected()
    {
        if (skip_without_redis("maxConnectionsRespected")) return;
        RedisServer server(kPortPoolLimit);
        CountingConnector connector;
        RedisPool pool(pool_options(server.port(), connector));  // 2 connections, 200 ms

        std::optional<RedisPool::Lease> first(pool.lease());
        auto second = pool.lease();
        check_ping(*first.value());
        check_ping(*second);

        auto started = Clock::now();
        const auto message = counter_error_of([&] { pool.lease(); });
        auto elapsed = elapsed_ms(started);
        CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed), elapsed >= 200 && elapsed < 700);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "no free connection within 200 ms"));
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());

        // A waiting lease gets the connection given back meanwhile.
        started = Clock::now();
        std::thread giver([&] {
            std::this_thread::sleep_for(50ms);
            first.reset();
        });
        auto third = pool.lease();
        elapsed = elapsed_ms(started);
        giver.join();
        CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed), elapsed >= 40 && elapsed < 200);
        check_ping(*third);
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());  // reused, not a new connection
    }

    void brokenConnectionIsClosedNotReturned()
    {
        if (skip_without_redis("brokenConnectionIsClosedNotReturned")) return;
        RedisServer server(kPortPoolBroken);
        CountingConnector connector;
        auto options = pool_options(server.port(), connector);
        options.connect.timeout = 100ms;
        RedisPool pool(options);
        {
            auto lease = pool.lease();
            server.pause();
            counter_error_of([&] { lease->command({"PING"}); });
            server.resume();
            CPPUNIT_ASSERT(lease->broken());
        }  // broken, but no report_failure(): the pool is not down
        auto lease = pool.lease();
        CPPUNIT_ASSERT(!lease->broken());
        check_ping(*lease);
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());
    }

    // QUIT: a good reply, then the server closes the connection (as after "max number of clients
    // reached"). Not broken, but not kept for the next lease either.
    void connectionClosedAfterItsReplyIsNotReturned()
    {
        if (skip_without_redis("connectionClosedAfterItsReplyIsNotReturned")) return;
        RedisServer server(kPortPoolClosed);
        CountingConnector connector;
        RedisPool pool(pool_options(server.port(), connector));
        {
            auto lease = pool.lease();
            check_ping(*lease);
            CPPUNIT_ASSERT_EQUAL(std::string("OK"), text(lease->command({"QUIT"})));
            const auto deadline = Clock::now() + 2s;
            while (lease->reusable() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);  // its end of file
            CPPUNIT_ASSERT(!lease->broken());
        }
        auto lease = pool.lease();
        CPPUNIT_ASSERT_MESSAGE("the closed connection was leased again", !lease.reused());
        check_ping(*lease);
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());
    }

    void reconnectsAfterRestart()
    {
        if (skip_without_redis("reconnectsAfterRestart")) return;
        RedisServer server(kPortPoolRestart);
        CountingConnector connector;
        RedisPool pool(pool_options(server.port(), connector));
        check_ping(*pool.lease());

        server.stop();
        {
            auto lease = pool.lease();  // the idle connection, dead now
            counter_error_of([&] { lease->command({"PING"}); });
            pool.report_failure();
        }
        counter_error_of([&] { pool.lease(); });  // down
        std::this_thread::sleep_for(120ms);
        const auto message = counter_error_of([&] { pool.lease(); });  // tries, refused
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "connection refused"));
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());

        server.start();
        counter_error_of([&] { pool.lease(); });  // still backing off (200 ms)
        std::this_thread::sleep_for(220ms);
        auto lease = pool.lease();
        check_ping(*lease);
        CPPUNIT_ASSERT_EQUAL(3, connector.calls.load());
    }

    void reportFailureDropsIdleConnections()
    {
        if (skip_without_redis("reportFailureDropsIdleConnections")) return;
        RedisServer server(kPortPoolFailure);
        CountingConnector connector;
        RedisPool pool(pool_options(server.port(), connector));
        {
            auto first = pool.lease();
            auto second = pool.lease();
            check_ping(*first);
            check_ping(*second);
        }
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());
        check_ping(*pool.lease());  // an idle one
        CPPUNIT_ASSERT_EQUAL(2, connector.calls.load());

        std::optional<RedisPool::Lease> out_during_failure(pool.lease());
        pool.report_failure();
        out_during_failure.reset();  // leased before the failure: closed, not kept
        std::this_thread::sleep_for(120ms);

        check_ping(*pool.lease());  // the reconnect: nothing idle was left over
        CPPUNIT_ASSERT_EQUAL(3, connector.calls.load());
        // One idle connection now (the reconnect's): a second lease at once needs a new one.
        auto first = pool.lease();
        auto second = pool.lease();
        CPPUNIT_ASSERT_EQUAL(4, connector.calls.load());
        check_ping(*first);
        check_ping(*second);
    }

    void successResetsBackoff()
    {
        if (skip_without_redis("successResetsBackoff")) return;
        RedisServer server(kPortPoolReset);
        CountingConnector connector;
        RedisPool pool(pool_options(server.port(), connector));

        // Three failures: backoff 100, 200, 400 ms.
        connector.failing = true;
        counter_error_of([&] { pool.lease(); });
        std::this_thread::sleep_for(120ms);
        counter_error_of([&] { pool.lease(); });
        std::this_thread::sleep_for(220ms);
        counter_error_of([&] { pool.lease(); });
        CPPUNIT_ASSERT_EQUAL(3, connector.calls.load());
        std::this_thread::sleep_for(420ms);

        connector.failing = false;
        check_ping(*pool.lease());
        CPPUNIT_ASSERT_EQUAL(4, connector.calls.load());

        // The next failure starts again at 100 ms, not 800.
        pool.report_failure();
        counter_error_of([&] { pool.lease(); });
        std::this_thread::sleep_for(120ms);
        check_ping(*pool.lease());
        CPPUNIT_ASSERT_EQUAL(5, connector.calls.load());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RedisConnectionTest);
CPPUNIT_TEST_SUITE_REGISTRATION(RedisPoolTest);

// One connection to a Redis server through hiredis (libhiredis-dev), owning its redisContext.
// Every step (connect, AUTH, SELECT, each command) is bounded by one deadline: the socket is
// non-blocking and every wait is a poll() on what is left of the timeout, so a slow or silent
// server costs at most the timeout, never a kernel TCP timeout. Any failure (refused, timed out,
// closed, a reply that does not parse or is larger than kRedisMaxReplyBytes, an error reply after
// which Redis closes the connection) throws CounterError and leaves the connection broken(); a
// broken connection is thrown away, never reused. Not thread-safe: one thread at a time.
#pragma once
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace ecomm {

struct RedisServerAddress {
    std::string host;       // a name or literal address; empty for a unix socket
    int port = 6379;
    std::string unix_path;  // set: a unix socket
    std::string to_string() const;  // "127.0.0.1:6379", "[::1]:6379" or "/run/redis/redis.sock"
};

// "HOST:PORT", "[V6]:PORT", "HOST" (port 6379) or an absolute path (a unix socket).
// Returns nullopt-like empty error on success; otherwise what is wrong, for a config diagnostic.
struct ParsedRedisAddress {
    RedisServerAddress address;
    std::string error;  // empty: parsed
};
ParsedRedisAddress parse_redis_address(std::string_view text);

struct RedisConnectOptions {
    RedisServerAddress address;
    std::string user;      // empty: AUTH with the password alone
    std::string password;  // empty: no AUTH
    int database = 0;      // SELECTed when not 0
    std::chrono::milliseconds timeout{100};  // for connecting (with AUTH and SELECT), and per command
};

// The most bytes one reply may take; more fails the command as a protocol error would. hiredis
// buffers a reply whole, without a limit of its own, so a broken or hostile server could
// otherwise fill memory until the deadline. Our largest replies are view's SCAN batches (some
// 500 keys of at most about 300 bytes); the scripts answer in less than 100 bytes.
inline constexpr std::size_t kRedisMaxReplyBytes = 1024 * 1024;

struct RedisReplyDeleter {
    void operator()(redisReply* reply) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisConnection {
public:
    // Connects, authenticates and selects the database within options.timeout.
    static std::unique_ptr<RedisConnection> connect(const RedisConnectOptions& options);

    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    // Sends one command (binary-safe arguments) and reads its reply within the timeout. A Redis
    // error reply (REDIS_REPLY_ERROR) is returned, not thrown: the caller decides (NOSCRIPT, for
    // one, means "load the script and call again"). Except one that Redis sends just before it
    // closes the connection ("ERR max number of clients reached", a protocol error, protected
    // mode's DENIED): that is about the connection, not the command, and throws.
    RedisReplyPtr command(std::span<const std::string_view> arguments);
    RedisReplyPtr command(std::initializer_list<std::string_view> arguments);
    // The same, within a deadline the caller shares between several steps (RedisStore: one
    // timeout for a whole counter call).
    RedisReplyPtr command(std::span<const std::string_view> arguments, std::chrono::steady_clock::time_point deadline);

    bool broken() const;
    // Fit for another command: not broken, and since the last reply the server has neither
    // closed the connection nor sent bytes no command asked for. One non-blocking peek at the
    // socket; RedisPool asks before it keeps a connection for the next lease.
    bool reusable() const;
    // The last command failed because the server had closed the connection (end of file, EPIPE
    // or ECONNRESET) before any byte of its reply arrived: an idle connection gone stale
    // (Redis's `timeout`, a restart), whose command is safe to send again on a new one.
    bool closed_before_reply() const;
    const RedisServerAddress& address() const;

private:
    struct Context;
    explicit RedisConnection(std::unique_ptr<Context> context);
    std::unique_ptr<Context> context_;
};

}  // namespace ecomm

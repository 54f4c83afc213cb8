// A small pool of Redis connections shared by the milter's worker threads, with reconnect
// backoff. libmilter runs a thread per SMTP connection and those come and go, so connections
// belong to the pool, not to threads: a thread leases one for a few commands and gives it back.
//
// - At most max_connections are open; a lease waits for a free one at most the timeout, then
//   throws CounterBusy (a pool that is too small is local contention, not a Redis outage, and
//   never a hang). A connect gets its own full timeout.
// - A lease whose connection broke, or is no longer reusable() (the server closed it after its
//   last reply, as Redis does after "max number of clients reached"), is closed, not returned.
// - After a failed connect the pool is "down" for a backoff (min_backoff, doubling up to
//   max_backoff) during which lease() throws CounterError at once, without touching the network:
//   while Redis is away, a message costs no timeout at all. The first lease after the backoff
//   tries again; its success ends the outage and resets the backoff.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "counters/redis_connection.h"

namespace ecomm {

struct RedisPoolOptions {
    RedisConnectOptions connect;
    int max_connections = 8;
    std::chrono::milliseconds min_backoff{250};
    std::chrono::milliseconds max_backoff{5000};
    // Tests: how connections are made (default RedisConnection::connect).
    std::function<std::unique_ptr<RedisConnection>(const RedisConnectOptions&)> connector;
};

class RedisPool {
public:
    explicit RedisPool(RedisPoolOptions options);
    ~RedisPool();
    RedisPool(const RedisPool&) = delete;
    RedisPool& operator=(const RedisPool&) = delete;

    // A connection for the caller alone until the lease ends.
    class Lease {
    public:
        Lease(Lease&&) noexcept;
        Lease& operator=(Lease&&) = delete;
        ~Lease();  // gives the connection back (or closes it when it is not reusable)
        RedisConnection& operator*() const { return *connection_; }
        RedisConnection* operator->() const { return connection_.get(); }
        bool reused() const { return reused_; }  // taken idle from the pool, not connected for this lease

    private:
        friend class RedisPool;
        Lease(RedisPool& pool, std::unique_ptr<RedisConnection> connection, std::uint64_t generation, bool probe,
              bool reused);
        RedisPool* pool_;
        std::unique_ptr<RedisConnection> connection_;
        std::uint64_t generation_;  // the pool's failure count when leased
        bool probe_;                // the one reconnect attempt after a backoff
        bool reused_;
    };

    // Throws CounterError: down (backing off), or the connect failed (which starts or extends
    // the backoff); CounterBusy: no free connection within the timeout.
    Lease lease();
    // The same, waiting for a free connection only until deadline.
    Lease lease(std::chrono::steady_clock::time_point deadline);

    // A command's failure on a leased connection (CounterError from RedisConnection) also starts
    // the backoff: call this from the catch block.
    void report_failure();
    // Closes the idle connections without starting an outage: one of them was found closed by
    // the server, and those idle as long are likely closed too.
    void discard_idle();

    const RedisPoolOptions& options() const { return options_; }
    std::string describe() const;  // "redis 127.0.0.1:6379 db 0", for logs and the stats tool

private:
    using Connections = std::vector<std::unique_ptr<RedisConnection>>;
    void give_back(std::unique_ptr<RedisConnection> connection, std::uint64_t generation, bool probe);
    // Starts (or, after the backoff, doubles) the outage and takes the idle connections out, for
    // the caller to close after unlocking. Needs mutex_.
    Connections fail_locked();

    RedisPoolOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable returned_;
    std::vector<std::unique_ptr<RedisConnection>> idle_;
    int open_ = 0;  // leased + idle
    std::chrono::steady_clock::time_point down_until_{};
    std::chrono::milliseconds backoff_{0};
    // Failures so far: a connection leased before the latest failure is closed when given back
    // (after a Redis restart it is as dead as the idle ones).
    std::uint64_t generation_ = 0;
    bool probing_ = false;  // a reconnect after a backoff is under way: other leases fail fast
};

}  // namespace ecomm

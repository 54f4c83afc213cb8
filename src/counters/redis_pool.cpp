// RedisPool: leases, the connection limit and the reconnect backoff. The mutex guards only the
// bookkeeping; connecting, running commands and closing happen outside it.
#include "counters/redis_pool.h"

#include <algorithm>

#include "counters/counter_store.h"

namespace ecomm {

namespace {

using Clock = std::chrono::steady_clock;

std::string milliseconds_text(Clock::duration duration)
{
    return std::to_string(std::chrono::ceil<std::chrono::milliseconds>(duration).count()) + " ms";
}

}  // namespace

RedisPool::Lease::Lease(RedisPool& pool, std::unique_ptr<RedisConnection> connection, std::uint64_t generation, bool probe,
                        bool reused)
    : pool_(&pool), connection_(std::move(connection)), generation_(generation), probe_(probe), reused_(reused)
{
}

RedisPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_),
      connection_(std::move(other.connection_)),
      generation_(other.generation_),
      probe_(other.probe_),
      reused_(other.reused_)
{
}

RedisPool::Lease::~Lease()
{
    if (connection_) pool_->give_back(std::move(connection_), generation_, probe_);
}

RedisPool::RedisPool(RedisPoolOptions options) : options_(std::move(options))
{
    options_.max_connections = std::max(options_.max_connections, 1);
    options_.min_backoff = std::max(options_.min_backoff, std::chrono::milliseconds(1));
    options_.max_backoff = std::max(options_.max_backoff, options_.min_backoff);
    if (!options_.connector) options_.connector = &RedisConnection::connect;
}

RedisPool::~RedisPool() = default;

std::string RedisPool::describe() const
{
    return "redis " + options_.connect.address.to_string() + " db " + std::to_string(options_.connect.database);
}

RedisPool::Lease RedisPool::lease()
{
    return lease(Clock::now() + options_.connect.timeout);
}

RedisPool::Lease RedisPool::lease(Clock::time_point deadline)
{
    std::unique_lock lock(mutex_);
    while (true) {
        const auto now = Clock::now();
        if (now < down_until_)
            throw CounterError(describe() + ": unavailable after a failure, retrying in " + milliseconds_text(down_until_ - now));
        if (probing_) throw CounterError(describe() + ": unavailable, reconnecting");
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            return Lease(*this, std::move(connection), generation_, false, true);
        }
        if (open_ < options_.max_connections) break;
        if (now >= deadline)
            throw CounterBusy(describe() + ": no free connection within " + milliseconds_text(options_.connect.timeout) +
                              " (all " + std::to_string(options_.max_connections) + " in use)");
        returned_.wait_until(lock, deadline);
    }

    ++open_;
    const bool probe = backoff_.count() > 0;  // after an outage: this lease alone tries
    if (probe) probing_ = true;
    const std::uint64_t generation = generation_;
    lock.unlock();

    // Undoes the reservation of a slot; a failed connect (CounterError) also starts the outage.
    const auto undo = [&](bool outage) {
        Connections closing;  // closed after unlocking
        lock.lock();
        --open_;
        if (probe) probing_ = false;
        if (outage) closing = fail_locked();
        lock.unlock();
        returned_.notify_all();
    };
    std::unique_ptr<RedisConnection> connection;
    try {
        // Connecting gets the whole timeout: a wait for a slot that just freed must not starve it.
        connection = options_.connector(options_.connect);
        if (!connection) throw CounterError(describe() + ": no connection made");
    } catch (const CounterError&) {
        undo(true);
        throw;
    } catch (...) {
        undo(false);
        throw;
    }
    return Lease(*this, std::move(connection), generation, probe, false);
}

void RedisPool::give_back(std::unique_ptr<RedisConnection> connection, std::uint64_t generation, bool probe)
{
    std::unique_ptr<RedisConnection> closing;  // closed after unlocking
    const bool reusable = connection->reusable();  // a look at the socket: not under the lock
    {
        std::lock_guard lock(mutex_);
        if (probe) probing_ = false;
        if (!reusable || generation != generation_) {
            --open_;
            closing = std::move(connection);
        } else {
            // Its commands worked and no failure was reported meanwhile: the outage, if any, is over.
            backoff_ = std::chrono::milliseconds(0);
            idle_.push_back(std::move(connection));
        }
    }
    returned_.notify_one();
}

void RedisPool::report_failure()
{
    Connections closing;
    {
        std::lock_guard lock(mutex_);
        closing = fail_locked();
    }
    returned_.notify_all();  // waiters now fail fast
}

void RedisPool::discard_idle()
{
    Connections closing;  // closed after unlocking
    {
        std::lock_guard lock(mutex_);
        open_ -= static_cast<int>(idle_.size());
        closing = std::move(idle_);
        idle_.clear();
    }
    returned_.notify_all();  // free slots for waiters to connect
}

RedisPool::Connections RedisPool::fail_locked()
{
    ++generation_;
    const auto now = Clock::now();
    if (now >= down_until_) {  // a failure while already down belongs to the same outage
        backoff_ = backoff_.count() == 0 ? options_.min_backoff : std::min(backoff_ * 2, options_.max_backoff);
        down_until_ = now + backoff_;
    }
    open_ -= static_cast<int>(idle_.size());
    Connections closing = std::move(idle_);
    idle_.clear();
    return closing;
}

}  // namespace ecomm

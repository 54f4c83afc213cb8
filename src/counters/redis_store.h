// The counters in Redis (issue 8): the same CounterStore semantics as the memory-mapped table, so
// that several MTA hosts share one sender's rate and one campaign's audience.
//
// Keys (prefix from [counters] redis_prefix, default "ecomm-milter:"):
//   PREFIX rate:KEY          hash: the sliding window of counter_table's WindowCounts, field for
//                            field (newest second, the non-zero counted and pending buckets), the
//                            committed total and the last use; live for 60 s after its last
//                            reserve or commit, as a table slot is, and kept 10 minutes (TTL),
//                            so that a slow message's commit still finds it
//   PREFIX campaign:ID       hash: sender, first/last seen, window, declared audience, crossed
//   PREFIX audience:ID       Redis's own HyperLogLog of the campaign's recipients (PFADD/PFCOUNT
//                            of their stable hashes in hex); both campaign keys expire when the
//                            campaign's window has passed
// reserve, commit, release and add_to_campaign are each one Lua script (redis_scripts.h), run
// atomically on the server and called by SHA1 (EVALSHA); the SHA1 is learnt once with SCRIPT
// LOAD, and a NOSCRIPT reply (a restarted server) runs the script with EVAL, which caches it.
// Nothing is sent when the store is made: an unreachable server shows in the first call.
//
// Time: with server_clock (the daemon) the scripts read the server's TIME, so every MTA counts in
// one clock whatever its own says, and a wait is measured in that clock too; the `now`
// arguments are not used (view, too, judges windows and expiry by the server's TIME). Without it (tests) they use `now`, so the limits' edges can be tested
// to the millisecond.
//
// [counters] redis_timeout bounds each step of reserve, commit, release and add_to_campaign:
// the wait for a free pooled connection, connecting, and then loading and running the script
// (one deadline from the moment the connection is in hand, so that a wait for the pool never
// shortens a command Redis will run anyway). view and reset, for ecomm-milter-stats, give each
// command its own timeout instead (a large key space takes several).
//
// Every failure (Redis away, slow, at its client limit, a reply too large, a script error) throws
// CounterError; no free connection in time throws CounterBusy (the pool is too small, Redis is
// fine). FallbackStore decides.
#pragma once
#include <memory>
#include <string>

#include "counters/counter_store.h"
#include "counters/redis_pool.h"

namespace ecomm {

struct RedisStoreOptions {
    RedisPoolOptions pool;
    std::string prefix = "ecomm-milter:";
    bool server_clock = true;
};

class RedisStore final : public CounterStore {
public:
    explicit RedisStore(RedisStoreOptions options);
    ~RedisStore() override;

    RateDecision reserve(std::string_view key, const RateLimit& limit, SystemTime now) override;
    void commit(const RateReservation& reservation, SystemTime now) override;
    void release(const RateReservation& reservation, SystemTime now) override;
    CampaignUpdate add_to_campaign(std::string_view campaign, std::string_view sender,
                                   std::span<const std::uint64_t> recipients, std::uint64_t declared,
                                   std::uint64_t threshold, std::chrono::seconds window, SystemTime now) override;
    // SCAN over PREFIX* (COUNT 500), never KEYS; rate_slots and campaign_slots are 0 (no fixed size).
    CounterView view(SystemTime now) override;
    bool reset(std::string_view key) override;

    const RedisStoreOptions& options() const;
    std::string describe() const;  // "redis 127.0.0.1:6379 db 0 prefix ecomm-milter:"

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace ecomm

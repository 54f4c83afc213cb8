// A DnsResolver decorator that keeps answers across messages, for as long as their TTL allows,
// as OpenDKIM's and any caching resolver's do: the same SPF records and DKIM keys are asked for
// message after message, and each network query costs a round trip plus the progress call.
// One per configuration snapshot, shared by every connection thread; a reload starts empty.
//
// What is kept: ok, nxdomain and nodata answers whose ttl_seconds is above 0, for
// min(ttl, kMaxTtl), or min(ttl, kMaxNegativeTtl) for the negative ones. Timeout and error
// answers, and answers with TTL 0, are never kept: a transient failure must be retried by the
// next message (the per-message CachingResolver already stops repeats within one message).
// At most capacity answers; the least recently used is forgotten first. Expiry follows a
// monotonic clock (steady_clock, injectable for tests), so a change of the system time neither
// keeps answers for hours nor drops them all.
//
// Thread-safe: one mutex around the table, never held during an upstream query (two threads
// missing the same name at once both ask; the later answer wins).
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "dns/resolver.h"

namespace ecomm {

class SharedDnsCache : public DnsResolver {
public:
    using Now = std::function<std::chrono::steady_clock::time_point()>;

    // The longest any answer is kept, whatever its TTL says (a key rotated or an SPF record
    // fixed is seen within the hour), and the longest a "does not exist" is kept (a record
    // just published is seen within five minutes; RFC 2308 suggests 1-3 hours at most).
    static constexpr std::chrono::seconds kMaxTtl{3600};
    static constexpr std::chrono::seconds kMaxNegativeTtl{300};

    // upstream: asked on a miss (never null). capacity: answers kept at most (0 keeps none).
    SharedDnsCache(std::shared_ptr<DnsResolver> upstream, std::size_t capacity,
                   Now now = [] { return std::chrono::steady_clock::now(); });

    DnsAnswer query(std::string_view name, DnsType type) override;
    // A fresh answer from the table, or nullopt; never asks upstream.
    std::optional<DnsAnswer> cached(std::string_view name, DnsType type) override;

    std::size_t capacity() const { return capacity_; }
    std::size_t size() const;
    // Look-ups answered from the table (query() and cached()), and query() calls that had to ask
    // upstream.
    std::size_t hits() const;
    std::size_t misses() const;

private:
    using Key = std::pair<std::string, DnsType>;  // canonical name, type
    using Clock = std::chrono::steady_clock;
    struct Entry {
        DnsAnswer answer;
        Clock::time_point expires;
        std::list<Key>::iterator recency;  // its place in recency_
    };

    // Both with mutex_ held.
    std::optional<DnsAnswer> find_fresh(const Key& key);
    void store(Key key, const DnsAnswer& answer);

    const std::shared_ptr<DnsResolver> upstream_;
    const std::size_t capacity_;
    const Now now_;

    mutable std::mutex mutex_;
    std::map<Key, Entry> entries_;
    std::list<Key> recency_;  // most recently used first
    std::size_t hits_ = 0;
    std::size_t misses_ = 0;
};

}  // namespace ecomm

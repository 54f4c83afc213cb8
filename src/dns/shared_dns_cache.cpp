// The cross-message DNS cache: a map for look-up, a list for least-recently-used order, TTLs
// capped; the upstream is asked with the lock released.
#include "dns/shared_dns_cache.h"

#include <algorithm>

namespace ecomm {

namespace {

using Status = DnsAnswer::Status;

// How long an answer may be kept; zero: not at all.
std::chrono::seconds keep_for(const DnsAnswer& answer)
{
    const std::chrono::seconds ttl(answer.ttl_seconds);
    switch (answer.status) {
    case Status::ok: return std::min(ttl, SharedDnsCache::kMaxTtl);
    case Status::nxdomain:
    case Status::nodata: return std::min(ttl, SharedDnsCache::kMaxNegativeTtl);
    case Status::timeout:
    case Status::error: break;  // transient: the next message asks again
    }
    return std::chrono::seconds(0);
}

}  // namespace

SharedDnsCache::SharedDnsCache(std::shared_ptr<DnsResolver> upstream, std::size_t capacity, Now now)
    : upstream_(std::move(upstream)), capacity_(capacity), now_(std::move(now))
{
}

DnsAnswer SharedDnsCache::query(std::string_view name, DnsType type)
{
    Key key{canonical_dns_name(name), type};
    {
        const std::lock_guard lock(mutex_);
        if (auto answer = find_fresh(key)) return std::move(*answer);
        ++misses_;
    }
    DnsAnswer answer = upstream_->query(name, type);
    const std::lock_guard lock(mutex_);
    store(std::move(key), answer);
    return answer;
}

std::optional<DnsAnswer> SharedDnsCache::cached(std::string_view name, DnsType type)
{
    const Key key{canonical_dns_name(name), type};
    const std::lock_guard lock(mutex_);
    return find_fresh(key);
}

std::optional<DnsAnswer> SharedDnsCache::find_fresh(const Key& key)
{
    const auto found = entries_.find(key);
    if (found == entries_.end()) return std::nullopt;
    const auto now = now_();
    Entry& entry = found->second;
    if (now >= entry.expires) {
        recency_.erase(entry.recency);
        entries_.erase(found);
        return std::nullopt;
    }
    ++hits_;
    recency_.splice(recency_.begin(), recency_, entry.recency);
    DnsAnswer answer = entry.answer;
    // What is left of the TTL, so that a layer above never keeps it longer than the source said.
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(entry.expires - now);
    answer.ttl_seconds = static_cast<std::uint32_t>(left.count());
    return answer;
}

void SharedDnsCache::store(Key key, const DnsAnswer& answer)
{
    const auto keep = keep_for(answer);
    if (keep.count() <= 0 || capacity_ == 0) return;
    const auto expires = now_() + keep;
    if (const auto found = entries_.find(key); found != entries_.end()) {
        // Another thread asked meanwhile: the newer answer replaces it.
        found->second.answer = answer;
        found->second.expires = expires;
        recency_.splice(recency_.begin(), recency_, found->second.recency);
        return;
    }
    if (entries_.size() >= capacity_) {
        entries_.erase(recency_.back());
        recency_.pop_back();
    }
    recency_.push_front(key);
    entries_.emplace(std::move(key), Entry{answer, expires, recency_.begin()});
}

std::size_t SharedDnsCache::size() const
{
    const std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t SharedDnsCache::hits() const
{
    const std::lock_guard lock(mutex_);
    return hits_;
}

std::size_t SharedDnsCache::misses() const
{
    const std::lock_guard lock(mutex_);
    return misses_;
}

}  // namespace ecomm

// A DnsResolver decorator that remembers every answer for the life of one transaction: make one
// per message (or per connection), in front of the shared upstream resolver. SPF evaluation asks
// the same names again (the record, then its a/mx terms; DKIM keys of repeated signatures), and
// a name that timed out once must not cost the timeout again within the same message, so
// negative, timeout and error answers are cached too.
//
// Before each query that needs the network, the progress callback runs, so that the milter
// glue can call smfi_progress() and keep the MTA waiting while the network is slow. An answer
// the upstream already holds (DnsResolver::cached(), e.g. SharedDnsCache) needs no network: it
// costs neither a progress call nor any of the message's DNS budget.
// At most kMaxEntries answers are kept; past that the oldest is forgotten. Not thread-safe: one
// transaction is handled by one thread at a time.
#pragma once
#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <utility>

#include "dns/resolver.h"

namespace ecomm {

class CachingResolver : public DnsResolver {
public:
    static constexpr std::size_t kMaxEntries = 256;

    // upstream must outlive this object. progress may be empty.
    // budget: the upstream time one message may use in all; once spent, every further uncached
    // query answers timeout at once (0: no budget).
    explicit CachingResolver(DnsResolver& upstream, DnsProgress progress = {},
                             std::chrono::milliseconds budget = std::chrono::milliseconds(0));

    DnsAnswer query(std::string_view name, DnsType type) override;
    // This transaction's answer, else the upstream's cached one; never the network.
    std::optional<DnsAnswer> cached(std::string_view name, DnsType type) override;

    // Queries that went to the network (the upstream's query()), and answers taken from the
    // upstream's cache instead.
    std::size_t upstream_queries() const { return upstream_queries_; }
    std::size_t upstream_cache_hits() const { return upstream_cache_hits_; }
    std::size_t budget_refusals() const { return budget_refusals_; }
    std::size_t size() const { return answers_.size(); }

private:
    using Key = std::pair<std::string, DnsType>;  // canonical name, type

    DnsResolver& upstream_;
    DnsProgress progress_;
    std::map<Key, DnsAnswer> answers_;
    std::deque<Key> order_;  // insertion order, for forgetting the oldest
    std::size_t upstream_queries_ = 0;
    std::size_t upstream_cache_hits_ = 0;
    std::chrono::milliseconds budget_;
    std::chrono::milliseconds spent_{0};
    std::size_t budget_refusals_ = 0;
};

}  // namespace ecomm

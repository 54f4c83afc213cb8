// The per-transaction DNS cache: answers keyed by (canonical name, type), oldest forgotten first;
// the upstream's own cache is asked before the network.
#include "dns/caching_resolver.h"

namespace ecomm {

CachingResolver::CachingResolver(DnsResolver& upstream, DnsProgress progress, std::chrono::milliseconds budget)
    : upstream_(upstream), progress_(std::move(progress)), budget_(budget)
{
}

DnsAnswer CachingResolver::query(std::string_view name, DnsType type)
{
    Key key{canonical_dns_name(name), type};
    if (const auto found = answers_.find(key); found != answers_.end()) return found->second;

    DnsAnswer answer;
    if (auto shared = upstream_.cached(name, type)) {
        // Known without the network: no progress call, nothing spent from the budget. Kept below
        // as well, so the message sees one answer even if the shared entry expires meanwhile.
        answer = std::move(*shared);
        ++upstream_cache_hits_;
    } else if (budget_.count() > 0 && spent_ >= budget_) {
        // The message has used up its DNS time: answer "timeout" without asking, so many slow
        // names (16 signatures, deep SPF includes) cannot hold the MTA past its own timeouts.
        answer.status = DnsAnswer::Status::timeout;
        ++budget_refusals_;
    } else {
        if (progress_) progress_();
        ++upstream_queries_;
        const auto start = std::chrono::steady_clock::now();
        answer = upstream_.query(name, type);
        spent_ += std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    }

    if (answers_.size() >= kMaxEntries) {
        answers_.erase(order_.front());
        order_.pop_front();
    }
    answers_.emplace(key, answer);
    order_.push_back(std::move(key));
    return answer;
}

std::optional<DnsAnswer> CachingResolver::cached(std::string_view name, DnsType type)
{
    if (const auto found = answers_.find(Key{canonical_dns_name(name), type}); found != answers_.end())
        return found->second;
    return upstream_.cached(name, type);
}

}  // namespace ecomm

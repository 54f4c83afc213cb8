// The per-transaction DNS cache: answers keyed by (canonical name, type), oldest forgotten first.
#include "dns/caching_resolver.h"

namespace ecomm {

CachingResolver::CachingResolver(DnsResolver& upstream, DnsProgress progress)
    : upstream_(upstream), progress_(std::move(progress))
{
}

DnsAnswer CachingResolver::query(std::string_view name, DnsType type)
{
    Key key{canonical_dns_name(name), type};
    if (const auto found = answers_.find(key); found != answers_.end()) return found->second;

    if (progress_) progress_();
    ++upstream_queries_;
    DnsAnswer answer = upstream_.query(name, type);

    if (answers_.size() >= kMaxEntries) {
        answers_.erase(order_.front());
        order_.pop_front();
    }
    answers_.emplace(key, answer);
    order_.push_back(std::move(key));
    return answer;
}

}  // namespace ecomm

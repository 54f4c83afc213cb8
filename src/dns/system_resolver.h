// The DnsResolver that asks the system's name servers (/etc/resolv.conf) with libresolv.
//
// Each query gets its own resolver state (res_ninit/res_nquery/res_nclose), so any number of
// threads may share one SystemResolver. Every query is bounded by the configured timeout (whole
// seconds, at least 1): one try, and the per-server wait chosen so that all the configured
// servers together fit in it (servers beyond one per second of budget are not asked). Answers
// come over UDP with EDNS0 (1200-byte answers); a truncated one is asked again over TCP
// (RFC 7766) by tcp_exchange.h, within the same timeout, rather than by glibc, whose TCP path
// has no timeout of its own. When that fails too the answer is an error: a partial record set
// could change an SPF or DKIM verdict.
//
// Status mapping, as res_nquery's h_errno would be: NXDOMAIN -> nxdomain, NOERROR without
// records of the asked type -> nodata, no answer at all (a timeout, SERVFAIL) -> timeout,
// anything else -> error. Records come back as text per DnsAnswer: TXT character-strings of one
// record are concatenated; at most kMaxRecords each. TTL: for ok, the smallest of the answer
// section (CNAMEs included); for nxdomain/nodata, min(SOA TTL, SOA MINIMUM) from the authority
// section (RFC 2308), 0 without an SOA; 0 for timeout and error.
#pragma once
#include <chrono>
#include <cstddef>

#include "dns/resolver.h"

namespace ecomm {

class SystemResolver : public DnsResolver {
public:
    static constexpr std::size_t kMaxRecords = 256;

    // timeout: the longest any one query may take; rounded down to whole seconds, at least 1.
    explicit SystemResolver(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    DnsAnswer query(std::string_view name, DnsType type) override;

    std::chrono::seconds timeout() const { return std::chrono::seconds(timeout_seconds_); }

private:
    int timeout_seconds_;
};

// One DNS response (as res_nsend returns it) as the answer to a question of type: status,
// records and TTL as above. Exposed for tests, which cannot count on a network.
DnsAnswer parse_dns_response(const unsigned char* response, std::size_t length, DnsType type);

}  // namespace ecomm

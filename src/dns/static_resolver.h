// A DnsResolver that answers from a static file instead of the network, for -t --dns-file, the
// daemon's dns_file test key, and the unit and conformance tests. One record a line:
//
//   # a comment; '#' outside quotes also ends the data of a line
//   example.org      TXT   "v=spf1 ip4:192.0.2.0/24 " "-all"   # one record, strings joined
//   example.org      MX    10 mail.example.org
//   mail.example.org A     192.0.2.25
//   mail.example.org AAAA  2001:db8::25
//   25.2.0.192.in-addr.arpa PTR mail.example.org
//   www.example.org  CNAME example.org
//   slow.example.org TIMEOUT                                  # every query times out
//
// Names are case-insensitive and the trailing dot is optional; in names, \DDD (a byte in
// decimal) and \X (X itself) allow spaces and other odd bytes, and a dot always separates
// labels. TXT data is one or more double quoted strings, concatenated into one record; inside
// them \" and \\ escape, \DDD and \X too (the zone-file conventions of RFC 1035 5.1).
//
// Answers: a name with records, but none of the asked type, is nodata; an unknown name is
// nxdomain, unless it is an ancestor of a known one (an empty non-terminal: nodata, as in real
// DNS). CNAMEs are followed, at most kMaxCnameChain links; a longer chain or a loop answers
// nodata, as an authoritative server's NOERROR answer holding only the chain would. A TIMEOUT
// name times out for every type, whatever records it also lists. There are no wildcards, and
// identical records are kept as written.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/diagnostic.h"
#include "dns/resolver.h"

namespace ecomm {

class StaticResolver : public DnsResolver {
public:
    static constexpr int kMaxCnameChain = 8;
    static constexpr std::size_t kMaxFileSize = 16 * 1024 * 1024;  // test zones are small
    static constexpr std::size_t kMaxRecordLength = 65535;         // RDATA limit of DNS

    // Parses text as the content of a file named origin. Each bad line is reported to
    // diagnostics as "ORIGIN:LINE: message" and skipped; callers refuse the resolver when
    // has_errors(diagnostics).
    explicit StaticResolver(std::string_view text, Diagnostics& diagnostics,
                            const std::string& origin = "(dns text)");

    // Reads path (an unreadable or oversized file is one diagnostic without a line).
    static StaticResolver from_file(const std::string& path, Diagnostics& diagnostics);

    DnsAnswer query(std::string_view name, DnsType type) override;

    std::size_t record_count() const { return record_count_; }

private:
    StaticResolver() = default;

    struct Record {
        DnsType type;
        std::string value;
    };

    void parse(std::string_view text, Diagnostics& diagnostics, const std::string& origin);
    // Returns an error message, or "" when the line was taken.
    std::string parse_line(std::string_view line);
    std::string add_record(const std::string& name, DnsType type, std::string value);
    void add_ancestors(const std::string& name);

    std::unordered_map<std::string, std::vector<Record>> records_;  // canonical name -> records
    std::unordered_set<std::string> timeouts_;
    std::unordered_set<std::string> ancestors_;  // empty non-terminals and owners
    std::size_t record_count_ = 0;
};

}  // namespace ecomm

// DNS look-ups for SPF and DKIM behind one interface, so that every query is bounded by the
// configured timeout, answered from a static file in tests (-t --dns-file, dns_file in the
// config), cached across messages for as long as the answer's TTL allows (SharedDnsCache, one
// per configuration snapshot), and remembered for the life of one transaction (CachingResolver).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecomm {

enum class DnsType { A, AAAA, MX, PTR, TXT, CNAME };

struct DnsAnswer {
    enum class Status { ok, nxdomain, nodata, timeout, error };
    Status status = Status::error;
    // Record data as text: A/AAAA addresses, MX "PREF HOST", PTR/CNAME names, TXT strings
    // already concatenated (one element per TXT record).
    std::vector<std::string> records;
    // How long the answer may be reused, in seconds: for ok, the smallest TTL of its records;
    // for nxdomain/nodata, the negative-caching TTL of RFC 2308 (from the SOA). 0: do not reuse
    // (timeout, error, or a resolver that does not know, such as the static test zone).
    std::uint32_t ttl_seconds = 0;
};

class DnsResolver {
public:
    virtual ~DnsResolver() = default;
    virtual DnsAnswer query(std::string_view name, DnsType type) = 0;

    // An answer available without the network (from a cache), or nullopt. Lets a caller skip
    // what it does only before real look-ups (smfi_progress, the per-message time budget).
    virtual std::optional<DnsAnswer> cached(std::string_view, DnsType) { return std::nullopt; }
};

// Called while a look-up is slow, so the glue can call smfi_progress() and keep the MTA waiting.
using DnsProgress = std::function<void()>;

}  // namespace ecomm

// ---- Helpers shared by the resolvers and their users (added with the static, system and
// caching resolvers). Inline so that the interface stays a header only.

namespace ecomm {

// DNS limits (RFC 1035 2.3.4): a name of at most 253 octets in text, labels of 1 to 63.
inline constexpr std::size_t kMaxDnsNameLength = 253;
inline constexpr std::size_t kMaxDnsLabelLength = 63;

// The form names are compared and keyed in: ASCII lower case, without the trailing dot.
inline std::string canonical_dns_name(std::string_view name)
{
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::string canonical(name);
    for (char& c : canonical) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return canonical;
}

// True when name (trailing dot optional, not the root) fits the limits above with no empty
// label. Says nothing about characters: SPF macros and test zones use odd ones legitimately.
inline bool is_valid_dns_name(std::string_view name)
{
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > kMaxDnsNameLength) return false;
    std::size_t label = 0;
    for (const char c : name) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (++label > kMaxDnsLabelLength) {
            return false;
        }
    }
    return label > 0;
}

inline const char* to_string(DnsType type)
{
    switch (type) {
    case DnsType::A: return "A";
    case DnsType::AAAA: return "AAAA";
    case DnsType::MX: return "MX";
    case DnsType::PTR: return "PTR";
    case DnsType::TXT: return "TXT";
    case DnsType::CNAME: return "CNAME";
    }
    return "?";
}

inline const char* to_string(DnsAnswer::Status status)
{
    switch (status) {
    case DnsAnswer::Status::ok: return "ok";
    case DnsAnswer::Status::nxdomain: return "nxdomain";
    case DnsAnswer::Status::nodata: return "nodata";
    case DnsAnswer::Status::timeout: return "timeout";
    case DnsAnswer::Status::error: return "error";
    }
    return "?";
}

}  // namespace ecomm

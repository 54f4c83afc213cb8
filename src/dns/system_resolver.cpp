// The libresolv resolver: a private res_state per query with the timeout budget applied, the
// query sent with res_nsend, then the response parsed (ns_initparse/ns_parserr) into DnsAnswer
// text and a TTL.
#include "dns/system_resolver.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "dns/tcp_exchange.h"

namespace ecomm {

namespace {

// The biggest DNS message there is; answers never need more.
constexpr std::size_t kAnswerBufferSize = 65536;

ns_type to_ns_type(DnsType type)
{
    switch (type) {
    case DnsType::A: return ns_t_a;
    case DnsType::AAAA: return ns_t_aaaa;
    case DnsType::MX: return ns_t_mx;
    case DnsType::PTR: return ns_t_ptr;
    case DnsType::TXT: return ns_t_txt;
    case DnsType::CNAME: return ns_t_cname;
    }
    return ns_t_invalid;
}

// A resolver state of our own, closed on every path. res_ninit reads resolv.conf (glibc caches
// it and notices changes), so each query sees the current configuration.
class ResolverState {
public:
    ResolverState()
    {
        std::memset(&state_, 0, sizeof state_);
        ready_ = res_ninit(&state_) == 0;
    }
    ~ResolverState()
    {
        if (ready_) res_nclose(&state_);
    }
    ResolverState(const ResolverState&) = delete;
    ResolverState& operator=(const ResolverState&) = delete;

    bool ready() const { return ready_; }
    res_state get() { return &state_; }

private:
    struct __res_state state_;
    bool ready_ = false;
};

// glibc waits retrans seconds for the first server and (retrans << i) / nscount for server i,
// which for up to three servers sums to at most nscount * retrans per try. One try, and
// retrans = budget / nscount, keeps the whole query inside the budget; with less than a
// second per server, only the first budget-many servers are asked.
void apply_budget(res_state state, int budget_seconds)
{
    if (state->nscount > budget_seconds) state->nscount = budget_seconds;
    const int servers = std::max(1, state->nscount);
    state->retrans = std::max(1, budget_seconds / servers);
    state->retry = 1;
    state->options |= RES_USE_EDNS0 | RES_IGNTC;
    state->options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
}

// The name servers res_ninit read, IPv4 or IPv6, in order (after apply_budget: those asked).
std::vector<std::pair<const sockaddr*, socklen_t>> name_servers(res_state state)
{
    std::vector<std::pair<const sockaddr*, socklen_t>> servers;
    for (int i = 0; i < state->nscount && i < MAXNS; ++i) {
        if (state->nsaddr_list[i].sin_family == AF_INET)
            servers.emplace_back(reinterpret_cast<const sockaddr*>(&state->nsaddr_list[i]), sizeof(sockaddr_in));
        else if (state->_u._ext.nsaddrs[i] != nullptr)
            servers.emplace_back(reinterpret_cast<const sockaddr*>(state->_u._ext.nsaddrs[i]), sizeof(sockaddr_in6));
    }
    return servers;
}

bool truncated(const unsigned char* response, int length)
{
    return length >= NS_HFIXEDSZ && (response[2] & 0x02) != 0;  // the TC bit
}

// The query res_nquery would send: res_nmkquery, plus the EDNS0 OPT record res_nquery adds
// with RES_USE_EDNS0 (glibc's __res_nopt is private), advertising 1200-byte answers as glibc
// does. Returns the length, or -1.
int make_query(res_state state, const std::string& name, DnsType type, unsigned char* buffer, int size)
{
    const int length = res_nmkquery(state, ns_o_query, name.c_str(), ns_c_in, to_ns_type(type), nullptr, 0,
                                    nullptr, buffer, size);
    constexpr int kOptSize = 11;  // root name, type, class (payload size), TTL, RDLENGTH
    if (length < NS_HFIXEDSZ || length + kOptSize > size) return -1;
    unsigned char* at = buffer + length;
    *at++ = 0;
    NS_PUT16(ns_t_opt, at);
    NS_PUT16(1200, at);
    NS_PUT32(0, at);  // extended RCODE, version 0, no flags
    NS_PUT16(0, at);
    unsigned char* arcount = buffer + 10;
    const unsigned additional = ns_get16(arcount) + 1;
    NS_PUT16(additional, arcount);
    return length + kOptSize;
}

// RFC 2181 8: a TTL with the top bit set counts as 0.
std::uint32_t usable_ttl(const ns_rr& record)
{
    const std::uint32_t ttl = ns_rr_ttl(record);
    return ttl > 0x7fffffffU ? 0 : ttl;
}

// RFC 2308 5: a negative answer may be kept for min(SOA TTL, SOA MINIMUM) of the SOA in the
// authority section; without one it must not be kept at all (0).
std::uint32_t negative_ttl(ns_msg& message)
{
    const int count = ns_msg_count(message, ns_s_ns);
    for (int i = 0; i < count; ++i) {
        ns_rr record;
        if (ns_parserr(&message, ns_s_ns, i, &record) < 0) return 0;
        if (ns_rr_type(record) != ns_t_soa || ns_rr_class(record) != ns_c_in) continue;
        const unsigned char* data = ns_rr_rdata(record);
        const unsigned char* end = data + ns_rr_rdlen(record);
        for (int name = 0; name < 2; ++name) {  // MNAME, RNAME
            const int skipped = dn_skipname(data, end);
            if (skipped < 0) return 0;
            data += skipped;
        }
        constexpr int kSerialToMinimum = 16;  // SERIAL, REFRESH, RETRY, EXPIRE
        if (end - data != kSerialToMinimum + NS_INT32SZ) return 0;
        const std::uint32_t minimum = ns_get32(data + kSerialToMinimum);
        return std::min(usable_ttl(record), minimum > 0x7fffffffU ? 0U : minimum);
    }
    return 0;
}

// A domain name inside the message (compression resolved), or nullopt when malformed.
bool read_name(const ns_msg& message, const unsigned char* where, std::string& out)
{
    char name[NS_MAXDNAME];
    if (ns_name_uncompress(ns_msg_base(message), ns_msg_end(message), where, name, sizeof name) < 0)
        return false;
    out = name;
    return true;
}

// TXT RDATA: length-prefixed character-strings, joined into one record.
bool read_txt(const unsigned char* data, std::size_t length, std::string& out)
{
    out.clear();
    std::size_t at = 0;
    while (at < length) {
        const std::size_t piece = data[at++];
        if (piece > length - at) return false;
        out.append(reinterpret_cast<const char*>(data + at), piece);
        at += piece;
    }
    return true;
}

bool read_address(int family, const unsigned char* data, std::size_t length, std::string& out)
{
    const std::size_t expected = family == AF_INET ? 4 : 16;
    char text[INET6_ADDRSTRLEN];
    if (length != expected || !inet_ntop(family, data, text, sizeof text)) return false;
    out = text;
    return true;
}

// One answer record of the asked type as text; false when its data is malformed.
bool record_text(const ns_msg& message, const ns_rr& record, DnsType type, std::string& out)
{
    const unsigned char* data = ns_rr_rdata(record);
    const std::size_t length = ns_rr_rdlen(record);
    switch (type) {
    case DnsType::A: return read_address(AF_INET, data, length, out);
    case DnsType::AAAA: return read_address(AF_INET6, data, length, out);
    case DnsType::TXT: return read_txt(data, length, out);
    case DnsType::PTR:
    case DnsType::CNAME: return read_name(message, data, out);
    case DnsType::MX: {
        std::string host;
        if (length < 3 || !read_name(message, data + 2, host)) return false;
        out = std::to_string(ns_get16(data)) + " " + host;
        return true;
    }
    }
    return false;
}

}  // namespace

// Status as res_nquery would map the RCODE (h_errno): NXDOMAIN -> nxdomain, SERVFAIL ->
// timeout (TRY_AGAIN), NOERROR without records of the asked type -> nodata, anything else ->
// error; TTLs as described for DnsAnswer.
DnsAnswer parse_dns_response(const unsigned char* buffer, std::size_t length, DnsType type)
{
    DnsAnswer answer;
    ns_msg message;
    if (ns_initparse(buffer, static_cast<int>(length), &message) < 0) return answer;  // error
    if (ns_msg_getflag(message, ns_f_tc)) return answer;  // partial: see the header
    switch (ns_msg_getflag(message, ns_f_rcode)) {
    case ns_r_noerror: break;
    case ns_r_nxdomain:
        answer.status = DnsAnswer::Status::nxdomain;
        answer.ttl_seconds = negative_ttl(message);
        return answer;
    case ns_r_servfail: answer.status = DnsAnswer::Status::timeout; return answer;
    default: return answer;  // error: FORMERR, NOTIMP, REFUSED, ...
    }
    const int count = ns_msg_count(message, ns_s_an);
    const ns_type wanted = to_ns_type(type);
    // The smallest TTL of the answer section, CNAMEs the server followed included: the answer
    // is only as fresh as every link that led to it.
    std::optional<std::uint32_t> smallest_ttl;
    for (int i = 0; i < count && answer.records.size() < SystemResolver::kMaxRecords; ++i) {
        ns_rr record;
        if (ns_parserr(&message, ns_s_an, i, &record) < 0) return DnsAnswer{};
        if (ns_rr_class(record) != ns_c_in) continue;
        smallest_ttl = std::min(smallest_ttl.value_or(UINT32_MAX), usable_ttl(record));
        // CNAMEs the server followed come first; only the asked type is data.
        if (ns_rr_type(record) != wanted) continue;
        std::string text;
        if (!record_text(message, record, type, text)) return DnsAnswer{};
        answer.records.push_back(std::move(text));
    }
    if (answer.records.empty()) {
        answer.status = DnsAnswer::Status::nodata;
        answer.ttl_seconds = std::min(negative_ttl(message), smallest_ttl.value_or(UINT32_MAX));
    } else {
        answer.status = DnsAnswer::Status::ok;
        answer.ttl_seconds = smallest_ttl.value_or(0);
    }
    return answer;
}

SystemResolver::SystemResolver(std::chrono::milliseconds timeout)
    : timeout_seconds_(static_cast<int>(std::clamp<long long>(timeout.count() / 1000, 1, 3600)))
{
}

DnsAnswer SystemResolver::query(std::string_view name, DnsType type)
{
    DnsAnswer answer;
    // Refused before any packet is sent: libresolv would reject it anyway, less clearly.
    if (!is_valid_dns_name(name)) {
        answer.status = DnsAnswer::Status::nxdomain;
        return answer;
    }
    ResolverState state;
    if (!state.ready()) return answer;  // error: no usable resolv.conf
    apply_budget(state.get(), timeout_seconds_);
    // res_nmkquery + res_nsend rather than res_nquery: res_nquery returns -1 for NXDOMAIN and
    // NODATA without the response's length, and the SOA it carries is what says how long the
    // negative answer may be cached (RFC 2308). res_nsend returns the length whatever the RCODE;
    // parse_dns_response maps the RCODE as res_nquery would.
    unsigned char query[NS_PACKETSZ];
    const int query_length = make_query(state.get(), std::string(name), type, query, sizeof query);
    if (query_length < 0) return answer;  // error, as res_nquery's NO_RECOVERY
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds_);
    std::vector<unsigned char> buffer(kAnswerBufferSize);
    int length = res_nsend(state.get(), query, query_length, buffer.data(), static_cast<int>(buffer.size()));
    // Too big for UDP (a domain with many TXT records): asked again over TCP, within the same
    // budget. When that fails too, the truncated answer is parsed, as an error.
    if (truncated(buffer.data(), length)) {
        std::vector<unsigned char> whole(kAnswerBufferSize);  // a failed read leaves a part here
        for (const auto& [server, server_length] : name_servers(state.get())) {
            const int whole_length =
                tcp_exchange(server, server_length, query, query_length, whole.data(), whole.size(), deadline);
            if (whole_length >= 0) {
                buffer.swap(whole);
                length = whole_length;
                break;
            }
        }
    }
    if (length < 0) {
        // No usable answer from any server (silence, SERVFAIL/REFUSED everywhere): res_nquery
        // says TRY_AGAIN here.
        answer.status = DnsAnswer::Status::timeout;
        return answer;
    }
    return parse_dns_response(buffer.data(), std::min<std::size_t>(length, buffer.size()), type);
}

}  // namespace ecomm

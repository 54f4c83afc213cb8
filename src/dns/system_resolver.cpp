// The libresolv resolver: a private res_state per query with the timeout budget applied, then
// the answer section parsed (ns_initparse/ns_parserr) into DnsAnswer text.
#include "dns/system_resolver.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <cstring>
#include <vector>

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

DnsAnswer::Status status_from_h_errno(int error)
{
    switch (error) {
    case HOST_NOT_FOUND: return DnsAnswer::Status::nxdomain;
    case NO_DATA: return DnsAnswer::Status::nodata;
    case TRY_AGAIN: return DnsAnswer::Status::timeout;
    default: return DnsAnswer::Status::error;
    }
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

DnsAnswer parse_answer(const unsigned char* buffer, int length, DnsType type)
{
    DnsAnswer answer;
    ns_msg message;
    if (ns_initparse(buffer, length, &message) < 0) return answer;  // error
    if (ns_msg_getflag(message, ns_f_tc)) return answer;           // partial: see the header
    const int count = ns_msg_count(message, ns_s_an);
    const ns_type wanted = to_ns_type(type);
    for (int i = 0; i < count && answer.records.size() < SystemResolver::kMaxRecords; ++i) {
        ns_rr record;
        if (ns_parserr(&message, ns_s_an, i, &record) < 0) return DnsAnswer{};
        // CNAMEs the server followed come first; only the asked type is data.
        if (ns_rr_type(record) != wanted || ns_rr_class(record) != ns_c_in) continue;
        std::string text;
        if (!record_text(message, record, type, text)) return DnsAnswer{};
        answer.records.push_back(std::move(text));
    }
    answer.status = answer.records.empty() ? DnsAnswer::Status::nodata : DnsAnswer::Status::ok;
    return answer;
}

}  // namespace

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
    const std::string query_name(name);
    std::vector<unsigned char> buffer(kAnswerBufferSize);
    const int length = res_nquery(state.get(), query_name.c_str(), ns_c_in, to_ns_type(type), buffer.data(),
                                  static_cast<int>(buffer.size()));
    if (length < 0) {
        answer.status = status_from_h_errno(state.get()->res_h_errno);
        return answer;
    }
    return parse_answer(buffer.data(), std::min(length, static_cast<int>(buffer.size())), type);
}

}  // namespace ecomm

// The static-file resolver: a line parser for "NAME TYPE VALUE" records and a lookup that
// behaves like an authoritative server for them (nxdomain, nodata, CNAME chains, timeouts).
#include "dns/static_resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cctype>
#include <charconv>
#include <fstream>

#include "util/ascii.h"

namespace ecomm {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Splits off the next whitespace-separated token; "" at the end of the line or at a comment.
// A backslash keeps the next character in the token (names may escape spaces: "a\032b").
std::string_view next_token(std::string_view& rest)
{
    std::size_t start = 0;
    while (start < rest.size() && is_space(rest[start])) ++start;
    if (start == rest.size() || rest[start] == '#') {
        rest = {};
        return {};
    }
    std::size_t end = start;
    while (end < rest.size() && !is_space(rest[end])) end += (rest[end] == '\\' && end + 1 < rest.size()) ? 2 : 1;
    const std::string_view token = rest.substr(start, end - start);
    rest.remove_prefix(end);
    return token;
}

bool parse_type(std::string_view text, DnsType& type)
{
    static constexpr DnsType kTypes[] = {DnsType::A,   DnsType::AAAA, DnsType::MX,
                                         DnsType::PTR, DnsType::TXT,  DnsType::CNAME};
    for (const DnsType candidate : kTypes) {
        if (iequals(text, to_string(candidate))) {
            type = candidate;
            return true;
        }
    }
    return false;
}

// Address text in canonical form (inet_ntop), or "" when text is not an address of family.
std::string canonical_address(int family, std::string_view text)
{
    const std::string copy(text);
    unsigned char bytes[sizeof(in6_addr)];
    if (inet_pton(family, copy.c_str(), bytes) != 1) return {};
    char buffer[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, bytes, buffer, sizeof buffer)) return {};
    return buffer;
}

// One \-escape inside a quoted string, rest positioned after the backslash. Appends the byte.
std::string parse_escape(std::string_view& rest, std::string& out)
{
    if (rest.empty()) return "backslash at the end of the line";
    if (!std::isdigit(static_cast<unsigned char>(rest[0]))) {
        out += rest[0];
        rest.remove_prefix(1);
        return {};
    }
    if (rest.size() < 3) return "\\DDD escape needs three decimal digits";
    unsigned value = 0;
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + 3, value);
    if (error != std::errc() || end != rest.data() + 3 || value > 255)
        return "\\DDD escape needs three decimal digits of at most 255";
    out += static_cast<char>(value);
    rest.remove_prefix(3);
    return {};
}

// A name token with its escapes resolved (\DDD, \X). A dot always separates labels.
std::string unescape_name(std::string_view token, std::string& out)
{
    out.clear();
    while (!token.empty()) {
        const char c = token.front();
        token.remove_prefix(1);
        if (c != '\\') {
            out += c;
        } else if (auto error = parse_escape(token, out); !error.empty()) {
            return error;
        }
    }
    return {};
}

// A name token as it is kept: escapes resolved, trailing dot dropped, case kept (PTR answers
// may legitimately differ in case from the names they point back to). The root (".") is
// allowed only as record data, e.g. a null MX (RFC 7505).
std::string read_name(std::string_view token, bool root_allowed, std::string& out)
{
    if (auto error = unescape_name(token, out); !error.empty()) return error;
    if (out == "." && root_allowed) return {};
    if (!is_valid_dns_name(out)) return "bad domain name '" + std::string(token) + "'";
    if (out.back() == '.') out.pop_back();
    return {};
}

// TXT data: one or more "quoted strings", joined into one record.
std::string parse_txt(std::string_view rest, std::string& out)
{
    int strings = 0;
    for (;;) {
        while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
        if (rest.empty() || rest.front() == '#') break;
        if (rest.front() != '"') return "TXT data must be double-quoted strings";
        rest.remove_prefix(1);
        for (;;) {
            if (rest.empty()) return "unterminated quoted string";
            const char c = rest.front();
            rest.remove_prefix(1);
            if (c == '"') break;
            if (c != '\\') {
                out += c;
            } else if (auto error = parse_escape(rest, out); !error.empty()) {
                return error;
            }
        }
        ++strings;
        if (out.size() > StaticResolver::kMaxRecordLength) return "TXT record longer than 65535 bytes";
    }
    return strings == 0 ? "TXT record needs at least one quoted string" : "";
}

// "PREF HOST" with PREF in 0..65535.
std::string parse_mx(std::string_view rest, std::string& out)
{
    const std::string_view preference = next_token(rest);
    const std::string_view host = next_token(rest);
    if (preference.empty() || host.empty()) return "MX data must be \"PREFERENCE HOST\"";
    unsigned value = 0;
    const auto [end, error] = std::from_chars(preference.data(), preference.data() + preference.size(), value);
    if (error != std::errc() || end != preference.data() + preference.size() || value > 65535)
        return "MX preference must be a number from 0 to 65535";
    std::string host_name;
    if (auto bad = read_name(host, true, host_name); !bad.empty()) return bad;
    if (!next_token(rest).empty()) return "unexpected data after the MX host";
    out = std::to_string(value) + " " + host_name;
    return {};
}

// A, AAAA, PTR and CNAME: exactly one token of data.
std::string parse_single(DnsType type, std::string_view rest, std::string& out)
{
    const std::string_view value = next_token(rest);
    if (value.empty()) return std::string(to_string(type)) + " record needs a value";
    if (!next_token(rest).empty()) return std::string("unexpected data after the ") + to_string(type) + " value";
    if (type == DnsType::A || type == DnsType::AAAA) {
        out = canonical_address(type == DnsType::A ? AF_INET : AF_INET6, value);
        if (out.empty()) return "bad " + std::string(to_string(type)) + " address '" + std::string(value) + "'";
        return {};
    }
    return read_name(value, true, out);
}

std::string parse_data(DnsType type, std::string_view rest, std::string& out)
{
    switch (type) {
    case DnsType::TXT: return parse_txt(rest, out);
    case DnsType::MX: return parse_mx(rest, out);
    default: return parse_single(type, rest, out);
    }
}

}  // namespace

StaticResolver::StaticResolver(std::string_view text, Diagnostics& diagnostics, const std::string& origin)
{
    parse(text, diagnostics, origin);
}

StaticResolver StaticResolver::from_file(const std::string& path, Diagnostics& diagnostics)
{
    StaticResolver resolver;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        diagnostics.push_back({Diagnostic::Severity::error, path, 0, "cannot read the DNS file"});
        return resolver;
    }
    std::string text;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (text.size() > kMaxFileSize) {
            diagnostics.push_back({Diagnostic::Severity::error, path, 0, "DNS file larger than 16 MiB"});
            return resolver;
        }
    }
    resolver.parse(text, diagnostics, path);
    return resolver;
}

void StaticResolver::parse(std::string_view text, Diagnostics& diagnostics, const std::string& origin)
{
    int line_number = 0;
    while (!text.empty()) {
        const std::size_t newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        ++line_number;
        if (line.find('\0') != std::string_view::npos) {
            diagnostics.push_back({Diagnostic::Severity::error, origin, line_number, "NUL byte in line"});
            continue;
        }
        if (auto error = parse_line(line); !error.empty())
            diagnostics.push_back({Diagnostic::Severity::error, origin, line_number, std::move(error)});
    }
}

std::string StaticResolver::parse_line(std::string_view line)
{
    std::string_view rest = line;
    const std::string_view name = next_token(rest);
    if (name.empty()) return {};  // blank or comment
    std::string owner;
    if (auto error = read_name(name, false, owner); !error.empty()) return error;
    owner = canonical_dns_name(owner);
    const std::string_view type_text = next_token(rest);
    if (type_text.empty()) return "missing record type after '" + std::string(name) + "'";
    if (iequals(type_text, "TIMEOUT")) {
        if (!next_token(rest).empty()) return "unexpected data after TIMEOUT";
        timeouts_.insert(owner);
        return {};
    }
    DnsType type{};
    if (!parse_type(type_text, type))
        return "unknown record type '" + std::string(type_text) + "' (expected A, AAAA, MX, PTR, TXT, CNAME or TIMEOUT)";
    std::string value;
    if (auto error = parse_data(type, rest, value); !error.empty()) return error;
    return add_record(owner, type, std::move(value));
}

std::string StaticResolver::add_record(const std::string& name, DnsType type, std::string value)
{
    auto& records = records_[name];
    // DNS forbids a CNAME beside other data (RFC 1034 3.6.2); refusing it keeps lookups simple.
    for (const Record& record : records) {
        if ((record.type == DnsType::CNAME) != (type == DnsType::CNAME) || type == DnsType::CNAME)
            return "a CNAME cannot share its name with other records (" + name + ")";
    }
    records.push_back({type, std::move(value)});
    ++record_count_;
    add_ancestors(name);
    return {};
}

void StaticResolver::add_ancestors(const std::string& name)
{
    for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1))
        ancestors_.insert(name.substr(dot + 1));
}

DnsAnswer StaticResolver::query(std::string_view name, DnsType type)
{
    DnsAnswer answer;
    std::string current = canonical_dns_name(name);
    for (int link = 0; link <= kMaxCnameChain; ++link) {
        if (timeouts_.count(current)) {
            answer.status = DnsAnswer::Status::timeout;
            return answer;
        }
        const auto found = records_.find(current);
        if (found == records_.end()) {
            answer.status = ancestors_.count(current) ? DnsAnswer::Status::nodata : DnsAnswer::Status::nxdomain;
            return answer;
        }
        const std::string* cname = nullptr;
        for (const Record& record : found->second) {
            if (record.type == type) answer.records.push_back(record.value);
            if (record.type == DnsType::CNAME) cname = &record.value;
        }
        if (!answer.records.empty()) {
            answer.status = DnsAnswer::Status::ok;
            return answer;
        }
        if (!cname) {
            answer.status = DnsAnswer::Status::nodata;
            return answer;
        }
        current = canonical_dns_name(*cname);
    }
    // A CNAME loop or an over-long chain: an authoritative server answers with the chain and no
    // data of the asked type (NOERROR), which is nodata to the client.
    answer.status = DnsAnswer::Status::nodata;
    return answer;
}

}  // namespace ecomm

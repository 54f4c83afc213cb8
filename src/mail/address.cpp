// Address parsing for classification and the return-path rule. Every input here comes from the
// sender, so the scanners are single-pass, bounded, and never index past the text.
#include "mail/address.h"

#include <cctype>

#include "util/ascii.h"

namespace ecomm {

namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view text)
{
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    return text;
}

// Drops RFC 5322 comments (nested, with quoted-pairs), keeping quoted strings intact, so that
// "(x@evil) a@b" names only a@b.
std::string strip_comments(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    int depth = 0;
    bool in_quotes = false;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\\' && i + 1 < value.size()) {
            if (depth == 0) { out += c; out += value[i + 1]; }
            ++i;
            continue;
        }
        if (in_quotes) {
            if (c == '"') in_quotes = false;
            out += c;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')' && depth > 0) {
            if (--depth == 0) out += ' ';
        } else if (depth == 0) {
            if (c == '"') in_quotes = true;
            out += c;
        }
    }
    return out;
}

// "<@route,@route:user@host>" and "<user@host>" -> "user@host".
std::string_view angle_address(std::string_view element)
{
    bool in_quotes = false;
    std::size_t open = std::string_view::npos;
    for (std::size_t i = 0; i < element.size(); ++i) {
        const char c = element[i];
        if (c == '\\') { ++i; continue; }
        if (c == '"') in_quotes = !in_quotes;
        else if (!in_quotes && c == '<') { open = i; break; }
    }
    if (open == std::string_view::npos) return {};
    std::string_view inner = element.substr(open + 1);
    const auto close = inner.find('>');
    if (close != std::string_view::npos) inner = inner.substr(0, close);
    if (!inner.empty() && inner.front() == '@') {
        const auto colon = inner.find(':');
        inner = colon == std::string_view::npos ? std::string_view{} : inner.substr(colon + 1);
    }
    return trim(inner);
}

// A bare element may start with a group's display name: "Team: a@b" -> "a@b".
std::string_view bare_address(std::string_view element)
{
    bool in_quotes = false;
    for (std::size_t i = 0; i < element.size(); ++i) {
        const char c = element[i];
        if (c == '\\') { ++i; continue; }
        if (c == '"') in_quotes = !in_quotes;
        else if (!in_quotes && c == ':') return trim(element.substr(i + 1));
        else if (!in_quotes && c == '@') break;
    }
    return trim(element);
}

}  // namespace

std::string domain_of(std::string_view address)
{
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) return {};
    std::string domain = to_lower(trim(address.substr(at + 1)));
    while (!domain.empty() && (domain.back() == '.' || domain.back() == '>')) domain.pop_back();
    return domain;
}

std::string_view local_part_of(std::string_view address)
{
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? address : address.substr(0, at);
}

bool domain_in(std::string_view domain, const std::vector<std::string>& domains)
{
    if (domain.empty()) return false;
    const std::string lowered = to_lower(domain);
    for (const auto& candidate : domains) {
        if (lowered == candidate) return true;
        if (lowered.size() > candidate.size() && lowered.ends_with(candidate)
            && lowered[lowered.size() - candidate.size() - 1] == '.')
            return true;
    }
    return false;
}

std::vector<std::string> header_addresses(std::string_view value, std::size_t max_addresses)
{
    const std::string text = strip_comments(value);
    std::vector<std::string> addresses;
    bool in_quotes = false;
    bool in_angle = false;
    std::size_t start = 0;
    const auto take = [&](std::size_t end) {
        const std::string_view element = trim(std::string_view(text).substr(start, end - start));
        std::string_view address = angle_address(element);
        if (address.empty()) address = bare_address(element);
        if (address.find('@') != std::string_view::npos && addresses.size() < max_addresses)
            addresses.emplace_back(address);
        start = end + 1;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\') { ++i; continue; }
        if (c == '"') in_quotes = !in_quotes;
        else if (in_quotes) continue;
        else if (c == '<') in_angle = true;
        else if (c == '>') in_angle = false;
        else if (!in_angle && (c == ',' || c == ';')) take(i);
    }
    if (start <= text.size()) take(text.size());
    return addresses;
}

bool contains_token(std::string_view local_part, std::string_view identifier)
{
    if (identifier.empty() || identifier.size() > local_part.size()) return false;
    for (std::size_t at = 0; at + identifier.size() <= local_part.size(); ++at) {
        if (!iequals(local_part.substr(at, identifier.size()), identifier)) continue;
        const bool starts_clean = at == 0 || !is_alnum(local_part[at - 1]);
        const std::size_t end = at + identifier.size();
        const bool ends_clean = end == local_part.size() || !is_alnum(local_part[end]);
        if (starts_clean && ends_clean) return true;
    }
    return false;
}

}  // namespace ecomm

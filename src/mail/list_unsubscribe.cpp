// List-Unsubscribe (RFC 2369) and one-click (RFC 8058) parsing. The values come from the
// sender, so every scan is single-pass, bounded by the value, and never indexes past it.
#include "mail/list_unsubscribe.h"

#include "mail/address.h"

namespace ecomm {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// ASCII case-insensitive prefix test against a lower-case scheme ("https:").
bool has_scheme(std::string_view uri, std::string_view scheme)
{
    if (uri.size() < scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        const char c = uri[i] >= 'A' && uri[i] <= 'Z' ? static_cast<char>(uri[i] + 32) : uri[i];
        if (c != scheme[i]) return false;
    }
    return true;
}

// RFC 3986 unreserved, gen-delims, sub-delims and '%' (checked apart).
bool is_uri_char(char c)
{
    if (is_alnum(c)) return true;
    switch (c) {
    case '-': case '.': case '_': case '~':
    case ':': case '/': case '?': case '#': case '[': case ']': case '@':
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
    case ';': case '=': case '%':
        return true;
    default:
        return false;
    }
}

bool valid_uri_characters(std::string_view uri)
{
    for (std::size_t i = 0; i < uri.size(); ++i) {
        const char c = uri[i];
        if (!is_uri_char(c)) return false;
        if (c == '%' && (i + 2 >= uri.size() || !is_hex(uri[i + 1]) || !is_hex(uri[i + 2]))) return false;
    }
    return true;
}

// A DNS name of at least two labels (1..63 letters, digits, hyphens, no hyphen at either end),
// at most 253 characters; one trailing dot allowed. Dotted IPv4 passes as well.
bool valid_dns_name(std::string_view host)
{
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty() || host.size() > 253) return false;
    std::size_t labels = 0;
    while (true) {
        const auto dot = host.find('.');
        const std::string_view label = host.substr(0, dot);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!is_alnum(c) && c != '-') return false;
        ++labels;
        if (dot == std::string_view::npos) break;
        host.remove_prefix(dot + 1);
    }
    return labels >= 2;
}

bool valid_ip_literal(std::string_view host)
{
    if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
    const std::string_view inner = host.substr(1, host.size() - 2);
    bool colon = false;
    for (char c : inner) {
        if (c == ':') colon = true;
        else if (!is_hex(c) && c != '.') return false;
    }
    return colon;
}

// "//" authority [path-abempty ...] after "http:" or "https:".
bool valid_web_rest(std::string_view rest)
{
    if (rest.substr(0, 2) != "//") return false;
    rest.remove_prefix(2);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    const auto at = authority.rfind('@');
    if (at != std::string_view::npos) authority.remove_prefix(at + 1);  // userinfo
    std::string_view host = authority;
    const auto bracket = authority.rfind(']');
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        const std::string_view port = authority.substr(colon + 1);
        if (port.empty() || port.size() > 5) return false;
        unsigned value = 0;
        for (char c : port) {
            if (!is_digit(c)) return false;
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value == 0 || value > 65535) return false;
        host = authority.substr(0, colon);
    }
    return !host.empty() && host.front() == '[' ? valid_ip_literal(host) : valid_dns_name(host);
}

// mailto:addr[,addr...][?hfields] (RFC 6068), each addr local@domain.
bool valid_mailto_rest(std::string_view rest)
{
    const std::string_view to = rest.substr(0, rest.find('?'));
    if (to.empty()) return false;
    std::string_view list = to;
    while (true) {
        const auto comma = list.find(',');
        const std::string_view address = list.substr(0, comma);
        const auto at = address.rfind('@');
        if (at == std::string_view::npos || at == 0 || !valid_dns_name(address.substr(at + 1))) return false;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return true;
}

// Skips blanks and (nested) comments from i; returns the new position.
std::size_t skip_blanks_and_comments(std::string_view text, std::size_t i)
{
    while (i < text.size()) {
        if (is_blank(text[i])) {
            ++i;
        } else if (text[i] == '(') {
            int depth = 0;
            for (; i < text.size(); ++i) {
                if (text[i] == '\\') { ++i; continue; }
                if (text[i] == '(') ++depth;
                else if (text[i] == ')' && --depth == 0) { ++i; break; }
            }
        } else {
            break;
        }
    }
    return i;
}

// The position of the next ',' at or after i outside comments and brackets (or the end).
std::size_t next_separator(std::string_view text, std::size_t i)
{
    int depth = 0;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\') { ++i; continue; }
        if (c == '(') ++depth;
        else if (c == ')' && depth > 0) --depth;
        else if (c == ',' && depth == 0) return i;
    }
    return text.size();
}

std::string shown(std::string_view text)
{
    constexpr std::size_t limit = 80;
    std::string out = "'";
    for (char c : text.substr(0, limit)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (text.size() > limit) out += "...";
    return out + "'";
}

void add_uri(ListUnsubscribe& result, std::string_view uri, std::size_t max_uris)
{
    const UnsubscribeUri kind = classify_unsubscribe_uri(uri);
    if (kind == UnsubscribeUri::none) {
        if (result.ignored.size() < max_uris) result.ignored.push_back(shown(uri));
        return;
    }
    if (kind == UnsubscribeUri::https) result.https = true;
    if (kind == UnsubscribeUri::http) result.http = true;
    if (kind == UnsubscribeUri::mailto) result.mailto = true;
    if (result.uris.size() < max_uris) result.uris.emplace_back(uri.substr(0, max_uri_chars));
}

void parse_into(ListUnsubscribe& result, std::string_view value, std::size_t max_uris)
{
    std::size_t i = 0;
    while (true) {
        i = skip_blanks_and_comments(value, i);
        if (i >= value.size()) return;
        if (value[i] == ',') { ++i; continue; }
        if (value[i] == '<') {
            const auto close = value.find('>', i + 1);
            if (close == std::string_view::npos) {
                if (result.ignored.size() < max_uris) result.ignored.push_back(shown(value.substr(i)) + " (no closing '>')");
                return;
            }
            std::string uri;
            for (std::size_t k = i + 1; k < close; ++k)
                if (!is_blank(value[k])) uri += value[k];
            add_uri(result, uri, max_uris);
            i = close + 1;
            continue;
        }
        // Not a bracketed URI: skip the element.
        const std::size_t end = next_separator(value, i);
        std::string_view garbage = value.substr(i, end - i);
        while (!garbage.empty() && is_blank(garbage.back())) garbage.remove_suffix(1);
        if (result.ignored.size() < max_uris) result.ignored.push_back(shown(garbage));
        i = end;
    }
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    return text;
}

}  // namespace

UnsubscribeUri classify_unsubscribe_uri(std::string_view uri)
{
    if (uri.size() > 8192 || !valid_uri_characters(uri)) return UnsubscribeUri::none;
    if (has_scheme(uri, "https:"))
        return valid_web_rest(uri.substr(6)) ? UnsubscribeUri::https : UnsubscribeUri::none;
    if (has_scheme(uri, "http:"))
        return valid_web_rest(uri.substr(5)) ? UnsubscribeUri::http : UnsubscribeUri::none;
    if (has_scheme(uri, "mailto:"))
        return valid_mailto_rest(uri.substr(7)) ? UnsubscribeUri::mailto : UnsubscribeUri::none;
    return UnsubscribeUri::none;
}

ListUnsubscribe parse_list_unsubscribe(std::string_view value, std::size_t max_uris)
{
    ListUnsubscribe result;
    parse_into(result, value, max_uris);
    return result;
}

ListUnsubscribe parse_list_unsubscribe(const std::vector<std::string_view>& values, std::size_t max_uris)
{
    ListUnsubscribe result;
    for (std::string_view value : values) parse_into(result, value, max_uris);
    return result;
}

OneClick check_one_click(const ListUnsubscribe& list_unsubscribe, const std::vector<std::string_view>& post_values)
{
    if (post_values.empty()) return OneClick::absent;
    if (post_values.size() > 1 || !iequals(trim(post_values.front()), "List-Unsubscribe=One-Click"))
        return OneClick::malformed;
    return list_unsubscribe.https ? OneClick::valid : OneClick::without_https;
}

std::string_view to_string(OneClick one_click)
{
    switch (one_click) {
    case OneClick::absent: return "absent";
    case OneClick::malformed: return "malformed";
    case OneClick::without_https: return "without-https";
    case OneClick::valid: return "valid";
    }
    return "absent";
}

std::string_view to_string(UnsubscribeUri kind)
{
    switch (kind) {
    case UnsubscribeUri::none: return "none";
    case UnsubscribeUri::https: return "https";
    case UnsubscribeUri::http: return "http";
    case UnsubscribeUri::mailto: return "mailto";
    }
    return "none";
}

}  // namespace ecomm

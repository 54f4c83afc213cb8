// Authentication-Results header building and matching (see authentication_results.h).
#include "policy/authentication_results.h"

#include <algorithm>

#include "mail/address.h"

namespace ecomm {

namespace {

bool printable_without(std::string_view value, std::string_view specials)
{
    return !value.empty() && std::all_of(value.begin(), value.end(), [&](char c) {
        return c > ' ' && c < 0x7F && specials.find(c) == std::string_view::npos;
    });
}

// RFC 8601 2.2: a property value is an RFC 2045 token, a [local-part@]domain, or a quoted string.
std::string property_value(std::string_view value)
{
    const bool token = printable_without(value, "()<>@,;:\\\"/[]?=");
    const bool mailbox = value.find('@') != std::string_view::npos && printable_without(value, "()<>,;:\\\"[]");
    if (token || mailbox) return std::string(value);
    std::string quoted = "\"";
    for (const char c : value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) continue;
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return quoted + "\"";
}

std::string spf_part(const MessageFacts& facts)
{
    std::string part = "spf=";
    part += facts.spf ? to_string(facts.spf->code) : "none";
    if (!facts.spf) return part;
    if (facts.spf->helo_identity)
        part += " smtp.helo=" + property_value(facts.helo.empty() ? facts.spf->domain : facts.helo);
    else
        part += " smtp.mailfrom=" + property_value(facts.mail_from);
    return part;
}

std::string dkim_part(const DkimSignatureResult& signature)
{
    std::string part = "dkim=" + std::string(to_string(signature.code));
    if (!signature.reason.empty() && (signature.code != DkimSignatureResult::Code::pass || signature.testing))
        part += " (" + std::string(signature.reason) + ")";
    if (!signature.domain.empty()) part += " header.d=" + property_value(signature.domain);
    if (!signature.selector.empty()) part += " header.s=" + property_value(signature.selector);
    if (!signature.algorithm.empty()) part += " header.a=" + property_value(signature.algorithm);
    if (!signature.signature_prefix.empty()) part += " header.b=" + property_value(signature.signature_prefix);
    return part;
}

// The authserv-id is the first token of the value, before ';' (RFC 8601 2.2), after any comment.
std::string claimed_id(std::string_view value)
{
    std::size_t at = 0;
    while (at < value.size()) {
        const char c = value[at];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++at;
        } else if (c == '(') {
            int depth = 0;
            for (; at < value.size(); ++at) {
                if (value[at] == '(') ++depth;
                else if (value[at] == ')' && --depth == 0) { ++at; break; }
            }
        } else {
            break;
        }
    }
    std::size_t end = at;
    while (end < value.size() && value[end] != ';' && value[end] != ' ' && value[end] != '\t'
           && value[end] != '\r' && value[end] != '\n' && value[end] != '(')
        ++end;
    std::string id(value.substr(at, end - at));
    if (id.size() >= 2 && id.front() == '"' && id.back() == '"') id = id.substr(1, id.size() - 2);
    return id;
}

}  // namespace

std::string authentication_results_value(const std::string& authserv_id, const MessageFacts& facts)
{
    std::string value;
    value.reserve(256);  // one allocation for the usual one signature
    value.append(authserv_id).append(";\n\t").append(spf_part(facts));
    if (facts.dkim.empty()) return value.append(";\n\tdkim=none");
    for (const auto& signature : facts.dkim) value.append(";\n\t").append(dkim_part(signature));
    return value;
}

bool claims_authserv_id(std::string_view value, std::string_view authserv_id)
{
    return !authserv_id.empty() && iequals(claimed_id(value), authserv_id);
}

}  // namespace ecomm

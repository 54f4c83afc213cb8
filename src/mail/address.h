// Mail addresses as the rules need them: the parts of an addr-spec, whether a domain belongs to
// a set (subdomains included), the addresses named in an address-list header such as From:,
// and whether an identifier stands as a whole token in a local part.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "util/ascii.h"  // to_lower, iequals, istarts_with

namespace ecomm {

// The text after the last '@', lower-cased, without a trailing dot; empty when there is none.
std::string domain_of(std::string_view address);
// The text before the last '@' (the whole text when there is none).
std::string_view local_part_of(std::string_view address);

// True when domain equals one of domains or is a subdomain of one (case-insensitive).
bool domain_in(std::string_view domain, const std::vector<std::string>& domains);

// The addr-specs of an address-list header value (RFC 5322 From:, To:, Cc:), skipping display
// names, comments, quoted strings and group syntax. Bounded: at most max_addresses returned.
std::vector<std::string> header_addresses(std::string_view value, std::size_t max_addresses = 64);

// True when identifier occurs in local_part (case-insensitive) bounded on both sides by the
// start or end of the text or a character that is not a letter or digit: "mc7f3a" is a token of
// "bounce-mc7f3a-42" but not of "bounce-xmc7f3a".
bool contains_token(std::string_view local_part, std::string_view identifier);

}  // namespace ecomm

// How the MTA hands header values to the milter and takes them back. Postfix and Sendmail strip
// one SP (never a TAB) after "Name:" from each value they send, and insert one before each value
// the milter adds or changes, unless the milter negotiates SMFIP_HDR_LEADSPC: then values go both
// ways exactly as written after the colon. DKIM's simple header canonicalisation needs the field
// as written, so the milter negotiates it when the MTA offers it (src/milter/glue.cpp).
#pragma once
#include <string_view>

namespace ecomm {

enum class HeaderValueForm {
    space_removed,  // without SMFIP_HDR_LEADSPC (and test mode): one leading SP is the MTA's
    as_written,     // SMFIP_HDR_LEADSPC negotiated: the value carries its own leading space
};

// Turns an as_written value into the space_removed form the rest of the milter reads: drops one
// leading SP if there is one, as the MTA would have. Returns whether it did.
inline bool remove_leading_space(std::string_view& value)
{
    if (value.empty() || value.front() != ' ') return false;
    value.remove_prefix(1);
    return true;
}

}  // namespace ecomm

// The unsubscribe mechanisms a message announces in its header (eComm policy IV.C.1.a):
// List-Unsubscribe (RFC 2369) and RFC 8058 one-click (List-Unsubscribe-Post).
//
// RFC 2369: the value is a comma-separated list of URIs, each enclosed in angle brackets;
// whitespace inside the brackets is ignored (long URIs may be folded) and comments may stand
// between elements:
//   List-Unsubscribe: <https://e.example.edu/u/42> (web), <mailto:leave-42@e.example.edu>
//
// Only what a recipient can actually use counts as a mechanism: an https URI with a real host,
// a mailto URI naming an address, and (reported apart, the rule decides whether it suffices)
// an http URI. Everything else is ignored and listed: other schemes, unbracketed text, URIs
// with characters RFC 3986 forbids (unfilled template placeholders such as "{{unsub}}"
// included), hosts that are no DNS name or IP literal.
//
// RFC 8058 one-click needs List-Unsubscribe-Post with exactly "List-Unsubscribe=One-Click" and
// at least one https URI in List-Unsubscribe. (RFC 8058 also wants a DKIM signature covering
// both fields; that is the authentication rule's business, not checked here.)
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ecomm {

enum class UnsubscribeUri { none, https, http, mailto };

// What kind of usable unsubscribe URI text is (no whitespace, no brackets), strictly:
//   https://host[:port][/path][?query][#fragment]  (http likewise), host a DNS name with at
//     least two labels (letters, digits, hyphens), an IPv4 address or an [IPv6] literal;
//   mailto:local@domain[,local@domain...][?hfields], domain a DNS name with at least two labels.
// Schemes are case-insensitive; every character must be one RFC 3986 allows, and '%' must
// start a %XX escape. Anything else is none.
UnsubscribeUri classify_unsubscribe_uri(std::string_view uri);

struct ListUnsubscribe {
    bool https = false;                 // at least one usable https URI
    bool http = false;                  // at least one usable http URI
    bool mailto = false;                // at least one usable mailto URI
    std::vector<std::string> uris;      // the usable URIs in order, at most max_uris, each cut
                                        // to max_uri_chars (for logs, not for use)
    std::vector<std::string> ignored;   // what did not count, quoted and cut short, at most max_uris

    // A link or an address to unsubscribe with, as IV.C.1.a asks. http counts as it does for a
    // link in the body (RFC 2369 allows any scheme); only RFC 8058 one-click needs https.
    bool has_mechanism() const { return https || http || mailto; }
};

inline constexpr std::size_t max_uri_chars = 512;

// Parses one List-Unsubscribe value (folding kept or not). Never throws on any input; the
// work is linear in the value's length. An element may lack its comma ("<a> <b>" gives two
// URIs); text that is not a bracketed URI is skipped up to the next comma and listed as ignored.
ListUnsubscribe parse_list_unsubscribe(std::string_view value, std::size_t max_uris = 8);

// Merges the URIs of every List-Unsubscribe field of a message (a message should carry one,
// but a second field does not cancel the first).
ListUnsubscribe parse_list_unsubscribe(const std::vector<std::string_view>& values, std::size_t max_uris = 8);

enum class OneClick {
    absent,         // no List-Unsubscribe-Post field
    malformed,      // a value other than "List-Unsubscribe=One-Click", or more than one field
    without_https,  // the Post field is right, but List-Unsubscribe has no usable https URI
    valid,
};

// post_values: the values of every List-Unsubscribe-Post field of the message, in order.
// The key/value pair is compared case-insensitively after removing surrounding whitespace and
// folding; nothing else may stand in the value.
OneClick check_one_click(const ListUnsubscribe& list_unsubscribe, const std::vector<std::string_view>& post_values);

std::string_view to_string(OneClick one_click);
std::string_view to_string(UnsubscribeUri kind);

}  // namespace ecomm

// SPF (RFC 7208) verdicts with libspf2, asking DNS through the project's DnsResolver (so that
// look-ups are bounded, cached per transaction and answerable from a static file in tests).
//
// check_spf evaluates the MAIL FROM identity, or for the null sender (<> or empty) the HELO
// identity as postmaster@HELO, as RFC 7208 2.4 says. It never throws and never aborts on bad
// input: a domain that is not a multi-label name of valid labels (a domain literal, an empty
// or over-long label) is "none" without a query (RFC 7208 4.3); DNS timeouts and server
// failures are "temperror"; records that cannot be compiled are "permerror"; failure to set up
// libspf2 itself is "temperror" (try again later).
//
// Where libspf2 follows RFC 4408 rather than RFC 7208, its answer is kept; the known differences
// are listed, case by case, in tests/unit/spf-deviations.txt. Three are worth knowing here: the
// void-lookup limit (RFC 7208 4.6.4) is not enforced; the 10-term limit is counted per record by
// libspf2, so this layer bounds the whole check instead (at most 10 include:/redirect= records
// and 112 look-ups, else permerror), which stops a tree of includes but not an 11th term spread
// over levels; and a loopback client (127.0.0.0/8, ::1) always passes (libspf2's "localhost free
// ride"; the classifier treats loopback as internal, so SPF is never asked about it in the
// milter).
//
// Thread-safe: each thread keeps its own libspf2 server, bound to the caller's resolver only for
// the duration of one call.
#pragma once
#include <string>
#include <string_view>

#include "dns/resolver.h"
#include "net/ip_address.h"

namespace ecomm {

struct SpfResult {
    enum class Code { none, neutral, pass, fail, softfail, temperror, permerror };
    Code code = Code::none;
    std::string domain;       // the domain checked: the MAIL FROM domain, or the HELO name for <>
    bool helo_identity = false;  // true when the HELO name was checked (null sender)
    std::string explanation;  // for fail: the domain's exp= text or libspf2's default (printable)
    std::string comment;      // why, in words: libspf2's header comment or our own reason
};

// RFC 8601 / RFC 7208 result names: "none", "neutral", "pass", "fail", "softfail",
// "temperror", "permerror".
const char* to_string(SpfResult::Code code);

// mail_from may be bare (user@example.org) or in angle brackets; "" and "<>" are the null
// sender. helo may be empty when the client sent none.
SpfResult check_spf(DnsResolver& resolver, const IpAddress& client, std::string_view helo,
                    std::string_view mail_from);

}  // namespace ecomm

// What the milter knows about one message: the facts every rule decides on. Filled by the
// session from libmilter callbacks (or by -t from a file), never by the rules themselves.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "auth/dkim.h"
#include "auth/spf.h"
#include "mime/scanner.h"
#include "net/ip_address.h"
#include "policy/counter_facts.h"

namespace ecomm {

struct Header {
    std::string name;
    std::string value;  // as received, folding kept, leading space removed
};

struct MessageFacts {
    // Connection
    std::string client_hostname;           // as the MTA reported it, e.g. "mta1.example.net" or "unknown"
    std::optional<IpAddress> client_ip;     // absent for non-IP connections (local submission)
    std::string helo;
    std::string auth_user;                  // {auth_authen}; empty when not authenticated

    // Envelope
    std::string mail_from;                  // address without angle brackets; empty for <>
    std::vector<std::string> recipients;

    // Content
    std::vector<Header> headers;            // in order, bounded by the session
    // 1-based occurrence numbers, among the incoming Authentication-Results headers, of those
    // that claim our authserv-id (forged or stale: removed before ours is added), ascending.
    // Every A-R header is counted; at most kMaxForgedAuthenticationResults numbers are kept.
    std::vector<int> forged_authentication_results;
    std::string queue_id;                   // {i}; empty when unknown

    // Authentication, evaluated once per message for non-internal senders (absent: not evaluated)
    std::optional<SpfResult> spf;
    std::vector<DkimSignatureResult> dkim;  // one per signature; empty: unsigned or not evaluated
    bool authenticated = false;             // spf/dkim above were evaluated

    // Body, scanned as it streams for senders that are not internal
    bool body_scanned = false;
    std::vector<MimeFinding> attachments;   // empty: none found
    bool unsubscribe_link = false;          // an unsubscribe/preferences link in the text (not
                                            // looked for behind a usable List-Unsubscribe)
    std::string unsubscribe_link_evidence;
    std::chrono::system_clock::time_point now{};

    // Shared counters, for registered senders (and rate-limited clients)
    std::optional<RateFacts> rate;
    std::optional<AudienceFacts> audience;

    // All values of a header, case-insensitive name match.
    std::vector<const Header*> find_headers(std::string_view name) const;
    std::vector<std::string_view> header_values(std::string_view name) const;
    const Header* first_header(std::string_view name) const;
};

}  // namespace ecomm

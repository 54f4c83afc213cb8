// Per-connection state fed by the MTA's events, one message at a time. The milter glue and the
// -t test mode drive the same object, so both run exactly the same pipeline.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/dkim.h"
#include "config/snapshot.h"
#include "core/clock.h"
#include "core/rate_counter.h"
#include "dns/caching_resolver.h"
#include "mail/header_value.h"
#include "mail/unsubscribe_link_finder.h"
#include "mime/scanner.h"
#include "policy/facts.h"
#include "policy/verdict.h"

namespace ecomm {

class Session {
public:
    explicit Session(std::shared_ptr<const Snapshot> snapshot, Clock clock = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Called before each DNS query that goes to the network, and while a throttled message is
    // held (the glue calls smfi_progress).
    void set_dns_progress(DnsProgress progress);

    void connect(std::string hostname, std::optional<IpAddress> address);
    void helo(std::string name);
    // Starts a new message (the previous one, if any, is forgotten).
    void mail_from(std::string_view address, std::string auth_user);
    void recipient(std::string_view address);
    // One header field. form: how the MTA sent value (mail/header_value.h); the session reads
    // every value in the space_removed form, as it always has, and DKIM gets the field as written.
    void header(std::string_view name, std::string_view value,
                HeaderValueForm form = HeaderValueForm::space_removed);
    // Once per message: called by the first body chunk or end of message if not before (the
    // milter negotiates the MTA's end-of-headers command away, src/milter/glue.h).
    void end_of_headers();
    void body(std::string_view chunk);
    // False when no rule needs more of the body (the glue may answer SMFIS_SKIP).
    bool wants_body() const;
    // Runs the pipeline. The message's rate reservation is committed when the verdict accepts it
    // and released otherwise.
    Verdict end_of_message(std::string queue_id, std::chrono::system_clock::time_point now);
    void abort_message();

    const Snapshot& snapshot() const { return *snapshot_; }
    const MessageFacts& facts() const { return facts_; }

private:
    void count_message(const Classification& classification);
    void count_audience(const RegistryEntry& sender);

    std::shared_ptr<const Snapshot> snapshot_;
    Clock clock_;
    std::unique_ptr<RateCounter> rate_;       // per message, when the snapshot has counters
    DnsProgress progress_;
    std::unique_ptr<CachingResolver> dns_;   // per message, in front of the snapshot's resolver
    std::optional<DkimVerifier> dkim_;       // per message, for senders that are not internal
    // Before mime_, which writes to it; none when the config or List-Unsubscribe makes a body
    // link irrelevant.
    std::unique_ptr<UnsubscribeLinkFinder> links_;
    std::unique_ptr<MimeScanner> mime_;
    MessageFacts facts_;
    std::size_t header_bytes_ = 0;
    std::size_t overflow_kept_ = 0;
    std::size_t authentication_results_seen_ = 0;
    bool headers_ended_ = false;
};

// Strips angle brackets, a source route, ESMTP parameters and surrounding blanks from a MAIL FROM
// / RCPT TO argument: "<a@b.c> SIZE=10" -> "a@b.c"; "<@r.example:a@b.c>" -> "a@b.c"; "<>" -> "".
std::string envelope_address(std::string_view argument);

}  // namespace ecomm

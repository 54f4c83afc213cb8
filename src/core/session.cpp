// Session: gathers the facts of each message from the MTA's events and runs the pipeline at end
// of message. Header storage is bounded so a hostile header section cannot grow memory without
// limit; past the bound only the headers the rules read (From, Sender, Subject) are kept, and
// the MIME scanner still sees every field (it keeps its own, within its own bound).
// Authentication and body scanning run only for senders that are not internal: DKIM and the
// MIME scanner are fed headers and body as they stream, SPF is evaluated once at end of message,
// and every DNS answer is cached for the message.
#include "core/session.h"

#include "counters/counter_store.h"
#include "mail/address.h"
#include "mail/list_unsubscribe.h"
#include "policy/authentication_results.h"
#include "policy/calendar.h"
#include "policy/campaign.h"
#include "policy/classify.h"
#include "policy/pipeline.h"
#include "policy/rule.h"

namespace ecomm {

namespace {

constexpr std::size_t kMaxHeaderBytes = 1 << 20;   // Postfix's own default limit is 100 KB
constexpr std::size_t kMaxHeaders = 4096;
constexpr std::size_t kMaxKeptOverLimit = 64;      // rule-relevant headers kept past the bound
constexpr std::size_t kMaxRecipients = 100000;
constexpr std::size_t kMaxForgedAuthenticationResults = 4096;  // removals a message may need

bool rule_relevant(std::string_view name)
{
    return iequals(name, "From") || iequals(name, "Sender") || iequals(name, "Subject");
}

}  // namespace

std::string envelope_address(std::string_view argument)
{
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!argument.empty() && blank(argument.front())) argument.remove_prefix(1);
    if (!argument.empty() && argument.front() == '<') {
        const auto close = argument.find('>');
        const std::size_t length = close == std::string_view::npos ? std::string_view::npos : close - 1;
        std::string_view path = argument.substr(1, length);
        // A source route ("<@relay.example:user@host>") is to be ignored (RFC 5321 4.1.1.2,
        // appendix C): the return-path rule judges the mailbox, not the relays before it.
        if (!path.empty() && path.front() == '@')
            if (const auto colon = path.find(':'); colon != std::string_view::npos) path.remove_prefix(colon + 1);
        return std::string(path);
    }
    std::size_t end = 0;
    while (end < argument.size() && !blank(argument[end])) ++end;
    return std::string(argument.substr(0, end));
}

Session::Session(std::shared_ptr<const Snapshot> snapshot, Clock clock)
    : snapshot_(std::move(snapshot)), clock_(std::move(clock))
{
}
Session::~Session() = default;

void Session::connect(std::string hostname, std::optional<IpAddress> address)
{
    facts_.client_hostname = std::move(hostname);
    facts_.client_ip = address;
}

void Session::helo(std::string name) { facts_.helo = std::move(name); }

void Session::set_dns_progress(DnsProgress progress) { progress_ = std::move(progress); }

void Session::mail_from(std::string_view address, std::string auth_user)
{
    abort_message();
    facts_.mail_from = envelope_address(address);
    facts_.auth_user = std::move(auth_user);
    const MainConfig& config = snapshot_->config;
    if (is_internal_sender(facts_, config)) return;  // no control applies: nothing to gather
    if (snapshot_->counters) {
        facts_.now = clock_.now();  // classification needs the date (registry expiry)
        // Reserve now, so that messages in flight count against the sender; the header From:
        // and DKIM may still change who the sender is by end of message.
        rate_ = std::make_unique<RateCounter>(*snapshot_->counters, clock_);
        if (const auto subject = rate_subject(classify(facts_, *snapshot_), facts_, config)) rate_->reserve(*subject);
    }
    if (snapshot_->resolver) {
        dns_ = std::make_unique<CachingResolver>(*snapshot_->resolver, progress_,
                                                 std::chrono::seconds(config.dns_budget_seconds));
        if (snapshot_->dkim) dkim_.emplace(snapshot_->dkim, *dns_);
    }
    // Whether the body rules apply is known only at end of message (DKIM may register the
    // sender), so every message that is not internal is scanned as it streams.
    if (config.unsubscribe_body_link) links_ = std::make_unique<UnsubscribeLinkFinder>();
    auto options = snapshot_->mime_options ? snapshot_->mime_options : make_mime_options(config);
    mime_ = std::make_unique<MimeScanner>(std::move(options), links_.get());
}

void Session::recipient(std::string_view address)
{
    if (facts_.recipients.size() < kMaxRecipients) facts_.recipients.push_back(envelope_address(address));
}

void Session::header(std::string_view name, std::string_view value, HeaderValueForm form)
{
    // Without SMFIP_HDR_LEADSPC the MTA took a SP that was (most likely) there.
    const bool space_removed = form == HeaderValueForm::space_removed || remove_leading_space(value);
    header_bytes_ += name.size() + value.size();
    const bool within_bound = header_bytes_ <= kMaxHeaderBytes && facts_.headers.size() < kMaxHeaders;
    if (dkim_) {
        if (within_bound) dkim_->header(name, value, space_removed);
        else dkim_->header_block_incomplete();
    }
    // Past the bound too: a flood of fields before Content-Type must not hide an attachment
    // (the MIME parser keeps only its own fields, within its own bound).
    if (mime_) mime_->header(name, value);
    if (iequals(name, "Authentication-Results")) {
        ++authentication_results_seen_;
        if (claims_authserv_id(value, snapshot_->config.authserv_id) &&
            facts_.forged_authentication_results.size() < kMaxForgedAuthenticationResults)
            facts_.forged_authentication_results.push_back(static_cast<int>(authentication_results_seen_));
    }
    if (!within_bound && !(rule_relevant(name) && overflow_kept_ < kMaxKeptOverLimit)) return;
    if (!within_bound) ++overflow_kept_;
    facts_.headers.push_back({std::string(name), std::string(value)});
}

void Session::end_of_headers()
{
    if (headers_ended_) return;
    headers_ended_ = true;
    if (dkim_) dkim_->end_of_headers();
    // The unsubscribe rule passes a usable List-Unsubscribe before it looks for a body link, and
    // judges only promotional mail of registered senders (policy/rules/unsubscribe.cpp): when
    // either settles it, the search could not change the outcome.
    const auto body_link_cannot_matter = [&] {
        if (parse_list_unsubscribe(facts_.header_values("List-Unsubscribe")).has_mechanism()) return true;
        const std::vector<std::string> signers = dkim_ ? dkim_->signing_domains() : std::vector<std::string>{};
        return !unsubscribe_link_may_matter(facts_, *snapshot_, signers);
    };
    if (links_ && mime_ && body_link_cannot_matter()) {
        mime_->drop_text_sink();
        links_.reset();
    }
    if (mime_) mime_->end_of_headers();
}

void Session::body(std::string_view chunk)
{
    end_of_headers();  // the MTA sends no end of headers: the milter negotiates it away
    if (dkim_ && dkim_->wants_body()) dkim_->body(chunk);
    if (mime_) mime_->body(chunk);
}

bool Session::wants_body() const { return mime_ || (dkim_ && dkim_->wants_body()); }

Verdict Session::end_of_message(std::string queue_id, std::chrono::system_clock::time_point now)
{
    end_of_headers();  // a message without a body chunk
    facts_.queue_id = std::move(queue_id);
    facts_.now = now;
    if (dns_) {
        if (dkim_) facts_.dkim = dkim_->finish();
        if (facts_.client_ip) facts_.spf = check_spf(*dns_, *facts_.client_ip, facts_.helo, facts_.mail_from);
        facts_.authenticated = true;
    }
    if (mime_) {
        mime_->finish();
        facts_.attachments = mime_->findings();
        facts_.body_scanned = true;
        if (links_) {
            facts_.unsubscribe_link = links_->found();
            facts_.unsubscribe_link_evidence = links_->evidence();
        }
    }
    // The rate and audience facts count_message adds do not change the class.
    Classification classification = classify(facts_, *snapshot_);
    if (rate_) count_message(classification);
    Verdict verdict = run_pipeline(facts_, *snapshot_, std::move(classification));
    if (rate_) {
        const bool refused = verdict.action == Action::reject || verdict.action == Action::tempfail ||
                             verdict.action == Action::discard;
        if (refused)
            rate_->release();
        else
            rate_->commit();
    }
    return verdict;
}

void Session::count_message(const Classification& classification)
{
    const MainConfig& config = snapshot_->config;
    if (const auto subject = rate_subject(classification, facts_, config)) {
        // Throttling is part of enforcing the rate: not in monitor mode, nor when the rule only logs.
        const Action action = config.action_for("rate");
        const bool enforced = !config.monitor && (action == Action::tempfail || action == Action::reject);
        const auto hold = enforced ? std::chrono::seconds(config.throttle_delay_seconds) : std::chrono::seconds(0);
        facts_.rate = rate_->finish(*subject, hold, progress_);
    } else {
        rate_->release();
    }
    if (classification.sender_class == SenderClass::registered && classification.entry)
        count_audience(*classification.entry);
}

void Session::count_audience(const RegistryEntry& sender)
{
    const MainConfig& config = snapshot_->config;
    const CampaignId campaign =
        campaign_of(facts_, sender.id, config.campaign_headers, local_date(facts_.now, config.time_zone));
    const auto recipients = university_recipient_hashes(facts_, config.university_domains);
    const CampaignUpdate update = snapshot_->counters->add_to_campaign(
        campaign.key, sender.id, recipients, declared_audience(facts_, config.audience_header),
        static_cast<std::uint64_t>(config.bulk_threshold), std::chrono::hours(config.audience_window_hours),
        facts_.now);
    AudienceFacts& audience = facts_.audience.emplace();
    audience.campaign = campaign.key;
    audience.source = campaign.source;
    audience.estimate = update.estimate;
    audience.declared = update.declared;
    audience.this_message = recipients.size();
    audience.first_crossing = update.first_crossing;
}

void Session::abort_message()
{
    facts_.mail_from.clear();
    facts_.auth_user.clear();
    facts_.recipients.clear();
    facts_.headers.clear();
    facts_.forged_authentication_results.clear();
    facts_.queue_id.clear();
    facts_.spf.reset();
    facts_.dkim.clear();
    facts_.authenticated = false;
    facts_.body_scanned = false;
    facts_.attachments.clear();
    facts_.unsubscribe_link = false;
    facts_.unsubscribe_link_evidence.clear();
    facts_.rate.reset();
    facts_.audience.reset();
    rate_.reset();  // releases a reservation still open
    mime_.reset();
    links_.reset();
    dkim_.reset();
    dns_.reset();
    header_bytes_ = 0;
    overflow_kept_ = 0;
    authentication_results_seen_ = 0;
    headers_ended_ = false;
}

}  // namespace ecomm

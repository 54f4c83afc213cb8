// Session: gathers the facts of each message from the MTA's events and runs the pipeline at end
// of message. Header storage is bounded so a hostile header section cannot grow memory without
// limit; past the bound only the headers the rules read (From, Sender, Subject) are kept.
#include "core/session.h"

#include "mail/address.h"
#include "policy/pipeline.h"

namespace ecomm {

namespace {

constexpr std::size_t kMaxHeaderBytes = 1 << 20;   // Postfix's own default limit is 100 KB
constexpr std::size_t kMaxHeaders = 4096;
constexpr std::size_t kMaxKeptOverLimit = 64;      // rule-relevant headers kept past the bound
constexpr std::size_t kMaxRecipients = 100000;

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
        return std::string(argument.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    }
    std::size_t end = 0;
    while (end < argument.size() && !blank(argument[end])) ++end;
    return std::string(argument.substr(0, end));
}

Session::Session(std::shared_ptr<const Snapshot> snapshot) : snapshot_(std::move(snapshot)) {}

void Session::connect(std::string hostname, std::optional<IpAddress> address)
{
    facts_.client_hostname = std::move(hostname);
    facts_.client_ip = address;
}

void Session::helo(std::string name) { facts_.helo = std::move(name); }

void Session::mail_from(std::string_view address, std::string auth_user)
{
    abort_message();
    facts_.mail_from = envelope_address(address);
    facts_.auth_user = std::move(auth_user);
}

void Session::recipient(std::string_view address)
{
    if (facts_.recipients.size() < kMaxRecipients) facts_.recipients.push_back(envelope_address(address));
}

void Session::header(std::string_view name, std::string_view value)
{
    header_bytes_ += name.size() + value.size();
    const bool within_bound = header_bytes_ <= kMaxHeaderBytes && facts_.headers.size() < kMaxHeaders;
    if (!within_bound && !(rule_relevant(name) && overflow_kept_ < kMaxKeptOverLimit)) return;
    if (!within_bound) ++overflow_kept_;
    facts_.headers.push_back({std::string(name), std::string(value)});
}

void Session::end_of_headers() {}

void Session::body(std::string_view /*chunk*/) {}

Verdict Session::end_of_message(std::string queue_id, std::chrono::system_clock::time_point now)
{
    facts_.queue_id = std::move(queue_id);
    facts_.now = now;
    return run_pipeline(facts_, *snapshot_);
}

void Session::abort_message()
{
    facts_.mail_from.clear();
    facts_.auth_user.clear();
    facts_.recipients.clear();
    facts_.headers.clear();
    facts_.queue_id.clear();
    header_bytes_ = 0;
    overflow_kept_ = 0;
}

}  // namespace ecomm

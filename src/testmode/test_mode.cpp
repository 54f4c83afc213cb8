// -t test mode (see test_mode.h): feeds the message through Session exactly as the milter glue
// does (connect, helo, mail, rcpt, header, eoh, body chunks, eom) and prints the verdict as JSON.
#include "testmode/test_mode.h"

#include <cctz/time_zone.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "core/decision_log.h"
#include "core/session.h"
#include "mail/address.h"
#include "testmode/message_file.h"

namespace ecomm {

namespace {

constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 30;
constexpr std::size_t kBodyChunk = 65536;  // what libmilter hands over at most per xxfi_body

std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text,
                                                                const std::string& zone)
{
    cctz::time_zone tz;
    if (!cctz::load_time_zone(zone, &tz)) tz = cctz::utc_time_zone();
    std::string input = text;
    if (!input.empty() && (input.back() == 'Z' || input.back() == 'z')) input.replace(input.size() - 1, 1, "+00:00");
    static const char* const formats[] = {
        "%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M%Ez", "%Y-%m-%dT%H:%M:%E*S",
        "%Y-%m-%dT%H:%M",         "%Y-%m-%d %H:%M:%E*S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
    };
    for (const char* format : formats) {
        std::chrono::time_point<std::chrono::system_clock, cctz::seconds> parsed;
        if (cctz::parse(format, input, tz, &parsed)) return parsed;
    }
    return std::nullopt;
}

// Without --from: the Return-Path header, else the first From: address (what a postmaster
// testing a saved message most likely means).
std::string default_sender(const std::vector<Header>& headers)
{
    for (const char* name : {"Return-Path", "From"})
        for (const auto& header : headers)
            if (iequals(header.name, name)) {
                const auto addresses = header_addresses(header.value, 1);
                if (!addresses.empty()) return addresses.front();
                if (iequals(name, "Return-Path")) return {};  // <>: the null sender
            }
    return {};
}

std::vector<std::string> default_recipients(const std::vector<Header>& headers)
{
    std::vector<std::string> recipients;
    for (const auto& header : headers)
        if (iequals(header.name, "To") || iequals(header.name, "Cc"))
            for (auto& address : header_addresses(header.value)) recipients.push_back(std::move(address));
    return recipients;
}

nlohmann::ordered_json to_json(const Verdict& verdict)
{
    nlohmann::ordered_json out;
    out["action"] = to_string(verdict.action);
    out["reply"] = verdict.reply ? nlohmann::ordered_json(verdict.reply->to_string()) : nlohmann::ordered_json(nullptr);
    out["class"] = to_string(verdict.classification.sender_class);
    out["sender"] = verdict.classification.entry ? nlohmann::ordered_json(verdict.classification.entry->id)
                                                 : nlohmann::ordered_json(nullptr);
    out["reason"] = verdict.classification.reason;
    if (verdict.would_be != verdict.action) out["would_be"] = to_string(verdict.would_be);
    nlohmann::ordered_json rules = nlohmann::ordered_json::array();
    for (const auto& result : verdict.results)
        rules.push_back({{"rule", result.rule},
                         {"result", result.result},
                         {"action", result.triggered ? to_string(result.action) : "none"},
                         {"detail", result.detail}});
    out["rules"] = std::move(rules);
    nlohmann::ordered_json added = nlohmann::ordered_json::array();
    nlohmann::ordered_json removed = nlohmann::ordered_json::array();
    for (const auto& edit : verdict.edits) {
        if (edit.kind == HeaderEdit::Kind::add || edit.kind == HeaderEdit::Kind::insert)
            added.push_back({{"name", edit.name}, {"value", edit.value}});
        else if (edit.kind == HeaderEdit::Kind::remove)
            removed.push_back({{"name", edit.name}, {"index", edit.index}});
    }
    out["headers_added"] = std::move(added);
    if (!removed.empty()) out["headers_removed"] = std::move(removed);
    if (verdict.new_subject) out["subject"] = *verdict.new_subject;
    if (!verdict.quarantine_reason.empty()) out["quarantine"] = verdict.quarantine_reason;
    return out;
}

}  // namespace

int run_test_mode(std::shared_ptr<const Snapshot> snapshot, const TestModeOptions& options,
                  std::ostream& out, std::ostream& err)
{
    const auto client_ip = IpAddress::parse(options.client_ip);
    if (!client_ip) {
        err << "ecomm-milter: --client-ip: not an IP address: " << options.client_ip << "\n";
        return 2;
    }
    auto now = std::chrono::system_clock::now();
    if (options.time) {
        const auto parsed = parse_time(*options.time, snapshot->config.time_zone);
        if (!parsed) {
            err << "ecomm-milter: --time: not an ISO 8601 time: " << *options.time << "\n";
            return 2;
        }
        now = *parsed;
    }
    std::string error;
    const auto message = read_file(options.message_path, kMaxMessageBytes, &error);
    if (!message) {
        err << "ecomm-milter: " << error << "\n";
        return 2;
    }
    const ParsedHeaders parsed = parse_headers(*message);
    if (!options.dns_file.empty()) {
        Diagnostics diagnostics;
        auto resolver = make_resolver(snapshot->config, options.dns_file, diagnostics);
        for (const auto& diagnostic : diagnostics) err << diagnostic.to_string() << "\n";
        if (!resolver) return 2;
        auto copy = std::make_shared<Snapshot>(*snapshot);
        copy->resolver = std::move(resolver);
        snapshot = std::move(copy);
    }

    // Time stands still at --time, and a throttled message is never really held.
    Clock clock;
    clock.now = [now] { return now; };
    clock.sleep = [](std::chrono::milliseconds) {};
    Session session(snapshot, std::move(clock));
    session.connect(options.client_hostname, client_ip);
    session.helo(options.helo.empty() ? options.client_hostname : options.helo);
    session.mail_from("<" + options.mail_from.value_or(default_sender(parsed.headers)) + ">", options.auth_user);
    const auto recipients = options.recipients.empty() ? default_recipients(parsed.headers) : options.recipients;
    for (const auto& recipient : recipients) session.recipient("<" + recipient + ">");
    for (const auto& header : parsed.headers) session.header(header.name, header.value, HeaderValueForm::as_written);
    session.end_of_headers();
    const std::string_view body = std::string_view(*message).substr(parsed.body_offset);
    for (std::size_t at = 0; at < body.size(); at += kBodyChunk) session.body(body.substr(at, kBodyChunk));
    const Verdict verdict = session.end_of_message("TEST", now);

    // Header text need not be UTF-8 (a Latin-1 Subject): U+FFFD for such bytes, not an exception.
    out << to_json(verdict).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    err << format_decision(verdict, session.facts(), snapshot->config.monitor) << "\n";
    return 0;
}

}  // namespace ecomm

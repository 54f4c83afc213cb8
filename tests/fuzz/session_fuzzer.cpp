// libFuzzer target for a whole message through Session, as the milter glue drives it: hostile
// envelopes, header fields, bodies (in any chunking), DKIM signatures and SPF records go through
// classification, SPF, DKIM, the MIME scan and every rule. Beyond a crash, sanitizer report,
// leak or timeout, it traps when the verdict is not one the glue can hand to the MTA as it is:
//   - a reject or tempfail without a reply, or a reply whose code and enhanced status disagree
//     (5xx with 5.x.x, 4xx with 4.x.x), whose line passes kMaxReplyLine (each '%' counted twice,
//     as libmilter takes it) or holds a control character (policy/reply.h);
//   - a header edit or new Subject with a bad field name, a NUL, or a line feed not followed by a
//     blank (a header injected into the message), or edits on a verdict that rejects. (A bare CR
//     is text to Postfix, in the sender's Subject and in the tagged one alike.)
// Header fields and envelope arguments end at a NUL, as libmilter's C strings do. And each input
// runs twice, the body in the chunks byte 1 sets and in one piece: the verdicts must be the same
// (action, deciding rule, every rule's result and detail, the edits and the reply).
// The rate and bulk-hours rules count in two in-memory counter tables, one for each way of
// running, so both see the same history; a finding may therefore need the inputs before it to
// come back (the log has the verdicts it compared). Every input starts a second after the one
// before, so a day of mail, business hours and nights, goes by every 86,400 inputs; waiting (the
// throttle) moves the session's clock rather than sleeping. A bulk threshold of 2 university
// recipients and a limit of 20 messages a minute for each unregistered client let those rules
// fire.
//
// Input: byte 0 picks the client (bits 0-2: internal 10.1.2.3, registered 192.0.2.10, registered
// 198.51.100.7, outside 203.0.113.9, outside IPv6 2001:db8::7, no address), whether the body's
// bare LFs become CRLF as an MTA sends them (bit 3), and what ends the message (bit 4: abort
// instead of end of message; bit 5: a second message on the same connection). Byte 1 sets the
// body's chunk size. Then three lines: the MAIL FROM argument, the recipients (comma-separated)
// and the SASL login (may be empty); the rest is the message, header fields up to the first
// empty line, then the body. The key look-up answers every name with the test key of
// dkim-verifier-test-key.pem, or with the value of the message's X-Fuzz-Key field if it has
// one; SPF look-ups get the value of X-Fuzz-SPF, or a record passing the three test networks.
//
// Build: see run-session-fuzzer.sh. To see the verdicts of some inputs (a new seed, say), run the
// built fuzzer on them with SESSION_FUZZER_PRINT set: ./session_fuzzer FILE...
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/crlf_text.h"
#include "auth/dkim.h"
#include "core/session.h"
#include "counters/counter_table.h"
#include "dns/resolver.h"
#include "dkim_test_key.h"
#include "fixtures.h"
#include "policy/reply.h"
#include "testmode/message_file.h"
#include "util/ascii.h"

namespace {

using ecomm::DnsAnswer;
using ecomm::DnsType;
using ecomm::fuzz::kTestKey;

constexpr std::string_view kDefaultSpf = "v=spf1 ip4:192.0.2.0/25 ip4:198.51.100.0/24 ip4:203.0.113.0/24 -all";

// One zone for every name: the records come from the message being checked (set per input).
class FuzzResolver : public ecomm::DnsResolver {
public:
    std::string key = std::string(kTestKey);
    std::string spf = std::string(kDefaultSpf);

    DnsAnswer query(std::string_view name, DnsType type) override
    {
        using Status = DnsAnswer::Status;
        switch (type) {
        case DnsType::TXT:
            if (name.find("._domainkey.") != std::string_view::npos) return {Status::ok, {key}};
            return {Status::ok, {spf}};
        case DnsType::A: return {Status::ok, {"203.0.113.9"}};
        case DnsType::MX: return {Status::ok, {"10 mx.outside.test"}};
        case DnsType::PTR: return {Status::ok, {"mx.outside.test"}};
        default: return {Status::nodata, {}};
        }
    }
};

// Two snapshots alike but for their counters: the chunked run counts in one table, the run with
// the body in one piece in the other.
struct Fixture {
    std::shared_ptr<FuzzResolver> resolver = std::make_shared<FuzzResolver>();
    std::shared_ptr<const ecomm::Snapshot> chunked;
    std::shared_ptr<const ecomm::Snapshot> whole;
    std::chrono::system_clock::time_point next_start = ecomm::test::test_now();

    Fixture()
    {
        ecomm::Snapshot s = ecomm::test::base_snapshot();
        s.config.authserv_id = "mx.example.edu";  // a loaded config always has one
        s.config.actions["rate"] = ecomm::Action::tempfail;
        s.config.actions["bulk-hours"] = ecomm::Action::tempfail;
        s.config.bulk_threshold = 2;
        s.config.client_rate_limit = 20;
        s.resolver = resolver;
        s.dkim = ecomm::DkimLibrary::create();
        ecomm::Snapshot other = s;
        s.counters = ecomm::CounterTable::open(ecomm::CounterTableOptions{});
        other.counters = ecomm::CounterTable::open(ecomm::CounterTableOptions{});
        chunked = ecomm::test::share(std::move(s));
        whole = ecomm::test::share(std::move(other));
    }
};

Fixture& fixture()
{
    static Fixture instance;
    return instance;
}

[[noreturn]] void fail(const std::string& what)
{
    std::fprintf(stderr, "session_fuzzer: %s\n", what.c_str());
    std::abort();
}

// A value the MTA may write as it is: folded lines only, no NUL.
bool is_safe_field_value(std::string_view value)
{
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\0') return false;
        if (c == '\n' && (i + 1 == value.size() || (value[i + 1] != ' ' && value[i + 1] != '\t'))) return false;
    }
    return true;
}

void check_reply(const ecomm::Reply& reply)
{
    const std::string line = reply.to_string();
    if (reply.code.size() != 3 || (reply.code[0] != '4' && reply.code[0] != '5'))
        fail("reply code " + reply.code);
    if (reply.enhanced.size() < 5 || reply.enhanced[0] != reply.code[0] || reply.enhanced[1] != '.')
        fail("enhanced status " + reply.enhanced + " with code " + reply.code);
    if (reply.text.empty()) fail("empty reply text");
    // libmilter's smfi_setreply takes each '%' doubled, and refuses a longer text.
    const auto escaped = line.size() + static_cast<std::size_t>(std::count(line.begin(), line.end(), '%'));
    if (escaped > ecomm::kMaxReplyLine) fail("reply of " + std::to_string(escaped) + " bytes once escaped");
    for (const char c : line)
        if (static_cast<unsigned char>(c) < 32 || c == 127) fail("control character in reply: " + line);
}

void check_verdict(const ecomm::Verdict& verdict)
{
    using ecomm::Action;
    const bool refuses = verdict.action == Action::reject || verdict.action == Action::tempfail;
    if (refuses && !verdict.reply) fail("a refusal without a reply");
    if (verdict.reply) check_reply(*verdict.reply);
    if (refuses && (!verdict.edits.empty() || verdict.new_subject)) fail("header edits on a refusal");
    for (const ecomm::HeaderEdit& edit : verdict.edits) {
        if (!ecomm::is_field_name(edit.name)) fail("header edit named '" + edit.name + "'");
        if (!is_safe_field_value(edit.value)) fail("unsafe value for " + edit.name + ": " + edit.value);
    }
    if (verdict.new_subject && !is_safe_field_value(*verdict.new_subject))
        fail("unsafe new Subject: " + *verdict.new_subject);
}

std::optional<ecomm::IpAddress> client_address(unsigned choice)
{
    static const char* const kClients[] = {"10.1.2.3", "192.0.2.10", "198.51.100.7", "203.0.113.9", "2001:db8::7"};
    if (choice >= std::size(kClients)) return std::nullopt;
    return ecomm::IpAddress::parse(kClients[choice]);
}

std::string_view next_line(std::string_view& text)
{
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

// libmilter hands names, values and envelope arguments over as C strings: text after a NUL
// never reaches the milter (the body, with its length, can hold NULs).
std::string_view as_c_string(std::string_view text) { return text.substr(0, text.find('\0')); }

std::string field_value(const std::vector<ecomm::Header>& headers, std::string_view name, std::string fallback)
{
    for (const ecomm::Header& header : headers)
        if (header.name == name) return std::string(as_c_string(header.value));
    return fallback;
}

// What the MTA and the log see of a verdict, as one text, to compare two runs.
std::string summary(const ecomm::Verdict& verdict)
{
    std::string text = std::string(ecomm::to_string(verdict.action)) + " " +
                       std::string(ecomm::to_string(verdict.would_be)) + " " + verdict.deciding_rule + "\n";
    if (verdict.reply) text += verdict.reply->to_string() + "\n";
    text += "class " + std::to_string(static_cast<int>(verdict.classification.sender_class)) + " " +
            verdict.classification.reason + "\n";
    for (const ecomm::RuleResult& result : verdict.results)
        text += result.rule + " " + result.result + " " + (result.triggered ? "triggered " : "") + result.detail + "\n";
    for (const ecomm::HeaderEdit& edit : verdict.edits)
        text += std::to_string(static_cast<int>(edit.kind)) + " " + std::to_string(edit.index) + " " + edit.name +
                ": " + edit.value + "\n";
    if (verdict.new_subject) text += "Subject: " + *verdict.new_subject + "\n";
    return text;
}

// The verdict's summary, or "aborted".
std::string send_message(ecomm::Session& session, std::string_view input, unsigned flags, std::size_t chunk,
                         const std::string& id, std::chrono::system_clock::time_point now)
{
    std::string_view text = input;
    const std::string_view mail_from = as_c_string(next_line(text));
    const std::string_view recipients = next_line(text);
    const std::string_view login = as_c_string(next_line(text));
    session.mail_from(mail_from, std::string(login));
    for (std::size_t start = 0; start <= recipients.size();) {
        std::size_t comma = recipients.find(',', start);
        if (comma == std::string_view::npos) comma = recipients.size();
        if (comma > start) session.recipient(as_c_string(recipients.substr(start, comma - start)));
        start = comma + 1;
    }

    const ecomm::ParsedHeaders parsed = ecomm::parse_headers(text);
    FuzzResolver& resolver = *fixture().resolver;
    resolver.key = field_value(parsed.headers, "X-Fuzz-Key", std::string(kTestKey));
    resolver.spf = field_value(parsed.headers, "X-Fuzz-SPF", std::string(kDefaultSpf));
    for (const ecomm::Header& header : parsed.headers) session.header(as_c_string(header.name), as_c_string(header.value));
    session.end_of_headers();

    const std::string_view raw_body = text.substr(std::min(parsed.body_offset, text.size()));
    std::string body;
    if (flags & 0x08) {
        bool last_was_cr = false;
        ecomm::append_crlf(body, raw_body, last_was_cr);
    } else {
        body = raw_body;
    }
    for (std::size_t at = 0; at < body.size() && session.wants_body(); at += chunk)
        session.body(std::string_view(body).substr(at, chunk));

    if (flags & 0x10) {
        session.abort_message();
        return "aborted";
    }
    const ecomm::Verdict verdict = session.end_of_message(id, now);
    check_verdict(verdict);
    return summary(verdict);
}

// One connection from start, counting in snapshot's counters: the message, and a second one after
// it when flags ask. The body goes in pieces of chunk bytes (npos: in one piece).
std::string run_connection(const std::shared_ptr<const ecomm::Snapshot>& snapshot, std::chrono::system_clock::time_point start,
                           std::string_view input, unsigned flags, std::size_t chunk)
{
    auto now = start;
    ecomm::Clock clock;
    clock.now = [&now] { return now; };
    clock.sleep = [&now](std::chrono::milliseconds wait) { now += wait; };
    ecomm::Session session(snapshot, clock);
    session.connect("client.test", client_address(flags & 0x07));
    session.helo("client.test");
    std::string outcome = send_message(session, input, flags, chunk, "FUZZ1", now);
    if (flags & 0x20) outcome += "--\n" + send_message(session, input, flags & ~0x10u, chunk, "FUZZ2", now);
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) return 0;
    const unsigned flags = data[0];
    const std::size_t chunk = 1 + static_cast<std::size_t>(data[1]) * 61;
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

    Fixture& f = fixture();
    const auto start = f.next_start;
    f.next_start += std::chrono::seconds(1);
    const std::string chunked = run_connection(f.chunked, start, input, flags, chunk);
    const std::string whole = run_connection(f.whole, start, input, flags, std::string_view::npos);
    if (chunked != whole)
        fail("the verdict depends on the body's chunks of " + std::to_string(chunk) + " bytes:\n" + chunked +
             "-- in one piece:\n" + whole);
    static const bool print = std::getenv("SESSION_FUZZER_PRINT") != nullptr;
    if (print) std::fprintf(stderr, "%s", whole.c_str());
    return 0;
}

// libFuzzer target for the DKIM verifier as the milter uses it (DkimVerifier): hostile
// DKIM-Signature fields and key records go through libopendkim's parse, the verifier's own key
// and header-hash checks and its body hashes. The message is verified twice, with the own checks
// and the body fed in chunks, and with every signature left to libopendkim and the body in one
// piece; the two must give the same results, field for field (as test_dkim.cpp's
// verify_both_ways asserts on its cases). A difference traps, as does any crash, sanitizer
// report, leak or timeout; so does a result list longer than max_signatures, or a second
// finish() that answers differently.
//
// Input: byte 0 picks the key look-up's answer (bits 0-1: the test key's record for every name,
// the value of the message's X-Fuzz-Key field, NXDOMAIN, a timeout) and the body's chunk size
// (bits 2-7); byte 1 the options (bit 0 strict_headers, bit 1 accept_rsa_sha1, bit 2
// max_signatures 2 instead of 16). The rest is a message: header lines up to the first empty
// line (a line starting with a space or a tab continues the field before it), then the body.
// The seeds in dkim-verifier-seeds/ are two bytes and a message signed with
// dkim-verifier-test-key.pem, the private half of kTestKey (e.g. "dkimsign sel example.edu
// dkim-verifier-test-key.pem < message"; any selector and domain will do).
//
// Build: see run-dkim-verifier-fuzzer.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim.h"
#include "dns/resolver.h"
#include "dkim_test_key.h"

namespace {

using ecomm::fuzz::kTestKey;

enum class KeyAnswer { test_key, from_message, nxdomain, timeout };

class FuzzResolver : public ecomm::DnsResolver {
public:
    FuzzResolver(KeyAnswer answer, std::string record) : answer_(answer), record_(std::move(record)) {}

    ecomm::DnsAnswer query(std::string_view, ecomm::DnsType type) override
    {
        using Status = ecomm::DnsAnswer::Status;
        if (type != ecomm::DnsType::TXT) return {Status::error, {}};
        switch (answer_) {
        case KeyAnswer::test_key: return {Status::ok, {std::string(kTestKey)}};
        case KeyAnswer::from_message:
            if (record_.empty()) return {Status::nxdomain, {}};
            return {Status::ok, {record_}};
        case KeyAnswer::nxdomain: return {Status::nxdomain, {}};
        case KeyAnswer::timeout: return {Status::timeout, {}};
        }
        return {Status::error, {}};
    }

private:
    KeyAnswer answer_;
    std::string record_;
};

struct Field {
    std::string name, value;
};

struct Message {
    std::vector<Field> fields;
    std::string_view body;
};

// Header fields as libmilter hands them over: the name, and the value after the colon without
// the one leading space; continuation lines joined by CRLF. A line without a colon is dropped,
// as an MTA would not pass it on as a field.
Message parse(std::string_view text)
{
    Message message;
    bool last_kept = false;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::size_t next = end == std::string_view::npos ? text.size() : end + 1;
        std::string_view line = text.substr(0, end == std::string_view::npos ? text.size() : end);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        text.remove_prefix(next);
        if (line.empty()) break;  // the body follows
        if (line.front() == ' ' || line.front() == '\t') {
            if (last_kept) message.fields.back().value.append("\r\n").append(line);
            continue;
        }
        const std::size_t colon = line.find(':');
        last_kept = colon != std::string_view::npos && colon > 0;
        if (!last_kept) continue;
        std::string_view value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        message.fields.push_back({std::string(line.substr(0, colon)), std::string(value)});
    }
    message.body = text;
    return message;
}

std::string describe(const ecomm::DkimSignatureResult& r)
{
    return std::string(ecomm::to_string(r.code)) + " (" + r.reason + ") d=" + r.domain + " s=" + r.selector +
           " i=" + r.identity + " a=" + r.algorithm + " bits=" + std::to_string(r.key_bits) +
           " b=" + r.signature_prefix + "; ";
}

std::string describe(const std::vector<ecomm::DkimSignatureResult>& results)
{
    std::string out;
    for (const auto& r : results) out += describe(r);
    return out;
}

constexpr std::string_view kKeySyntax = "key record syntax error";

// The one known difference (see README, "DKIM"): when a key's p= does not decode, libopendkim
// keeps the failed key's buffer, and a later signature with the same d= and s= reuses it and
// fails as "unable to apply public key"; the verifier's own checks call it a key record syntax
// error. Both are permerror. The earlier signature's own result may be anything that came after
// the key look-up (say an l= signature's "length tag value exceeds body size").
bool reuses_failed_key(const std::vector<ecomm::DkimSignatureResult>& own, std::size_t i,
                       const ecomm::DkimSignatureResult& library)
{
    if (own[i].reason != kKeySyntax || library.reason != "unable to apply public key") return false;
    ecomm::DkimSignatureResult same = library;
    same.reason = own[i].reason;
    if (describe(same) != describe(own[i])) return false;
    for (std::size_t j = 0; j < i; ++j)
        if (own[j].domain == own[i].domain && own[j].selector == own[i].selector) return true;
    return false;
}

bool same_results(const std::vector<ecomm::DkimSignatureResult>& own,
                  const std::vector<ecomm::DkimSignatureResult>& library)
{
    if (own.size() != library.size()) return false;
    for (std::size_t i = 0; i < own.size(); ++i)
        if (describe(own[i]) != describe(library[i]) && !reuses_failed_key(own, i, library[i])) return false;
    return true;
}

// One library per combination of options, made once: creating one costs more than a message.
std::shared_ptr<const ecomm::DkimLibrary> library(unsigned options, bool own_key_checks)
{
    static std::map<unsigned, std::shared_ptr<const ecomm::DkimLibrary>> libraries;
    const unsigned key = (options & 7u) | (own_key_checks ? 8u : 0u);
    auto& slot = libraries[key];
    if (!slot) {
        ecomm::DkimOptions dkim;
        dkim.strict_headers = (options & 1u) != 0;
        dkim.accept_rsa_sha1 = (options & 2u) != 0;
        dkim.max_signatures = (options & 4u) != 0 ? 2 : 16;
        dkim.own_key_checks = own_key_checks;
        slot = ecomm::DkimLibrary::create(dkim);
    }
    return slot;
}

std::vector<ecomm::DkimSignatureResult> verify(const Message& message, ecomm::DnsResolver& dns,
                                               std::shared_ptr<const ecomm::DkimLibrary> lib, std::size_t chunk)
{
    ecomm::DkimVerifier verifier(std::move(lib), dns);
    for (const Field& field : message.fields) verifier.header(field.name, field.value);
    verifier.end_of_headers();
    for (std::string_view body = message.body; !body.empty() && verifier.wants_body();) {
        const std::string_view piece = body.substr(0, chunk);
        verifier.body(piece);
        body.remove_prefix(piece.size());
    }
    std::vector<ecomm::DkimSignatureResult> results = verifier.finish();
    if (describe(verifier.finish()) != describe(results)) __builtin_trap();
    return results;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) return 0;
    const auto answer = static_cast<KeyAnswer>(data[0] & 3u);
    const std::size_t chunk = 1 + (data[0] >> 2) * 97u;
    const unsigned options = data[1];
    const Message message = parse(std::string_view(reinterpret_cast<const char*>(data + 2), size - 2));

    std::string record;
    for (const Field& field : message.fields)
        if (field.name == "X-Fuzz-Key") record = field.value;
    FuzzResolver dns(answer, record);

    const auto own = verify(message, dns, library(options, true), chunk);
    const auto libopendkim = verify(message, dns, library(options, false), message.body.size() + 1);
    if (own.size() > static_cast<std::size_t>((options & 4u) != 0 ? 2 : 16)) __builtin_trap();
    if (!same_results(own, libopendkim)) {
        std::fprintf(stderr, "own checks:  %s\nlibopendkim: %s\n", describe(own).c_str(), describe(libopendkim).c_str());
        __builtin_trap();
    }
    return 0;
}

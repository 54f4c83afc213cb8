// Conformance: the openspf RFC 7208 test suite (../shared/corpora/spf/rfc7208-cases.jsonl) run
// through check_spf, each case's zone served by a StaticResolver.
//
// Driver rules (from the corpus README and the reference driver): a name's SPF records count as
// TXT unless it has TXT of its own; "NONE" is no record; a TIMEOUT entry makes every query for
// the name time out, except for types listed before it; a missing error.* name times out.
//
// A case passes when the result is one of expected_any_of and, for a fail with an expected
// explanation, the explanation matches ("DEFAULT": our default text). Known deviations (libspf2
// follows RFC 4408 in places) are listed in spf-deviations.txt with a reason each; the test
// fails on a failing case that is not listed and on a listed case that now passes (stale).
//
// The corpus is found through $ECOMM_CORPORA, else $top_srcdir/../shared/corpora, else
// ../shared/corpora from the working directory. Without it the test prints
// "SKIPPED: corpus not found" and returns; the runner counts it as skipped, not passed.
#include <cppunit/extensions/HelperMacros.h>

#include "corpus.h"
#include "skip.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "auth/spf.h"
#include "dns/static_resolver.h"

namespace ecomm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string corpus_dir() { return test::corpus_dir("spf/rfc7208-cases.jsonl"); }
std::string deviations_path() { return test::unit_test_file("spf-deviations.txt"); }
using test::load_deviations;

// One character-string in the static file's quoting: \" \\ and \DDD for control bytes.
std::string quoted(const std::string& text)
{
    std::string out = "\"";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            char escape[5];
            std::snprintf(escape, sizeof escape, "\\%03u", static_cast<unsigned>(byte));
            out += escape;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// A name in the static file: bytes that would end the token or start a comment as \DDD.
std::string escaped_name(const std::string& name)
{
    std::string out;
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7f || c == '\\' || c == '"' || c == '#') {
            char escape[5];
            std::snprintf(escape, sizeof escape, "\\%03u", static_cast<unsigned>(byte));
            out += escape;
        } else {
            out += c;
        }
    }
    return out;
}

std::string txt_data(const json& value)
{
    if (value.is_string()) return quoted(value.get<std::string>());
    std::string data;
    for (const auto& piece : value) data += quoted(piece.get<std::string>()) + " ";
    return data.empty() ? "\"\"" : data;
}

DnsType corpus_type(const std::string& type)
{
    static const std::map<std::string, DnsType> types{{"A", DnsType::A},     {"AAAA", DnsType::AAAA},
                                                      {"MX", DnsType::MX},   {"PTR", DnsType::PTR},
                                                      {"TXT", DnsType::TXT}, {"SPF", DnsType::TXT},
                                                      {"CNAME", DnsType::CNAME}};
    return types.at(type);
}

// The StaticResolver line for one corpus record.
std::string record_line(const std::string& owner, const std::string& type, const json& value)
{
    const std::string name = escaped_name(owner);
    if (type == "TXT" || type == "SPF") return name + " TXT " + txt_data(value);
    if (type == "MX") {
        const std::string host = value.at(1).get<std::string>();
        return name + " MX " + std::to_string(value.at(0).get<int>()) + " " + (host.empty() ? "." : escaped_name(host));
    }
    if (type == "A" || type == "AAAA") return name + " " + type + " " + value.get<std::string>();
    return name + " " + type + " " + escaped_name(value.get<std::string>());
}

// The corpus zone as a StaticResolver, with the driver's timeout rules on top.
class CorpusResolver : public DnsResolver {
public:
    CorpusResolver(const json& zone, Diagnostics& diagnostics)
        : zone_text_(build(zone)), static_(zone_text_, diagnostics, "zonedata")
    {
    }

    DnsAnswer query(std::string_view name, DnsType type) override
    {
        const std::string key = canonical_dns_name(name);
        if (const auto found = answered_before_timeout_.find(key); found != answered_before_timeout_.end()) {
            if (!found->second.count(type)) return DnsAnswer{DnsAnswer::Status::timeout, {}};
        }
        DnsAnswer answer = static_.query(name, type);
        if (answer.status == DnsAnswer::Status::nxdomain && key.rfind("error.", 0) == 0)
            answer.status = DnsAnswer::Status::timeout;
        return answer;
    }

    const std::string& zone_text() const { return zone_text_; }

private:
    std::string build(const json& zone)
    {
        std::string text;
        for (const auto& [name, entries] : zone.items()) text += name_lines(name, entries);
        return text;
    }

    std::string name_lines(const std::string& name, const json& entries)
    {
        bool has_txt = false;
        for (const auto& entry : entries) has_txt |= entry.is_object() && entry.contains("TXT");
        std::string lines;
        std::set<DnsType> before_timeout;
        bool timeout = false;
        for (const auto& entry : entries) {
            if (entry.is_string()) {  // "TIMEOUT"
                timeout = true;
                continue;
            }
            for (const auto& [type, value] : entry.items()) {
                if ((type == "SPF" && has_txt) || value == "NONE") continue;
                if (!timeout) before_timeout.insert(corpus_type(type));
                lines += record_line(name, type, value) + "\n";
            }
        }
        if (timeout && lines.empty()) lines = escaped_name(name) + " TIMEOUT\n";
        else if (timeout) answered_before_timeout_[canonical_dns_name(name)] = before_timeout;
        return lines;
    }

    std::map<std::string, std::set<DnsType>> answered_before_timeout_;
    std::string zone_text_;
    StaticResolver static_;
};

struct Outcome {
    bool passed = false;
    std::string detail;
};

std::string lower(std::string text)
{
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// Compared without regard to case: hex digits from macro expansion (IPv6 nibbles of %{ir},
// URL escapes of %{L}) may come in either case, and RFC 7208 fixes neither.
bool explanation_matches(const json& expected, const SpfResult& result)
{
    if (expected.is_null() || result.code != SpfResult::Code::fail) return true;
    const std::string wanted = expected.get<std::string>();
    if (wanted == "DEFAULT") return result.explanation.find(" is not a permitted sender for ") != std::string::npos;
    return lower(result.explanation) == lower(wanted);
}

Outcome run_case(const json& test)
{
    Diagnostics diagnostics;
    CorpusResolver resolver(test.at("zonedata"), diagnostics);
    if (has_errors(diagnostics)) return {false, "zone does not load: " + diagnostics.front().to_string()};
    const auto client = IpAddress::parse(test.at("ip").get<std::string>());
    if (!client) return {false, "bad client address in the corpus"};
    const SpfResult result =
        check_spf(resolver, *client, test.at("helo").get<std::string>(), test.at("mailfrom").get<std::string>());
    const json& expected = test.at("expected_any_of");
    bool result_ok = false;
    for (const auto& code : expected) result_ok |= code.get<std::string>() == to_string(result.code);
    const bool ok = result_ok && explanation_matches(test.at("explanation"), result);
    return {ok, std::string("got ") + to_string(result.code) + " (" + result.comment + ")" +
                    (result.explanation.empty() ? "" : " exp=\"" + result.explanation + "\"") + ", expected " +
                    expected.dump() + (test.at("explanation").is_null() ? "" : " exp=" + test.at("explanation").dump())};
}

}  // namespace

class SpfConformanceTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SpfConformanceTest);
    CPPUNIT_TEST(rfc7208_suite_or_skipped_when_corpus_absent);
    CPPUNIT_TEST_SUITE_END();

public:
    void rfc7208_suite_or_skipped_when_corpus_absent()
    {
        const std::string corpora = corpus_dir();
        if (corpora.empty()) {
            ecomm::test::skip("SPF conformance: corpus not found (set ECOMM_CORPORA or top_srcdir)");
            return;
        }
        const auto deviations = load_deviations(deviations_path());
        std::ifstream in(fs::path(corpora) / "spf" / "rfc7208-cases.jsonl");
        std::string line, unexpected, stale;
        int total = 0, passed = 0, known = 0;
        std::set<std::string> seen;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            const json test = json::parse(line);
            const std::string id = test.at("test").get<std::string>();
            seen.insert(id);
            ++total;
            const Outcome outcome = run_case(test);
            const bool listed = deviations.count(id) > 0;
            if (outcome.passed) ++passed;
            if (!outcome.passed && listed) ++known;
            if (!outcome.passed && !listed) unexpected += "\n  " + id + ": " + outcome.detail;
            if (outcome.passed && listed) stale += "\n  " + id + " (now passes; remove it from spf-deviations.txt)";
        }
        for (const auto& [id, reason] : deviations) {
            if (!seen.count(id)) stale += "\n  " + id + " (no such case in the corpus)";
        }
        std::cout << "\nSPF conformance: " << passed << "/" << total << " pass, " << known << " known deviations\n";
        CPPUNIT_ASSERT_MESSAGE("no cases read from the corpus", total > 0);
        std::string problems;
        if (!unexpected.empty()) problems += "\ncases failing that are not known deviations:" + unexpected;
        if (!stale.empty()) problems += "\nstale entries in spf-deviations.txt:" + stale;
        CPPUNIT_ASSERT_MESSAGE(problems, problems.empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SpfConformanceTest);

}  // namespace ecomm

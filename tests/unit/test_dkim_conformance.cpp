// DKIM conformance: OpenDKIM's own milter verify cases (../shared/corpora/dkim/opendkim-cases)
// and dkimpy's pre-signed messages (../shared/corpora/dkim/dkimpy-data), run through
// DkimVerifier with the cases' public keys served by an in-test resolver. Each expectation a case
// states about DKIM (an Authentication-Results fragment it must contain, or a rejection) is
// checked; known differences are listed with their reason in dkim-deviations.txt, and the test
// fails on any unlisted difference and on any listed one that no longer happens.
#include <cppunit/extensions/HelperMacros.h>

#include "skip.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "auth/dkim.h"
#include "testmode/message_file.h"

using namespace ecomm;
namespace fs = std::filesystem;

namespace {

using Code = DkimSignatureResult::Code;

std::string lower(std::string text)
{
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::string trim(std::string_view text)
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return std::string(text);
}

// TXT records by name; unknown names are NXDOMAIN.
class ZoneResolver : public DnsResolver {
public:
    void add(const std::string& name, const std::string& value) { records_[lower(name)].push_back(value); }

    DnsAnswer query(std::string_view name, DnsType type) override
    {
        if (type != DnsType::TXT) return DnsAnswer{DnsAnswer::Status::nodata, {}};
        const auto found = records_.find(lower(std::string(name)));
        if (found == records_.end()) return DnsAnswer{DnsAnswer::Status::nxdomain, {}};
        return DnsAnswer{DnsAnswer::Status::ok, found->second};
    }

private:
    std::map<std::string, std::vector<std::string>> records_;
};

// "name<whitespace>value" lines; '#' starts a comment line.
void load_zone_text(ZoneResolver& zone, const std::string& text)
{
    std::stringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        const std::size_t gap = line.find_first_of(" \t");
        if (gap == std::string::npos) continue;
        zone.add(line.substr(0, gap), trim(std::string_view(line).substr(gap)));
    }
}

// OpenDKIM's opendkim/tests/pubkeys (BSD-3, The Trusted Domain Project), public keys only, used
// when the corpus does not ship the file the cases name in "dns_zone".
const char* const kOpenDkimPubkeys =
    "example2.com\t\t\tfoo\n"
    "_adsp._domainkey.example2.com\tdkim=all; r=adsp-feedback\n"
    "revoked._domainkey.example.com\tk=rsa; t=y; p=\n"
    "UN42N5XOV642KXRXRQIYANHCOUPGQL5LT4WTBKYT2IJFLBWODFDQ====._atps.example.net\tv=ATPS1\n"
    "report._domainkey.example.com v=DKIM1; k=rsa; r=dkim-feedbacks; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC9p5rp5EjC8cZbnlUpasA5HoUYwSA+HEBsBZnxppmehsiCLY/rSGDxmYaOL2LhGJur4"
    "UnXzTRpB/VgPTNOn3bkudEARqu0H2W6afEcI46igMs8fuZlyIi+UMGdUbn5tgbTRS7g6r9bxOcxwTtZcKAhvCWfDiTc2QeEzzxxyL4jewIDAQAB\n"
    "test._domainkey.example.com v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC9p5rp5EjC8cZbnlUpasA5HoUYwSA+HEBsBZnxppmehsiCLY/rSGDxmYaOL2LhGJur4"
    "UnXzTRpB/VgPTNOn3bkudEARqu0H2W6afEcI46igMs8fuZlyIi+UMGdUbn5tgbTRS7g6r9bxOcxwTtZcKAhvCWfDiTc2QeEzzxxyL4jewIDAQAB\n";

// $ECOMM_CORPORA when set; else $top_srcdir/../shared/corpora (set by "make check"); else the
// corpus beside the tree this test was compiled from.
std::optional<fs::path> corpus_dir()
{
    fs::path dir;
    if (const char* env = std::getenv("ECOMM_CORPORA"); env && *env)
        dir = env;
    else if (const char* top = std::getenv("top_srcdir"); top && *top)
        dir = fs::path(top) / ".." / "shared" / "corpora";
    else
        dir = fs::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" / "corpora";
    if (std::filesystem::is_directory(dir / "dkim")) return dir;
    return std::nullopt;
}

fs::path source_file(const std::string& relative)
{
    if (const char* top = std::getenv("top_srcdir"); top && *top) {
        const fs::path candidate = fs::path(top) / relative;
        if (fs::exists(candidate)) return candidate;
    }
    return fs::path(__FILE__).parent_path().parent_path().parent_path() / relative;
}

std::string read_text(const fs::path& path)
{
    std::string error;
    auto content = ecomm::read_file(path.string(), 4 << 20, &error);
    if (!content) throw std::runtime_error(error);
    return *content;
}

// Streams a message file through a verifier as the milter would: header fields as libmilter
// hands them over, then the body in MTA-sized chunks.
std::vector<DkimSignatureResult> verify_file(const fs::path& path, DnsResolver& resolver,
                                             const std::shared_ptr<DkimLibrary>& library)
{
    const std::string text = read_text(path);
    const ParsedHeaders parsed = parse_headers(text);
    DkimVerifier verifier(library, resolver);
    for (const auto& header : parsed.headers) verifier.header(header.name, header.value, false);  // as written
    verifier.end_of_headers();
    const std::string_view body = std::string_view(text).substr(parsed.body_offset);
    constexpr std::size_t kChunk = 65535;
    for (std::size_t at = 0; at < body.size() && verifier.wants_body(); at += kChunk)
        verifier.body(body.substr(at, kChunk));
    return verifier.finish();
}

// The dkim part of an Authentication-Results header for these results, in the words an A-R
// writer would use: "dkim=fail (key revoked) header.d=example.com header.s=test".
std::string render(const std::vector<DkimSignatureResult>& results)
{
    if (results.empty()) return "dkim=none";
    std::string out;
    for (const auto& r : results) {
        if (!out.empty()) out += "; ";
        out += "dkim=" + std::string(to_string(r.code));
        if (!r.reason.empty()) out += " (" + r.reason + ")";
        out += " header.d=" + r.domain + " header.s=" + r.selector;
    }
    return out;
}

bool any_not_pass(const std::vector<DkimSignatureResult>& results)
{
    return std::any_of(results.begin(), results.end(), [](const auto& r) { return r.code != Code::pass; });
}

// One expectation of one case, and whether our verifier met it.
struct Check {
    std::string expectation;  // an A-R fragment, or "not-pass"
    bool met = false;
};

// A case's expectations about DKIM: every A-R fragment it requires; and, when OpenDKIM's reply
// is a rejection at end of message or the transaction never reached it (an empty reply list:
// rejected at end of headers), at least one signature that does not pass.
std::vector<Check> checks_for(const nlohmann::json& entry, const std::vector<DkimSignatureResult>& results)
{
    const std::string rendered = render(results);
    std::vector<Check> checks;
    for (const auto& token : entry.value("authres_must_contain", nlohmann::json::array())) {
        const std::string text = token.get<std::string>();
        checks.push_back({text, rendered.find(text) != std::string::npos});
    }
    const auto replies = entry.value("expected_eom_reply", nlohmann::json::array());
    bool rejected = replies.empty();
    for (const auto& reply : replies) {
        const std::string code = reply.get<std::string>();
        if (code == "SMFIR_REPLYCODE" || code == "SMFIR_REJECT" || code == "SMFIR_TEMPFAIL" || code == "SMFIR_DISCARD")
            rejected = true;
    }
    if (rejected) checks.push_back({"not-pass", any_not_pass(results)});
    return checks;
}

// dkim-deviations.txt: "case<TAB>expectation<TAB>reason" lines, '#' comments.
std::map<std::pair<std::string, std::string>, std::string> load_deviations(const fs::path& path)
{
    std::map<std::pair<std::string, std::string>, std::string> deviations;
    std::stringstream in(read_text(path));
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const std::size_t first = line.find('\t');
        const std::size_t second = first == std::string::npos ? first : line.find('\t', first + 1);
        if (second == std::string::npos) throw std::runtime_error(path.string() + ": malformed line: " + line);
        deviations[{line.substr(0, first), line.substr(first + 1, second - first - 1)}] = line.substr(second + 1);
    }
    return deviations;
}

fs::path case_message(const fs::path& dir, const nlohmann::json& entry)
{
    const fs::path named = dir / entry.value("eml", std::string());
    if (fs::exists(named)) return named;
    return dir / (entry.at("case").get<std::string>() + ".eml");
}

void load_case_keys(ZoneResolver& zone, const fs::path& dir, const nlohmann::json& cases)
{
    for (const fs::path& candidate :
         {dir / "pubkeys", dir / fs::path(cases.empty() ? "" : cases[0].value("dns_zone", "")).filename()}) {
        if (!candidate.empty() && fs::is_regular_file(candidate)) {
            load_zone_text(zone, read_text(candidate));
            return;
        }
    }
    load_zone_text(zone, kOpenDkimPubkeys);
}

// dkimpy-data messages and what dkimpy's own tests hold of them.
struct PresignedCase {
    const char* file;
    std::vector<Code> expected;  // per signature; empty: at least one signature must not pass
};

const std::vector<PresignedCase>& presigned_cases()
{
    static const std::vector<PresignedCase> cases{
        {"rfc6376.signed.msg", {Code::pass, Code::pass}},  // RFC 8463 A.3: Ed25519 and RSA
        {"rfc6376.signed.rsa.msg", {Code::pass}},
        {"ed25519test2.msg", {Code::pass}},                // Exim's Ed25519 interop message
        {"test2.message", {Code::pass}},                   // degenerate folding (Debian #711751)
        {"test.message.baddomain", {}},                    // d= with '(' must never pass
    };
    return cases;
}

}  // namespace

class DkimConformanceTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DkimConformanceTest);
    CPPUNIT_TEST(openDkimVerifyCases);
    CPPUNIT_TEST(dkimpyPresignedMessages);
    CPPUNIT_TEST_SUITE_END();

public:
    void openDkimVerifyCases()
    {
        const auto corpus = corpus_dir();
        const fs::path dir = corpus ? *corpus / "dkim" / "opendkim-cases" : fs::path();
        if (!corpus || !fs::exists(dir / "cases.json")) {
            ecomm::test::skip("DKIM conformance: corpus not found (dkim/opendkim-cases)");
            return;
        }
        const nlohmann::json cases = nlohmann::json::parse(read_text(dir / "cases.json"));
        ZoneResolver zone;
        load_case_keys(zone, dir, cases);
        auto deviations = load_deviations(source_file("tests/unit/dkim-deviations.txt"));
        const auto library = DkimLibrary::create();

        int scored = 0, agreed = 0, listed = 0, unscored = 0;
        std::vector<std::string> problems;
        for (const auto& entry : cases) {
            const std::string name = entry.at("case").get<std::string>();
            const auto results = verify_file(case_message(dir, entry), zone, library);
            const auto checks = checks_for(entry, results);
            if (checks.empty()) {
                ++unscored;
                std::cout << "\n  " << name << ": no DKIM assertion in the case; ours: " << render(results);
                continue;
            }
            ++scored;
            bool all_met = true, all_listed = true;
            for (const auto& check : checks) {
                const auto deviation = deviations.find({name, check.expectation});
                const bool is_listed = deviation != deviations.end();
                if (check.met && is_listed)
                    problems.push_back(name + ": stale deviation entry for \"" + check.expectation + "\"");
                if (!check.met && !is_listed)
                    problems.push_back(name + ": expected \"" + check.expectation + "\", got: " + render(results));
                if (!check.met) {
                    all_met = false;
                    all_listed = all_listed && is_listed;
                }
                if (is_listed) deviations.erase(deviation);
            }
            if (all_met) ++agreed;
            else if (all_listed) ++listed;
        }
        for (const auto& [key, reason] : deviations)
            problems.push_back(key.first + ": deviation entry for \"" + key.second + "\" matches no case expectation");

        std::cout << "\nDKIM conformance: " << agreed << "/" << scored << " OpenDKIM verify cases agree, " << listed
                  << " differ as listed in dkim-deviations.txt, " << unscored << " carry no DKIM assertion"
                  << std::endl;
        std::string report;
        for (const auto& problem : problems) report += problem + "\n";
        CPPUNIT_ASSERT_MESSAGE(report, problems.empty());
    }

    void dkimpyPresignedMessages()
    {
        const auto corpus = corpus_dir();
        const fs::path dir = corpus ? *corpus / "dkim" / "dkimpy-data" : fs::path();
        if (!corpus || !fs::exists(dir / "zone.txt")) {
            ecomm::test::skip("DKIM conformance: corpus not found (dkim/dkimpy-data)");
            return;
        }
        ZoneResolver zone;
        load_zone_text(zone, read_text(dir / "zone.txt"));
        const auto library = DkimLibrary::create();
        int agreed = 0;
        std::string report;
        for (const auto& item : presigned_cases()) {
            const auto results = verify_file(dir / item.file, zone, library);
            std::vector<Code> codes;
            for (const auto& r : results) codes.push_back(r.code);
            const bool ok = item.expected.empty() ? !results.empty() && any_not_pass(results) : codes == item.expected;
            if (ok) ++agreed;
            else report += std::string(item.file) + ": got " + render(results) + "\n";
        }
        std::cout << "\nDKIM conformance: " << agreed << "/" << presigned_cases().size()
                  << " dkimpy pre-signed messages agree" << std::endl;
        CPPUNIT_ASSERT_MESSAGE(report, report.empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DkimConformanceTest);

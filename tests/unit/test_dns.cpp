// Unit tests for the DNS layer: the static-file resolver (every record type, TXT joining and
// escapes, TIMEOUT, CNAME chains, nxdomain/nodata, errors as FILE:LINE), the per-transaction
// caching resolver (answers reused, progress before network queries, bounded), and the system
// resolver's honest limits (a .invalid name is never "ok" and comes back within the timeout) and
// its reading of responses built by hand (status, records and TTLs, no network needed).
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <thread>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "dns/caching_resolver.h"
#include "dns/static_resolver.h"
#include "dns/system_resolver.h"
#include "temp_files.h"

namespace ecomm {
namespace {

using Status = DnsAnswer::Status;

StaticResolver zone(const std::string& text)
{
    Diagnostics diagnostics;
    StaticResolver resolver(text, diagnostics);
    std::string messages;
    for (const auto& diagnostic : diagnostics) messages += diagnostic.to_string() + "\n";
    CPPUNIT_ASSERT_MESSAGE("unexpected diagnostics:\n" + messages, diagnostics.empty());
    return resolver;
}

std::vector<std::string> records(std::initializer_list<const char*> values)
{
    return std::vector<std::string>(values.begin(), values.end());
}

// Counts what reaches it; answers every name with one A record unless told otherwise.
class CountingResolver : public DnsResolver {
public:
    DnsAnswer query(std::string_view name, DnsType type) override
    {
        ++queries;
        last_name = std::string(name);
        if (name.find("missing") != std::string_view::npos) return {Status::nxdomain, {}};
        if (name.find("slow") != std::string_view::npos) return {Status::timeout, {}};
        return {Status::ok, {std::string(to_string(type)) + " for " + std::string(name)}};
    }
    int queries = 0;
    std::string last_name;
};

// A DNS response built by hand for parse_dns_response: the question, then records whose owner
// is the question's name (a compression pointer to offset 12).
class Response {
public:
    Response(const std::string& name, std::uint16_t type, int rcode)
    {
        put16(0x1234);                                           // ID
        put16(static_cast<std::uint16_t>(0x8180 | rcode));       // QR RD RA, RCODE
        put16(1), put16(0), put16(0), put16(0);                  // QD AN NS AR
        put_name(name);
        put16(type), put16(1);
    }
    Response& record(int section, std::uint16_t type, std::uint32_t ttl, const std::vector<unsigned char>& data)
    {
        put16(0xc00c), put16(type), put16(1), put32(ttl);
        put16(static_cast<std::uint16_t>(data.size()));
        bytes.insert(bytes.end(), data.begin(), data.end());
        const std::size_t count_at = 4 + 2 * section;  // 1: answer, 2: authority
        const unsigned count = (bytes[count_at] << 8 | bytes[count_at + 1]) + 1;
        bytes[count_at] = static_cast<unsigned char>(count >> 8);
        bytes[count_at + 1] = static_cast<unsigned char>(count);
        return *this;
    }
    Response& soa(std::uint32_t ttl, std::uint32_t minimum)
    {
        Response data_only;
        data_only.put_name("ns.example.org");
        data_only.put_name("hostmaster.example.org");
        for (const std::uint32_t field : {2024u, 7200u, 900u, 1209600u, minimum}) data_only.put32(field);
        return record(2, 6, ttl, data_only.bytes);
    }
    DnsAnswer parse(DnsType type) const { return parse_dns_response(bytes.data(), bytes.size(), type); }

    static std::vector<unsigned char> txt(const std::string& text)
    {
        std::vector<unsigned char> data{static_cast<unsigned char>(text.size())};
        data.insert(data.end(), text.begin(), text.end());
        return data;
    }
    static std::vector<unsigned char> name_data(const std::string& name)
    {
        Response data_only;
        data_only.put_name(name);
        return data_only.bytes;
    }

    std::vector<unsigned char> bytes;

private:
    Response() = default;
    void put16(std::uint16_t value)
    {
        bytes.push_back(static_cast<unsigned char>(value >> 8));
        bytes.push_back(static_cast<unsigned char>(value));
    }
    void put32(std::uint32_t value)
    {
        put16(static_cast<std::uint16_t>(value >> 16));
        put16(static_cast<std::uint16_t>(value));
    }
    void put_name(const std::string& name)
    {
        std::size_t start = 0;
        while (start < name.size()) {
            const std::size_t dot = std::min(name.find('.', start), name.size());
            bytes.push_back(static_cast<unsigned char>(dot - start));
            bytes.insert(bytes.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
            start = dot + 1;
        }
        bytes.push_back(0);
    }
};

constexpr std::uint16_t kTypeA = 1, kTypeCname = 5, kTypeTxt = 16;
constexpr int kNoError = 0, kServFail = 2, kNxDomain = 3, kRefused = 5;

}  // namespace

class StaticResolverTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StaticResolverTest);
    CPPUNIT_TEST(answers_every_record_type);
    CPPUNIT_TEST(txt_strings_are_joined_and_unescaped);
    CPPUNIT_TEST(names_ignore_case_and_trailing_dot);
    CPPUNIT_TEST(escaped_names_may_hold_spaces);
    CPPUNIT_TEST(unknown_names_are_nxdomain_known_ones_nodata);
    CPPUNIT_TEST(timeout_names_time_out_for_every_type);
    CPPUNIT_TEST(cnames_are_followed);
    CPPUNIT_TEST(cname_loops_and_long_chains_end_in_nodata);
    CPPUNIT_TEST(comments_blank_lines_and_crlf_are_ignored);
    CPPUNIT_TEST(errors_name_file_and_line);
    CPPUNIT_TEST(good_lines_survive_bad_ones);
    CPPUNIT_TEST(unreadable_file_is_one_diagnostic);
    CPPUNIT_TEST_SUITE_END();

public:
    void answers_every_record_type()
    {
        auto resolver = zone("example.org A 192.0.2.1\n"
                             "example.org A 192.0.2.2\n"
                             "example.org AAAA 2001:DB8:0:0::25\n"
                             "example.org MX 10 Mail.Example.org.\n"
                             "example.org TXT \"hello\"\n"
                             "1.2.0.192.in-addr.arpa PTR Host.Example.org.\n"
                             "alias.example.org CNAME example.org\n");
        const auto a = resolver.query("example.org", DnsType::A);
        CPPUNIT_ASSERT(a.status == Status::ok);
        CPPUNIT_ASSERT(a.records == records({"192.0.2.1", "192.0.2.2"}));
        CPPUNIT_ASSERT(resolver.query("example.org", DnsType::AAAA).records == records({"2001:db8::25"}));
        CPPUNIT_ASSERT(resolver.query("example.org", DnsType::MX).records == records({"10 Mail.Example.org"}));
        CPPUNIT_ASSERT(resolver.query("example.org", DnsType::TXT).records == records({"hello"}));
        // PTR targets keep their case: SPF compares them case-insensitively itself.
        CPPUNIT_ASSERT(resolver.query("1.2.0.192.in-addr.arpa", DnsType::PTR).records == records({"Host.Example.org"}));
        CPPUNIT_ASSERT(resolver.query("alias.example.org", DnsType::CNAME).records == records({"example.org"}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(7), resolver.record_count());
    }

    void txt_strings_are_joined_and_unescaped()
    {
        auto resolver = zone("t.example.org TXT \"v=spf1 \" \"ip4:192.0.2.0/24\"   \"  -all\"  # comment\n"
                             "q.example.org TXT \"say \\\"hi\\\" \\\\ # not a comment\"\n"
                             "d.example.org TXT \"\\065\\066\\067 \\x\" \"\"\n"
                             "e.example.org TXT \"\"\n"
                             "m.example.org TXT \"one\"\n"
                             "m.example.org TXT \"two\"\n");
        CPPUNIT_ASSERT(resolver.query("t.example.org", DnsType::TXT).records ==
                       records({"v=spf1 ip4:192.0.2.0/24  -all"}));
        CPPUNIT_ASSERT(resolver.query("q.example.org", DnsType::TXT).records ==
                       records({"say \"hi\" \\ # not a comment"}));
        CPPUNIT_ASSERT(resolver.query("d.example.org", DnsType::TXT).records == records({"ABC x"}));
        const auto empty = resolver.query("e.example.org", DnsType::TXT);
        CPPUNIT_ASSERT(empty.status == Status::ok);
        CPPUNIT_ASSERT(empty.records == records({""}));
        CPPUNIT_ASSERT(resolver.query("m.example.org", DnsType::TXT).records == records({"one", "two"}));
    }

    void names_ignore_case_and_trailing_dot()
    {
        auto resolver = zone("Example.ORG. A 192.0.2.1\n");
        CPPUNIT_ASSERT(resolver.query("example.org", DnsType::A).status == Status::ok);
        CPPUNIT_ASSERT(resolver.query("EXAMPLE.org.", DnsType::A).status == Status::ok);
    }

    void escaped_names_may_hold_spaces()
    {
        auto resolver = zone("two\\032words.example.org TXT \"x\"\n"
                             "back\\\\slash.example.org TXT \"y\"\n");
        CPPUNIT_ASSERT(resolver.query("two words.example.org", DnsType::TXT).records == records({"x"}));
        CPPUNIT_ASSERT(resolver.query("back\\slash.example.org", DnsType::TXT).records == records({"y"}));
    }

    void unknown_names_are_nxdomain_known_ones_nodata()
    {
        auto resolver = zone("host.sub.example.org A 192.0.2.1\n");
        CPPUNIT_ASSERT(resolver.query("host.sub.example.org", DnsType::TXT).status == Status::nodata);
        CPPUNIT_ASSERT(resolver.query("sub.example.org", DnsType::A).status == Status::nodata);  // empty non-terminal
        CPPUNIT_ASSERT(resolver.query("example.org", DnsType::A).status == Status::nodata);
        CPPUNIT_ASSERT(resolver.query("other.example.org", DnsType::A).status == Status::nxdomain);
        CPPUNIT_ASSERT(resolver.query("org.example.org", DnsType::A).status == Status::nxdomain);
    }

    void timeout_names_time_out_for_every_type()
    {
        auto resolver = zone("slow.example.org TIMEOUT\n"
                             "slow.example.org A 192.0.2.1\n"
                             "Also-Slow.example.org. timeout\n");
        for (const DnsType type : {DnsType::A, DnsType::AAAA, DnsType::MX, DnsType::PTR, DnsType::TXT, DnsType::CNAME})
            CPPUNIT_ASSERT(resolver.query("slow.example.org", type).status == Status::timeout);
        CPPUNIT_ASSERT(resolver.query("also-slow.example.org", DnsType::TXT).status == Status::timeout);
        CPPUNIT_ASSERT(resolver.query("fast.example.org", DnsType::TXT).status == Status::nxdomain);
    }

    void cnames_are_followed()
    {
        auto resolver = zone("www.example.org CNAME web.example.org.\n"
                             "web.example.org CNAME real.example.org\n"
                             "real.example.org A 192.0.2.80\n"
                             "dangling.example.org CNAME gone.example.org\n"
                             "to-slow.example.org CNAME slow.example.org\n"
                             "slow.example.org TIMEOUT\n");
        const auto a = resolver.query("www.example.org", DnsType::A);
        CPPUNIT_ASSERT(a.status == Status::ok);
        CPPUNIT_ASSERT(a.records == records({"192.0.2.80"}));
        CPPUNIT_ASSERT(resolver.query("www.example.org", DnsType::TXT).status == Status::nodata);
        CPPUNIT_ASSERT(resolver.query("dangling.example.org", DnsType::A).status == Status::nxdomain);
        CPPUNIT_ASSERT(resolver.query("to-slow.example.org", DnsType::A).status == Status::timeout);
        // Asking for the CNAME itself does not follow it.
        CPPUNIT_ASSERT(resolver.query("www.example.org", DnsType::CNAME).records == records({"web.example.org"}));
    }

    void cname_loops_and_long_chains_end_in_nodata()
    {
        std::string chain;
        for (int i = 0; i <= StaticResolver::kMaxCnameChain; ++i)
            chain += "c" + std::to_string(i) + ".example.org CNAME c" + std::to_string(i + 1) + ".example.org\n";
        chain += "c" + std::to_string(StaticResolver::kMaxCnameChain + 1) + ".example.org A 192.0.2.1\n";
        auto resolver = zone("loop.example.org CNAME loop.example.org\n"
                             "ping.example.org CNAME pong.example.org\n"
                             "pong.example.org CNAME ping.example.org\n" +
                             chain);
        CPPUNIT_ASSERT(resolver.query("loop.example.org", DnsType::A).status == Status::nodata);
        CPPUNIT_ASSERT(resolver.query("ping.example.org", DnsType::A).status == Status::nodata);
        CPPUNIT_ASSERT(resolver.query("c0.example.org", DnsType::A).status == Status::nodata);  // one link too many
        CPPUNIT_ASSERT(resolver.query("c1.example.org", DnsType::A).status == Status::ok);
    }

    void comments_blank_lines_and_crlf_are_ignored()
    {
        auto resolver = zone("# a comment\r\n"
                             "\r\n"
                             "   \t  \n"
                             "   # indented comment\n"
                             "example.org A 192.0.2.1   # trailing comment\r\n"
                             "example.org TXT \"crlf\"\r\n");
        CPPUNIT_ASSERT(resolver.query("example.org", DnsType::A).records == records({"192.0.2.1"}));
        CPPUNIT_ASSERT(resolver.query("example.org", DnsType::TXT).records == records({"crlf"}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), resolver.record_count());
    }

    void errors_name_file_and_line()
    {
        test::TempDir dir;
        const std::string label64(64, 'x');
        const std::string path = dir.write("zone.txt", "ok.example.org A 192.0.2.1\n"      // 1
                                                       "# fine\n"                          // 2
                                                       "bad.example.org SRV 0 5 25 x\n"    // 3
                                                       "bad.example.org\n"                 // 4
                                                       "bad.example.org A 192.0.2.300\n"   // 5
                                                       "bad.example.org AAAA 2001:db8::g\n"  // 6
                                                       "bad.example.org MX 70000 mx.example.org\n"  // 7
                                                       "bad.example.org MX 10\n"           // 8
                                                       "bad.example.org TXT unquoted\n"    // 9
                                                       "bad.example.org TXT \"open\n"      // 10
                                                       "bad.example.org TXT \"\\256\"\n"   // 11
                                                       "ok.example.org CNAME other.example.org\n"  // 12
                                                       + label64 + ".example.org A 192.0.2.1\n"  // 13
                                                       "bad.example.org TIMEOUT now\n"     // 14
                                                       "bad..example.org A 192.0.2.1\n"    // 15
                                                       "bad.example.org A 192.0.2.1 192.0.2.2\n"  // 16
                                                       "bad.example.org TXT\n");           // 17
        Diagnostics diagnostics;
        StaticResolver::from_file(path, diagnostics);
        std::vector<int> lines;
        for (const auto& diagnostic : diagnostics) {
            CPPUNIT_ASSERT(diagnostic.severity == Diagnostic::Severity::error);
            CPPUNIT_ASSERT_EQUAL(path, diagnostic.file);
            lines.push_back(diagnostic.line);
        }
        CPPUNIT_ASSERT(lines == std::vector<int>({3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}));
        CPPUNIT_ASSERT_EQUAL(path + ":3: unknown record type 'SRV' (expected A, AAAA, MX, PTR, TXT, CNAME or TIMEOUT)",
                             diagnostics[0].to_string());
        CPPUNIT_ASSERT_EQUAL(path + ":5: bad A address '192.0.2.300'", diagnostics[2].to_string());
        CPPUNIT_ASSERT_EQUAL(path + ":10: unterminated quoted string", diagnostics[7].to_string());
        CPPUNIT_ASSERT_EQUAL(path + ":12: a CNAME cannot share its name with other records (ok.example.org)",
                             diagnostics[9].to_string());
        CPPUNIT_ASSERT(has_errors(diagnostics));
    }

    void good_lines_survive_bad_ones()
    {
        Diagnostics diagnostics;
        StaticResolver resolver("good.example.org A 192.0.2.1\nbad.example.org A nope\n", diagnostics, "inline");
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), diagnostics.size());
        CPPUNIT_ASSERT_EQUAL(std::string("inline:2: bad A address 'nope'"), diagnostics[0].to_string());
        CPPUNIT_ASSERT(resolver.query("good.example.org", DnsType::A).status == Status::ok);
        CPPUNIT_ASSERT(resolver.query("bad.example.org", DnsType::A).status == Status::nxdomain);
    }

    void unreadable_file_is_one_diagnostic()
    {
        test::TempDir dir;
        Diagnostics diagnostics;
        StaticResolver::from_file(dir.path("missing.txt"), diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), diagnostics.size());
        CPPUNIT_ASSERT_EQUAL(dir.path("missing.txt") + ": cannot read the DNS file", diagnostics[0].to_string());
    }
};

class CachingResolverTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CachingResolverTest);
    CPPUNIT_TEST(second_query_is_answered_from_the_cache);
    CPPUNIT_TEST(progress_runs_before_each_upstream_query);
    CPPUNIT_TEST(negative_and_timeout_answers_are_cached);
    CPPUNIT_TEST(the_cache_is_bounded);
    CPPUNIT_TEST(works_without_progress_callback);
    CPPUNIT_TEST(message_budget_stops_further_queries);
    CPPUNIT_TEST_SUITE_END();

public:
    void second_query_is_answered_from_the_cache()
    {
        CountingResolver upstream;
        CachingResolver cache(upstream);
        const auto first = cache.query("Example.org.", DnsType::TXT);
        const auto second = cache.query("example.org", DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(1, upstream.queries);
        CPPUNIT_ASSERT(first.records == second.records);
        CPPUNIT_ASSERT(second.status == Status::ok);
        cache.query("example.org", DnsType::A);  // another type is another question
        CPPUNIT_ASSERT_EQUAL(2, upstream.queries);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), cache.upstream_queries());
    }

    void progress_runs_before_each_upstream_query()
    {
        CountingResolver upstream;
        std::vector<int> seen_at;  // upstream query count when progress ran
        CachingResolver cache(upstream, [&] { seen_at.push_back(upstream.queries); });
        cache.query("a.example.org", DnsType::A);
        cache.query("a.example.org", DnsType::A);
        cache.query("b.example.org", DnsType::A);
        CPPUNIT_ASSERT(seen_at == std::vector<int>({0, 1}));
    }

    // Each upstream query takes at least 30 ms; with a 50 ms budget the third uncached query is
    // answered "timeout" without asking, while cached answers keep coming from the cache.
    void message_budget_stops_further_queries()
    {
        struct SlowResolver : DnsResolver {
            int queries = 0;
            DnsAnswer query(std::string_view, DnsType) override
            {
                ++queries;
                std::this_thread::sleep_for(std::chrono::milliseconds(30));
                return DnsAnswer{Status::nxdomain, {}};
            }
        } upstream;
        CachingResolver cache(upstream, {}, std::chrono::milliseconds(50));
        CPPUNIT_ASSERT(cache.query("a.example.org", DnsType::TXT).status == Status::nxdomain);
        CPPUNIT_ASSERT(cache.query("b.example.org", DnsType::TXT).status == Status::nxdomain);
        CPPUNIT_ASSERT(cache.query("c.example.org", DnsType::TXT).status == Status::timeout);
        CPPUNIT_ASSERT(cache.query("a.example.org", DnsType::TXT).status == Status::nxdomain);
        CPPUNIT_ASSERT_EQUAL(2, upstream.queries);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.budget_refusals());
    }

    void negative_and_timeout_answers_are_cached()
    {
        CountingResolver upstream;
        CachingResolver cache(upstream);
        CPPUNIT_ASSERT(cache.query("missing.example.org", DnsType::A).status == Status::nxdomain);
        CPPUNIT_ASSERT(cache.query("missing.example.org", DnsType::A).status == Status::nxdomain);
        CPPUNIT_ASSERT(cache.query("slow.example.org", DnsType::TXT).status == Status::timeout);
        CPPUNIT_ASSERT(cache.query("slow.example.org", DnsType::TXT).status == Status::timeout);
        CPPUNIT_ASSERT_EQUAL(2, upstream.queries);
    }

    void the_cache_is_bounded()
    {
        CountingResolver upstream;
        CachingResolver cache(upstream);
        const int names = static_cast<int>(CachingResolver::kMaxEntries) + 44;
        for (int i = 0; i < names; ++i) cache.query("n" + std::to_string(i) + ".example.org", DnsType::A);
        CPPUNIT_ASSERT_EQUAL(CachingResolver::kMaxEntries, cache.size());
        // The oldest answers were forgotten, the newest kept.
        cache.query("n0.example.org", DnsType::A);
        CPPUNIT_ASSERT_EQUAL(names + 1, upstream.queries);
        cache.query("n" + std::to_string(names - 1) + ".example.org", DnsType::A);
        CPPUNIT_ASSERT_EQUAL(names + 1, upstream.queries);
        CPPUNIT_ASSERT_EQUAL(CachingResolver::kMaxEntries, cache.size());
    }

    void works_without_progress_callback()
    {
        CountingResolver upstream;
        CachingResolver cache(upstream, {});
        CPPUNIT_ASSERT(cache.query("example.org", DnsType::MX).status == Status::ok);
    }
};

class SystemResolverTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SystemResolverTest);
    CPPUNIT_TEST(invalid_tld_is_never_ok_and_bounded_in_time);
    CPPUNIT_TEST(malformed_names_are_refused_without_a_query);
    CPPUNIT_TEST(timeout_is_whole_seconds_at_least_one);
    CPPUNIT_TEST(answer_ttl_is_the_smallest_of_the_answer_section);
    CPPUNIT_TEST(negative_ttl_comes_from_the_soa);
    CPPUNIT_TEST(rcodes_map_as_res_nquery_would);
    CPPUNIT_TEST_SUITE_END();

public:
    // RFC 6761: no .invalid name exists. Whatever this machine's resolver does (answers
    // nxdomain, is unreachable, times out), the answer must not be "ok" and must come back
    // within the configured bound (plus scheduling slack).
    void invalid_tld_is_never_ok_and_bounded_in_time()
    {
        SystemResolver resolver(std::chrono::seconds(2));
        const auto start = std::chrono::steady_clock::now();
        const auto answer = resolver.query("ecomm-milter-unit-test.invalid", DnsType::TXT);
        const auto elapsed = std::chrono::steady_clock::now() - start;
        CPPUNIT_ASSERT_MESSAGE(std::string("status ") + to_string(answer.status),
                               answer.status == Status::nxdomain || answer.status == Status::timeout ||
                                   answer.status == Status::error);
        CPPUNIT_ASSERT(answer.records.empty());
        CPPUNIT_ASSERT_MESSAGE("took longer than the 2 s bound",
                               elapsed < std::chrono::milliseconds(2000 + 750));
    }

    void malformed_names_are_refused_without_a_query()
    {
        SystemResolver resolver(std::chrono::seconds(1));
        const auto start = std::chrono::steady_clock::now();
        CPPUNIT_ASSERT(resolver.query(std::string(64, 'a') + ".example", DnsType::A).status == Status::nxdomain);
        CPPUNIT_ASSERT(resolver.query("a..example", DnsType::A).status == Status::nxdomain);
        CPPUNIT_ASSERT(resolver.query("", DnsType::A).status == Status::nxdomain);
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(100));
    }

    void timeout_is_whole_seconds_at_least_one()
    {
        CPPUNIT_ASSERT(SystemResolver(std::chrono::milliseconds(200)).timeout() == std::chrono::seconds(1));
        CPPUNIT_ASSERT(SystemResolver(std::chrono::milliseconds(2900)).timeout() == std::chrono::seconds(2));
        CPPUNIT_ASSERT(SystemResolver(std::chrono::seconds(7)).timeout() == std::chrono::seconds(7));
    }

    // The TTL says how long SharedDnsCache may keep an answer: the smallest record TTL, the
    // CNAMEs that led to the data included; a TTL with the top bit set counts as 0 (RFC 2181).
    void answer_ttl_is_the_smallest_of_the_answer_section()
    {
        auto txt = Response("example.org", kTypeTxt, kNoError)
                       .record(1, kTypeTxt, 300, Response::txt("v=spf1 -all"))
                       .record(1, kTypeTxt, 120, Response::txt("other"))
                       .parse(DnsType::TXT);
        CPPUNIT_ASSERT(txt.status == Status::ok);
        CPPUNIT_ASSERT(txt.records == records({"v=spf1 -all", "other"}));
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{120}, txt.ttl_seconds);

        auto via_cname = Response("www.example.org", kTypeA, kNoError)
                             .record(1, kTypeCname, 30, Response::name_data("host.example.org"))
                             .record(1, kTypeA, 600, {192, 0, 2, 1})
                             .parse(DnsType::A);
        CPPUNIT_ASSERT(via_cname.records == records({"192.0.2.1"}));
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{30}, via_cname.ttl_seconds);

        auto odd = Response("example.org", kTypeA, kNoError)
                       .record(1, kTypeA, 0x80000000u, {192, 0, 2, 1})
                       .parse(DnsType::A);
        CPPUNIT_ASSERT(odd.status == Status::ok);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{0}, odd.ttl_seconds);
    }

    // RFC 2308 5: a negative answer is kept for min(SOA TTL, SOA MINIMUM); without an SOA it is
    // not kept (0).
    void negative_ttl_comes_from_the_soa()
    {
        auto minimum_smaller = Response("missing.example.org", kTypeTxt, kNxDomain).soa(900, 60).parse(DnsType::TXT);
        CPPUNIT_ASSERT(minimum_smaller.status == Status::nxdomain);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{60}, minimum_smaller.ttl_seconds);

        auto ttl_smaller = Response("missing.example.org", kTypeTxt, kNxDomain).soa(40, 3600).parse(DnsType::TXT);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{40}, ttl_smaller.ttl_seconds);

        auto nodata = Response("example.org", kTypeTxt, kNoError).soa(3600, 300).parse(DnsType::TXT);
        CPPUNIT_ASSERT(nodata.status == Status::nodata);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{300}, nodata.ttl_seconds);

        auto no_soa = Response("missing.example.org", kTypeTxt, kNxDomain).parse(DnsType::TXT);
        CPPUNIT_ASSERT(no_soa.status == Status::nxdomain);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{0}, no_soa.ttl_seconds);

        // Only a CNAME (to a name without the type): nodata, no longer than the CNAME lives.
        auto cname_only = Response("www.example.org", kTypeTxt, kNoError)
                              .record(1, kTypeCname, 20, Response::name_data("host.example.org"))
                              .soa(3600, 300)
                              .parse(DnsType::TXT);
        CPPUNIT_ASSERT(cname_only.status == Status::nodata);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{20}, cname_only.ttl_seconds);
    }

    void rcodes_map_as_res_nquery_would()
    {
        auto servfail = Response("example.org", kTypeTxt, kServFail).parse(DnsType::TXT);
        CPPUNIT_ASSERT(servfail.status == Status::timeout);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{0}, servfail.ttl_seconds);
        auto refused = Response("example.org", kTypeTxt, kRefused).soa(3600, 300).parse(DnsType::TXT);
        CPPUNIT_ASSERT(refused.status == Status::error);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t{0}, refused.ttl_seconds);

        auto truncated = Response("example.org", kTypeTxt, kNoError).record(1, kTypeTxt, 300, Response::txt("x"));
        truncated.bytes[2] |= 0x02;  // TC
        CPPUNIT_ASSERT(truncated.parse(DnsType::TXT).status == Status::error);

        auto cut_short = Response("example.org", kTypeTxt, kNoError).record(1, kTypeTxt, 300, Response::txt("x"));
        cut_short.bytes.pop_back();
        CPPUNIT_ASSERT(cut_short.parse(DnsType::TXT).status == Status::error);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StaticResolverTest);
CPPUNIT_TEST_SUITE_REGISTRATION(CachingResolverTest);
CPPUNIT_TEST_SUITE_REGISTRATION(SystemResolverTest);

}  // namespace ecomm

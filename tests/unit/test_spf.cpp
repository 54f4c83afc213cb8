// Unit tests for SPF evaluation (check_spf over libspf2) with zones in static DNS text: every
// result (pass, fail, softfail, neutral, none, temperror, permerror), the mechanisms and
// modifiers the registry's senders use (include, redirect, a, mx, ip4, ip6, exp), the null
// sender checked by HELO, identities that cannot be checked, resolver failures, threads and
// re-entry.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "auth/spf.h"
#include "dns/caching_resolver.h"
#include "dns/static_resolver.h"

namespace ecomm {
namespace {

using Code = SpfResult::Code;

const char* const kZone = R"(
pass.example.org      TXT "v=spf1 ip4:192.0.2.0/24 -all"
fail.example.org      TXT "v=spf1 -all"
softfail.example.org  TXT "v=spf1 ~all"
neutral.example.org   TXT "v=spf1 ?all"
empty.example.org     TXT "v=spf1"
split.example.org     TXT "v=spf1 ip4:192.0.2.0/24" " -all"
other.example.org     TXT "google-site-verification=abc"
other.example.org     MX  10 mail.other.example.org
upper.example.org     TXT "V=SPF1 ?all"
slow.example.org      TIMEOUT
syntax.example.org    TXT "v=spf1 ip4:192.0.2.300 -all"
unknown.example.org   TXT "v=spf1 frobnicate:example.org -all"
two.example.org       TXT "v=spf1 -all"
two.example.org       TXT "v=spf1 +all"
spf2.example.org      TXT "v=spf10 +all"
include.example.org   TXT "v=spf1 include:pass.example.org -all"
inc-slow.example.org  TXT "v=spf1 include:slow.example.org -all"
inc-none.example.org  TXT "v=spf1 include:nowhere.example.org -all"
inc-bad.example.org   TXT "v=spf1 include:syntax.example.org -all"
redirect.example.org  TXT "v=spf1 redirect=softfail.example.org"
a.example.org         TXT "v=spf1 a -all"
a.example.org         A   192.0.2.10
a.example.org         AAAA 2001:db8::10
a-slow.example.org    TXT "v=spf1 a:slow.example.org -all"
mx.example.org        TXT "v=spf1 mx -all"
mx.example.org        MX  10 mail.mx.example.org
mx.example.org        MX  20 backup.mx.example.org.
mail.mx.example.org   A   198.51.100.25
backup.mx.example.org AAAA 2001:db8:25::1
ip6.example.org       TXT "v=spf1 ip6:2001:db8::/32 -all"
helo.example.org      TXT "v=spf1 ip4:203.0.113.5 -all"
exp.example.org       TXT "v=spf1 -all exp=why.example.org"
why.example.org       TXT "%{i} may not send for %{d}, see https://example.org/spf"
cname.example.org     CNAME pass.example.org
toomany.example.org   TXT "v=spf1 a:n1.example.org a:n2.example.org a:n3.example.org a:n4.example.org a:n5.example.org a:n6.example.org a:n7.example.org a:n8.example.org a:n9.example.org a:n10.example.org a:n11.example.org -all"
loop.example.org      TXT "v=spf1 include:loop2.example.org -all"
loop2.example.org     TXT "v=spf1 include:loop.example.org -all"
void2.example.org     TXT "v=spf1 a:gone1.example.org mx:gone2.example.org ip4:192.0.2.0/24 -all"
void3.example.org     TXT "v=spf1 a:gone1.example.org mx:gone2.example.org exists:gone3.example.org ip4:192.0.2.0/24 -all"
nodata.example.org    TXT "v=spf1 a:other.example.org mx:mx.example.org a:a.example.org a:other.example.org ip4:192.0.2.0/24 -all"
terms6.example.org    TXT "v=spf1 a:n1.example.org a:n2.example.org a:n3.example.org a:n4.example.org a:n5.example.org a:n6.example.org"
terms4.example.org    TXT "v=spf1 a:n1.example.org a:n2.example.org a:n3.example.org a:n4.example.org"
spread11.example.org  TXT "v=spf1 a:n1.example.org a:n2.example.org a:n3.example.org a:n4.example.org include:terms6.example.org ip4:192.0.2.0/24 -all"
spread10.example.org  TXT "v=spf1 a:n1.example.org a:n2.example.org a:n3.example.org a:n4.example.org a:n5.example.org include:terms4.example.org ip4:192.0.2.0/24 -all"
mx10.example.org      TXT "v=spf1 mx a:n1.example.org a:n2.example.org a:n3.example.org a:n4.example.org a:n5.example.org a:n6.example.org a:n7.example.org a:n8.example.org a:n9.example.org ip4:192.0.2.0/24 -all"
mx10.example.org      MX  10 h1.mx10.example.org
mx10.example.org      MX  20 h2.mx10.example.org
mx10.example.org      MX  30 h3.mx10.example.org
h1.mx10.example.org   A   198.51.100.1
h2.mx10.example.org   A   198.51.100.2
h3.mx10.example.org   A   198.51.100.3
ptr.example.org       TXT "v=spf1 ptr ?all"
7.2.0.192.in-addr.arpa PTR p1.example.net
7.2.0.192.in-addr.arpa PTR p2.example.net
7.2.0.192.in-addr.arpa PTR p3.example.net
7.2.0.192.in-addr.arpa PTR p4.example.net
7.2.0.192.in-addr.arpa PTR p5.example.net
7.2.0.192.in-addr.arpa PTR p6.example.net
7.2.0.192.in-addr.arpa PTR p7.example.net
7.2.0.192.in-addr.arpa PTR p8.example.net
7.2.0.192.in-addr.arpa PTR p9.example.net
7.2.0.192.in-addr.arpa PTR p10.example.net
7.2.0.192.in-addr.arpa PTR host.ptr.example.org
host.ptr.example.org  A   192.0.2.7
n1.example.org        A   198.51.100.11
n2.example.org        A   198.51.100.12
n3.example.org        A   198.51.100.13
n4.example.org        A   198.51.100.14
n5.example.org        A   198.51.100.15
n6.example.org        A   198.51.100.16
n7.example.org        A   198.51.100.17
n8.example.org        A   198.51.100.18
n9.example.org        A   198.51.100.19
)";

StaticResolver& zone()
{
    static StaticResolver resolver = [] {
        Diagnostics diagnostics;
        StaticResolver loaded(kZone, diagnostics, "test zone");
        if (!diagnostics.empty()) throw std::runtime_error(diagnostics.front().to_string());
        return loaded;
    }();
    return resolver;
}

IpAddress ip(const char* text)
{
    const auto parsed = IpAddress::parse(text);
    if (!parsed) throw std::runtime_error(std::string("bad test address ") + text);
    return *parsed;
}

SpfResult check(const char* client, const char* mail_from, const char* helo = "mta.example.net")
{
    return check_spf(zone(), ip(client), helo, mail_from);
}

std::string describe(const SpfResult& result)
{
    return std::string(to_string(result.code)) + " (" + result.comment + ")";
}

#define ASSERT_SPF(expected, result) \
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(result), std::string(to_string(expected)), std::string(to_string((result).code)))

// Counts the questions, answers from the test zone.
class CountingResolver : public DnsResolver {
public:
    DnsAnswer query(std::string_view name, DnsType type) override
    {
        ++queries;
        return zone().query(name, type);
    }
    int queries = 0;
};

class ThrowingResolver : public DnsResolver {
public:
    DnsAnswer query(std::string_view, DnsType) override { throw std::runtime_error("resolver broke"); }
};

// Evaluates another SPF check from inside a look-up, as a careless resolver might.
class ReentrantResolver : public DnsResolver {
public:
    DnsAnswer query(std::string_view name, DnsType type) override
    {
        if (!nested_done) {
            nested_done = true;
            nested = check_spf(zone(), ip("192.0.2.9"), "mta.example.net", "x@fail.example.org");
        }
        return zone().query(name, type);
    }
    bool nested_done = false;
    SpfResult nested;
};

}  // namespace

class SpfTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SpfTest);
    CPPUNIT_TEST(pass_fail_softfail_neutral);
    CPPUNIT_TEST(none_when_no_record);
    CPPUNIT_TEST(temperror_on_timeouts);
    CPPUNIT_TEST(permerror_on_bad_records);
    CPPUNIT_TEST(permerror_on_too_many_lookups_and_loops);
    CPPUNIT_TEST(include_tree_is_cut_off_across_levels);
    CPPUNIT_TEST(void_lookups_are_limited_to_two);
    CPPUNIT_TEST(terms_are_counted_across_includes);
    CPPUNIT_TEST(only_the_first_ten_ptr_names_are_used);
    CPPUNIT_TEST(record_selection_follows_rfc7208);
    CPPUNIT_TEST(include_and_redirect);
    CPPUNIT_TEST(a_and_mx_for_both_families);
    CPPUNIT_TEST(ip6_networks);
    CPPUNIT_TEST(null_sender_checks_helo);
    CPPUNIT_TEST(identities_that_cannot_be_checked_are_none_without_queries);
    CPPUNIT_TEST(explanations);
    CPPUNIT_TEST(sender_forms);
    CPPUNIT_TEST(resolver_exceptions_are_temperror);
    CPPUNIT_TEST(works_through_the_caching_resolver);
    CPPUNIT_TEST(reentry_from_a_lookup_is_safe);
    CPPUNIT_TEST(threads_share_nothing);
    CPPUNIT_TEST(result_names);
    CPPUNIT_TEST_SUITE_END();

public:
    void pass_fail_softfail_neutral()
    {
        const auto pass = check("192.0.2.7", "bounce@pass.example.org");
        ASSERT_SPF(Code::pass, pass);
        CPPUNIT_ASSERT_EQUAL(std::string("pass.example.org"), pass.domain);
        CPPUNIT_ASSERT(!pass.helo_identity);
        CPPUNIT_ASSERT(pass.explanation.empty());
        ASSERT_SPF(Code::fail, check("198.51.100.1", "bounce@pass.example.org"));
        ASSERT_SPF(Code::fail, check("192.0.2.7", "bounce@fail.example.org"));
        ASSERT_SPF(Code::softfail, check("192.0.2.7", "bounce@softfail.example.org"));
        ASSERT_SPF(Code::neutral, check("192.0.2.7", "bounce@neutral.example.org"));
    }

    void none_when_no_record()
    {
        ASSERT_SPF(Code::none, check("192.0.2.7", "a@other.example.org"));     // TXT, but not SPF
        ASSERT_SPF(Code::none, check("192.0.2.7", "a@nowhere.example.org"));   // nxdomain
        ASSERT_SPF(Code::none, check("192.0.2.7", "a@mail.mx.example.org"));   // nodata
        ASSERT_SPF(Code::none, check("192.0.2.7", "a@spf2.example.org"));      // "v=spf10" is not v=spf1
    }

    void temperror_on_timeouts()
    {
        ASSERT_SPF(Code::temperror, check("192.0.2.7", "a@slow.example.org"));
        ASSERT_SPF(Code::temperror, check("192.0.2.7", "a@inc-slow.example.org"));
        ASSERT_SPF(Code::temperror, check("192.0.2.7", "a@a-slow.example.org"));
    }

    void permerror_on_bad_records()
    {
        ASSERT_SPF(Code::permerror, check("192.0.2.7", "a@syntax.example.org"));
        ASSERT_SPF(Code::permerror, check("192.0.2.7", "a@unknown.example.org"));
        ASSERT_SPF(Code::permerror, check("192.0.2.7", "a@two.example.org"));       // two records
        ASSERT_SPF(Code::permerror, check("192.0.2.7", "a@inc-none.example.org"));  // include of none
        ASSERT_SPF(Code::permerror, check("192.0.2.7", "a@inc-bad.example.org"));
    }

    void permerror_on_too_many_lookups_and_loops()
    {
        ASSERT_SPF(Code::permerror, check("192.0.2.7", "a@toomany.example.org"));
        ASSERT_SPF(Code::permerror, check("192.0.2.7", "a@loop.example.org"));
    }

    // libspf2 counts DNS terms per record only: 9 includes of 9 includes of 9 a: terms each made
    // over 800 look-ups (a tree one level deeper, 66,000) for one message, at names the sender
    // chooses. Counted across the whole check, it stops at the limit with permerror.
    void include_tree_is_cut_off_across_levels()
    {
        std::string text;
        const auto record = [&](const std::string& name, const std::string& terms) {
            text += name + " TXT \"v=spf1" + terms + " -all\"\n";
        };
        std::string top;
        for (int i = 1; i <= 9; ++i) {
            top += " include:t" + std::to_string(i) + ".tree.example.org";
            std::string middle;
            for (int j = 1; j <= 9; ++j) {
                const std::string leaf = "t" + std::to_string(i) + "-" + std::to_string(j) + ".tree.example.org";
                middle += " include:" + leaf;
                std::string hosts;
                for (int k = 1; k <= 9; ++k) hosts += " a:h" + std::to_string(k) + "." + leaf;
                record(leaf, hosts);
            }
            record("t" + std::to_string(i) + ".tree.example.org", middle);
        }
        record("tree.example.org", top);
        Diagnostics diagnostics;
        StaticResolver tree(text, diagnostics, "tree zone");
        CPPUNIT_ASSERT(diagnostics.empty());
        struct Counting : DnsResolver {
            explicit Counting(DnsResolver& inner) : inner(inner) {}
            DnsAnswer query(std::string_view name, DnsType type) override
            {
                ++queries;
                return inner.query(name, type);
            }
            DnsResolver& inner;
            int queries = 0;
        } counting(tree);
        const SpfResult result = check_spf(counting, ip("192.0.2.7"), "mta.example.net", "a@tree.example.org");
        ASSERT_SPF(Code::permerror, result);
        CPPUNIT_ASSERT(result.comment.find("RFC 7208 4.6.4") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(std::to_string(counting.queries) + " queries", counting.queries <= 112);
    }

    // RFC 7208 4.6.4: a third term whose look-up finds no such name or no records is a permerror.
    void void_lookups_are_limited_to_two()
    {
        ASSERT_SPF(Code::pass, check("192.0.2.7", "a@void2.example.org"));
        const SpfResult three = check("192.0.2.7", "a@void3.example.org");
        ASSERT_SPF(Code::permerror, three);
        CPPUNIT_ASSERT_MESSAGE(three.comment, three.comment.find("void look-ups") != std::string::npos);
        // Records of another type only (nodata) make a term void, twice here; an mx term's host
        // without an address (backup.mx.example.org has AAAA only) does not.
        ASSERT_SPF(Code::pass, check("192.0.2.7", "a@nodata.example.org"));
    }

    // RFC 7208 4.6.4: 10 DNS-querying terms in the whole check, include: levels together, the
    // include itself one of them; an mx term's host look-ups are part of it, not terms.
    void terms_are_counted_across_includes()
    {
        ASSERT_SPF(Code::pass, check("192.0.2.7", "a@spread10.example.org"));
        const SpfResult eleven = check("192.0.2.7", "a@spread11.example.org");
        ASSERT_SPF(Code::permerror, eleven);
        CPPUNIT_ASSERT_MESSAGE(eleven.comment, eleven.comment.find("10 DNS-querying terms") != std::string::npos);
        ASSERT_SPF(Code::pass, check("192.0.2.7", "a@mx10.example.org"));        // mx + 9 a: terms
        ASSERT_SPF(Code::pass, check("198.51.100.3", "a@mx10.example.org"));     // the third MX host
    }

    // RFC 7208 4.6.4: names past the tenth in a PTR answer are ignored (libspf2 alone makes the
    // result a permerror); the eleventh name here would have matched.
    void only_the_first_ten_ptr_names_are_used()
    {
        ASSERT_SPF(Code::neutral, check("192.0.2.7", "a@ptr.example.org"));
    }

    void record_selection_follows_rfc7208()
    {
        ASSERT_SPF(Code::neutral, check("192.0.2.7", "a@empty.example.org"));  // "v=spf1" alone
        ASSERT_SPF(Code::pass, check("192.0.2.7", "a@split.example.org"));     // strings joined
        ASSERT_SPF(Code::fail, check("198.51.100.1", "a@split.example.org"));
        ASSERT_SPF(Code::neutral, check("192.0.2.7", "a@upper.example.org"));  // version is case-insensitive
        ASSERT_SPF(Code::pass, check("192.0.2.7", "a@cname.example.org"));     // TXT through a CNAME
    }

    void include_and_redirect()
    {
        ASSERT_SPF(Code::pass, check("192.0.2.7", "a@include.example.org"));
        ASSERT_SPF(Code::fail, check("198.51.100.1", "a@include.example.org"));
        const auto redirected = check("192.0.2.7", "a@redirect.example.org");
        ASSERT_SPF(Code::softfail, redirected);
        CPPUNIT_ASSERT_EQUAL(std::string("redirect.example.org"), redirected.domain);
    }

    void a_and_mx_for_both_families()
    {
        ASSERT_SPF(Code::pass, check("192.0.2.10", "a@a.example.org"));
        ASSERT_SPF(Code::pass, check("2001:db8::10", "a@a.example.org"));
        ASSERT_SPF(Code::fail, check("192.0.2.11", "a@a.example.org"));
        ASSERT_SPF(Code::pass, check("198.51.100.25", "a@mx.example.org"));
        ASSERT_SPF(Code::pass, check("2001:db8:25::1", "a@mx.example.org"));
        ASSERT_SPF(Code::fail, check("198.51.100.26", "a@mx.example.org"));
        // An IPv4-mapped client is its IPv4 address.
        ASSERT_SPF(Code::pass, check("::ffff:198.51.100.25", "a@mx.example.org"));
    }

    void ip6_networks()
    {
        ASSERT_SPF(Code::pass, check("2001:db8:1:2::3", "a@ip6.example.org"));
        ASSERT_SPF(Code::fail, check("2001:db9::1", "a@ip6.example.org"));
        ASSERT_SPF(Code::fail, check("192.0.2.7", "a@ip6.example.org"));
    }

    void null_sender_checks_helo()
    {
        for (const char* null_sender : {"", "<>", " <> "}) {
            const auto result = check("203.0.113.5", null_sender, "helo.example.org");
            ASSERT_SPF(Code::pass, result);
            CPPUNIT_ASSERT(result.helo_identity);
            CPPUNIT_ASSERT_EQUAL(std::string("helo.example.org"), result.domain);
        }
        ASSERT_SPF(Code::fail, check("203.0.113.6", "<>", "helo.example.org"));
    }

    void identities_that_cannot_be_checked_are_none_without_queries()
    {
        CountingResolver counting;
        const auto client = ip("192.0.2.7");
        for (const auto& [helo, from] : std::vector<std::pair<const char*, const char*>>{
                 {"[192.0.2.7]", ""},                                  // HELO address literal
                 {"OEMCOMPUTER", "<>"},                                // single label
                 {"", ""},                                             // nothing at all
                 {"mta.example.net", "user@[192.0.2.7]"},              // domain literal
                 {"mta.example.net", "user@a..example.org"},           // empty label
                 {"mta.example.net", "user@localhost"}}) {
            const auto result = check_spf(counting, client, helo, from);
            ASSERT_SPF(Code::none, result);
        }
        const auto literal = check_spf(counting, client, "[192.0.2.7]", "");
        CPPUNIT_ASSERT_EQUAL(std::string("[192.0.2.7]"), literal.domain);
        CPPUNIT_ASSERT_MESSAGE(literal.comment, literal.comment.find("'[192.0.2.7]'") != std::string::npos);
        const std::string long_label(64, 'x');
        ASSERT_SPF(Code::none, check_spf(counting, client, "mta.example.net", "u@" + long_label + ".example.org"));
        const std::string huge(5000, 'x');
        ASSERT_SPF(Code::none, check_spf(counting, client, "mta.example.net", huge + "@pass.example.org"));
        CPPUNIT_ASSERT_EQUAL(0, counting.queries);
    }

    void explanations()
    {
        const auto own = check("198.51.100.1", "a@exp.example.org");
        ASSERT_SPF(Code::fail, own);
        CPPUNIT_ASSERT_EQUAL(std::string("198.51.100.1 may not send for exp.example.org, see https://example.org/spf"),
                             own.explanation);
        const auto fallback = check("198.51.100.1", "a@fail.example.org");
        CPPUNIT_ASSERT_EQUAL(std::string("198.51.100.1 is not a permitted sender for fail.example.org"),
                             fallback.explanation);
        CPPUNIT_ASSERT(!fallback.comment.empty());
        CPPUNIT_ASSERT(check("192.0.2.7", "a@softfail.example.org").explanation.empty());
    }

    void sender_forms()
    {
        ASSERT_SPF(Code::pass, check("192.0.2.7", "<bounce@pass.example.org>"));
        ASSERT_SPF(Code::pass, check("192.0.2.7", "bounce@PASS.Example.ORG"));
        ASSERT_SPF(Code::pass, check("192.0.2.7", "@pass.example.org"));  // no local part
        const auto quoted = check("192.0.2.7", "\"a@b\"@pass.example.org");
        ASSERT_SPF(Code::pass, quoted);
        CPPUNIT_ASSERT_EQUAL(std::string("pass.example.org"), quoted.domain);
    }

    void resolver_exceptions_are_temperror()
    {
        ThrowingResolver broken;
        ASSERT_SPF(Code::temperror, check_spf(broken, ip("192.0.2.7"), "mta.example.net", "a@pass.example.org"));
    }

    void works_through_the_caching_resolver()
    {
        CountingResolver counting;
        int progress = 0;
        CachingResolver cache(counting, [&] { ++progress; });
        ASSERT_SPF(Code::pass, check_spf(cache, ip("198.51.100.25"), "mta.example.net", "a@mx.example.org"));
        const int first = counting.queries;
        CPPUNIT_ASSERT(first >= 2);  // the record, the MX, the hosts
        CPPUNIT_ASSERT_EQUAL(first, progress);
        ASSERT_SPF(Code::pass, check_spf(cache, ip("198.51.100.25"), "mta.example.net", "a@mx.example.org"));
        CPPUNIT_ASSERT_EQUAL(first, counting.queries);  // all from the cache
    }

    void reentry_from_a_lookup_is_safe()
    {
        ReentrantResolver reentrant;
        ASSERT_SPF(Code::pass, check_spf(reentrant, ip("192.0.2.7"), "mta.example.net", "a@pass.example.org"));
        CPPUNIT_ASSERT(reentrant.nested_done);
        ASSERT_SPF(Code::fail, reentrant.nested);
    }

    void threads_share_nothing()
    {
        std::atomic<int> wrong{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&wrong, t] {
                for (int i = 0; i < 50; ++i) {
                    const bool even = (i + t) % 2 == 0;
                    const auto result = check(even ? "198.51.100.25" : "198.51.100.26", "a@mx.example.org");
                    if (result.code != (even ? Code::pass : Code::fail)) ++wrong;
                }
            });
        }
        for (auto& thread : threads) thread.join();
        CPPUNIT_ASSERT_EQUAL(0, wrong.load());
    }

    void result_names()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("none"), std::string(to_string(Code::none)));
        CPPUNIT_ASSERT_EQUAL(std::string("neutral"), std::string(to_string(Code::neutral)));
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), std::string(to_string(Code::pass)));
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), std::string(to_string(Code::fail)));
        CPPUNIT_ASSERT_EQUAL(std::string("softfail"), std::string(to_string(Code::softfail)));
        CPPUNIT_ASSERT_EQUAL(std::string("temperror"), std::string(to_string(Code::temperror)));
        CPPUNIT_ASSERT_EQUAL(std::string("permerror"), std::string(to_string(Code::permerror)));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SpfTest);

}  // namespace ecomm

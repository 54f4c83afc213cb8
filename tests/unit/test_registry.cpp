// Unit tests for the sender registry loader and for whole snapshots: the shipped example loads
// clean, each mistake yields exactly the right "FILE:LINE: message", a registry with an error is
// never half-loaded, and lookups by network keep file order.
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "source_tree.h"
#include "config/registry.h"
#include "config/snapshot.h"
#include "mime/scanner.h"
#include "temp_files.h"

namespace ecomm {
namespace {

std::string joined(const Diagnostics& diagnostics)
{
    std::string result;
    for (const auto& diagnostic : diagnostics) result += diagnostic.to_string() + "\n";
    return result;
}

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// Writes content as a registry file in its own temporary folder and loads it.
struct LoadedRegistry {
    ecomm::test::TempDir dir;
    std::string path;
    Registry registry;
    Diagnostics diagnostics;

    explicit LoadedRegistry(const std::string& content)
    {
        path = dir.write("registry.conf", content);
        registry = load_registry(path, diagnostics);
    }

    // Asserts that the diagnostics are exactly these, each "PATH" + suffix; with an error among
    // them, nothing may have been loaded.
    void expect(const std::vector<std::string>& suffixes) const
    {
        std::string expected;
        for (const auto& suffix : suffixes) expected += path + suffix + "\n";
        CPPUNIT_ASSERT_EQUAL(expected, joined(diagnostics));
        if (has_errors(diagnostics)) CPPUNIT_ASSERT(registry.entries.empty());
    }
};

std::vector<std::string> ids(const std::vector<const RegistryEntry*>& entries)
{
    std::vector<std::string> result;
    for (const auto* entry : entries) result.push_back(entry->id);
    return result;
}

}  // namespace

class RegistryTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RegistryTest);
    CPPUNIT_TEST(shipped_example_loads_clean);
    CPPUNIT_TEST(all_keys_are_parsed);
    CPPUNIT_TEST(duplicate_identifier_names_both_entries);
    CPPUNIT_TEST(bad_identifier);
    CPPUNIT_TEST(bad_return_path_regex);
    CPPUNIT_TEST(bad_expiry_dates);
    CPPUNIT_TEST(dates);
    CPPUNIT_TEST(bad_cidr);
    CPPUNIT_TEST(host_bits_are_a_warning);
    CPPUNIT_TEST(bad_domain);
    CPPUNIT_TEST(unknown_key);
    CPPUNIT_TEST(bad_enumerations);
    CPPUNIT_TEST(entry_without_networks_or_domains);
    CPPUNIT_TEST(duplicate_entry);
    CPPUNIT_TEST(bad_entry_id);
    CPPUNIT_TEST(continuation_of_a_single_value);
    CPPUNIT_TEST(empty_registry_is_a_warning);
    CPPUNIT_TEST(missing_file);
    CPPUNIT_TEST(by_network_keeps_file_order);
    CPPUNIT_TEST(mapped_client_matches_ipv4_network);
    CPPUNIT_TEST(by_id);
    CPPUNIT_TEST(names_of_enumerations);
    CPPUNIT_TEST(snapshot_of_the_shipped_example);
    CPPUNIT_TEST(snapshot_with_bad_registry_is_null);
    CPPUNIT_TEST(snapshot_with_bad_config_skips_registry);
    CPPUNIT_TEST(snapshot_keeps_warnings);
    CPPUNIT_TEST(snapshot_carries_the_body_options);
    CPPUNIT_TEST_SUITE_END();

public:
    void shipped_example_loads_clean()
    {
        Diagnostics diagnostics;
        const auto registry = load_registry(test::source_file("conf/registry.conf"), diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(diagnostics));
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, registry.entries.size());

        const auto& mc = registry.entries[0];
        CPPUNIT_ASSERT_EQUAL(std::string("marketing-cloud"), mc.id);
        CPPUNIT_ASSERT_EQUAL(std::string("Strategic Relations and Communications"), mc.unit);
        CPPUNIT_ASSERT(mc.networks.contains(ip("192.0.2.127")));
        CPPUNIT_ASSERT(!mc.networks.contains(ip("192.0.2.128")));
        CPPUNIT_ASSERT(mc.networks.contains(ip("2001:db8:10:ffff::1")));
        CPPUNIT_ASSERT(mc.domains == std::vector<std::string>{"e.example.edu"});
        CPPUNIT_ASSERT_EQUAL(std::string("mc7f3a"), mc.identifier);
        CPPUNIT_ASSERT(mc.return_path);
        CPPUNIT_ASSERT(mc.return_path->matches("bounce-mc7f3a-42@e.example.edu"));
        CPPUNIT_ASSERT(mc.return_path->matches("BOUNCE-MC7F3A-42ab@E.Example.EDU"));  // caseless
        CPPUNIT_ASSERT(!mc.return_path->matches("bounce-cv91-42@e.example.edu"));
        CPPUNIT_ASSERT(mc.category == Category::promotional);
        CPPUNIT_ASSERT(mc.authentication == AuthRequirement::spf_or_dkim);
        CPPUNIT_ASSERT(mc.external_tag_exempt);
        CPPUNIT_ASSERT(mc.expires == (Date{2027, 6, 30}));

        const auto& cvent = registry.entries[1];
        CPPUNIT_ASSERT_EQUAL(std::string("cvent"), cvent.id);
        CPPUNIT_ASSERT(cvent.category == Category::transactional);
        CPPUNIT_ASSERT(cvent.authentication == AuthRequirement::spf_or_dkim);  // the default
        CPPUNIT_ASSERT(!cvent.external_tag_exempt);
        CPPUNIT_ASSERT(cvent.expires == (Date{2027, 1, 31}));
    }

    void all_keys_are_parsed()
    {
        const LoadedRegistry loaded(
            "[slate]\n"
            "networks = 203.0.113.0/24\n"
            "    2001:db8:20::/48 ; the IPv6 pool\n"
            "domains = .Admissions.Example.EDU, apply.example.edu\n"
            "identifier = sl8=x+y.z_\n"
            "category = message\n"
            "authentication = SPF-and-DKIM\n"
            "external_tag_exempt = true\n"
            "expires =\n"
            "rate = 120\n"
            "rate_burst = 20\n"
            "\n"
            "[dkim-only]\n"
            "domains = news.example.edu\n"
            "authentication = dkim\n");
        loaded.expect({});
        const auto& slate = loaded.registry.entries.at(0);
        CPPUNIT_ASSERT_EQUAL(1, slate.line);
        CPPUNIT_ASSERT(slate.networks.contains(ip("2001:db8:20::9")));
        CPPUNIT_ASSERT((slate.domains == std::vector<std::string>{"admissions.example.edu", "apply.example.edu"}));
        CPPUNIT_ASSERT_EQUAL(std::string("sl8=x+y.z_"), slate.identifier);
        CPPUNIT_ASSERT(!slate.return_path);
        CPPUNIT_ASSERT(slate.category == Category::per_message);
        CPPUNIT_ASSERT(slate.authentication == AuthRequirement::spf_and_dkim);
        CPPUNIT_ASSERT(slate.external_tag_exempt);
        CPPUNIT_ASSERT(!slate.expires);
        CPPUNIT_ASSERT_EQUAL(120, slate.rate_limit.value_or(-1));
        CPPUNIT_ASSERT_EQUAL(20, slate.rate_burst.value_or(-1));
        const auto& dkim_only = loaded.registry.entries.at(1);
        CPPUNIT_ASSERT_EQUAL(13, dkim_only.line);
        CPPUNIT_ASSERT(!dkim_only.rate_limit && !dkim_only.rate_burst);
        CPPUNIT_ASSERT(dkim_only.networks.empty());
        CPPUNIT_ASSERT(dkim_only.authentication == AuthRequirement::dkim);
        CPPUNIT_ASSERT(dkim_only.identifier.empty());
    }

    void duplicate_identifier_names_both_entries()
    {
        LoadedRegistry("[first]\n"
                       "networks = 192.0.2.0/24\n"
                       "identifier = abc1\n"
                       "\n"
                       "[second]\n"
                       "networks = 198.51.100.0/24\n"
                       "identifier = ABC1\n")
            .expect({":7: identifier 'ABC1' is already used by entry 'first' (line 3)"});
    }

    void bad_identifier()
    {
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nidentifier = x\n")
            .expect({":3: invalid identifier 'x' (expected 2 to 64 letters, digits or . _ = + -)"});
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nidentifier = mc 7f\n")
            .expect({":3: invalid identifier 'mc 7f' (expected 2 to 64 letters, digits or . _ = + -)"});
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nidentifier = " + std::string(65, 'a') + "\n")
            .expect({":3: invalid identifier '" + std::string(65, 'a') +
                     "' (expected 2 to 64 letters, digits or . _ = + -)"});
    }

    void bad_return_path_regex()
    {
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nreturn_path = ^bounce-(abc@x$\n")
            .expect({":3: return_path: missing closing parenthesis at offset 15"});
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nreturn_path = a{2,1}\n")
            .expect({":3: return_path: numbers out of order in {} quantifier at offset 5"});
    }

    void bad_expiry_dates()
    {
        for (const char* date : {"2027-02-30", "2027-02-29", "2100-02-29", "2027-13-01", "2027-00-10", "2027-04-31",
                                 "2027-6-30", "27-06-30", "2027/06/30", "2027-06-30x", "tomorrow", "0000-01-01"}) {
            LoadedRegistry(std::string("[a]\nnetworks = 192.0.2.0/24\nexpires = ") + date + "\n")
                .expect({std::string(":3: invalid expires '") + date + "' (expected a real date as YYYY-MM-DD)"});
        }
    }

    void dates()
    {
        CPPUNIT_ASSERT(Date::parse("2028-02-29") == (Date{2028, 2, 29}));  // leap year
        CPPUNIT_ASSERT(Date::parse("2000-02-29") == (Date{2000, 2, 29}));  // divisible by 400
        CPPUNIT_ASSERT(Date::parse("2027-12-31") == (Date{2027, 12, 31}));
        CPPUNIT_ASSERT(!Date::parse("2027-02-29"));
        CPPUNIT_ASSERT(!Date::parse("1900-02-29"));
        CPPUNIT_ASSERT(!Date::parse("2027-02-30"));
        CPPUNIT_ASSERT(!Date::parse("+027-01-01"));
        CPPUNIT_ASSERT_EQUAL(std::string("2027-06-30"), (Date{2027, 6, 30}).to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("0999-01-05"), (Date{999, 1, 5}).to_string());
        CPPUNIT_ASSERT((Date{2027, 1, 31} < Date{2027, 2, 1}));
        CPPUNIT_ASSERT((Date{2026, 12, 31} < Date{2027, 1, 1}));
    }

    void bad_cidr()
    {
        // Only the bad element is reported (not also "neither networks nor domains").
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24,\n  10.0.0/8\n")
            .expect({":3: invalid networks entry '10.0.0/8' (expected an IPv4 or IPv6 network such as 192.0.2.0/24)"});
        LoadedRegistry("[a]\nnetworks = 2001:db8::/129\n")
            .expect({":2: invalid networks entry '2001:db8::/129' "
                     "(expected an IPv4 or IPv6 network such as 192.0.2.0/24)"});
    }

    void host_bits_are_a_warning()
    {
        const LoadedRegistry loaded("[a]\nnetworks = 192.0.2.7/24\n");
        loaded.expect({":2: warning: 192.0.2.7/24 has host bits set; using 192.0.2.0/24"});
        CPPUNIT_ASSERT(!has_errors(loaded.diagnostics));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, loaded.registry.entries.size());
        CPPUNIT_ASSERT(loaded.registry.entries[0].networks.contains(ip("192.0.2.200")));
    }

    void bad_domain()
    {
        LoadedRegistry("[a]\ndomains = e.example.edu bad_domain.edu\n")
            .expect({":2: invalid domains entry 'bad_domain.edu' (expected a domain name such as e.example.edu)"});
    }

    void unknown_key()
    {
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\ncolour = blue\n")
            .expect({":3: unknown key 'colour' in section [a]"});
    }

    void bad_enumerations()
    {
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\ncategory = bulk\n")
            .expect({":3: invalid category 'bulk' (expected promotional, transactional or message)"});
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nauthentication = dmarc\n")
            .expect({":3: invalid authentication 'dmarc' (expected spf, dkim, spf-or-dkim or spf-and-dkim)"});
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nexternal_tag_exempt = sometimes\n")
            .expect({":3: invalid external_tag_exempt 'sometimes' (expected yes or no)"});
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nrate = 60001\n")
            .expect({":3: invalid rate '60001' (expected messages a minute, 0 to 60000 (0: no limit))"});
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nrate_burst = -1\n")
            .expect({":3: invalid rate_burst '-1' (expected a number of messages, 0 to 60000 (0: the whole minute's allowance))"});
    }

    void entry_without_networks_or_domains()
    {
        LoadedRegistry("[ok]\ndomains = e.example.edu\n\n[lonely]\nunit = Somebody\nidentifier = lone\n")
            .expect({":4: entry 'lonely' has neither networks nor domains"});
    }

    void duplicate_entry()
    {
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\n\n[a]\nnetworks = 198.51.100.0/24\n")
            .expect({":4: duplicate entry 'a' (first at line 1)"});
    }

    void bad_entry_id()
    {
        LoadedRegistry("[marketing cloud]\nnetworks = 192.0.2.0/24\n")
            .expect({":1: invalid entry id 'marketing cloud' (use letters, digits, '.', '_' and '-')"});
    }

    void continuation_of_a_single_value()
    {
        LoadedRegistry("[a]\nnetworks = 192.0.2.0/24\nunit = Strategic Relations\n  and Communications\n")
            .expect({":4: 'unit' takes a single value; only lists go on over indented lines"});
    }

    void empty_registry_is_a_warning()
    {
        const LoadedRegistry loaded("# nobody is registered yet\n");
        loaded.expect({": warning: no entries: every sender counts as unregistered"});
        CPPUNIT_ASSERT(!has_errors(loaded.diagnostics));
    }

    void missing_file()
    {
        const ecomm::test::TempDir dir;
        Diagnostics diagnostics;
        load_registry(dir.path("nope.conf"), diagnostics);
        CPPUNIT_ASSERT_EQUAL(dir.path("nope.conf") + ": cannot read: No such file or directory\n", joined(diagnostics));
    }

    void by_network_keeps_file_order()
    {
        const LoadedRegistry loaded("[wide]\nnetworks = 192.0.2.0/24\n"
                                    "[other]\nnetworks = 198.51.100.0/24\n"
                                    "[narrow]\nnetworks = 192.0.2.0/28, 2001:db8::/32\n");
        loaded.expect({});
        const auto& registry = loaded.registry;
        CPPUNIT_ASSERT((ids(registry.by_network(ip("192.0.2.5"))) == std::vector<std::string>{"wide", "narrow"}));
        CPPUNIT_ASSERT((ids(registry.by_network(ip("192.0.2.100"))) == std::vector<std::string>{"wide"}));
        CPPUNIT_ASSERT((ids(registry.by_network(ip("198.51.100.1"))) == std::vector<std::string>{"other"}));
        CPPUNIT_ASSERT((ids(registry.by_network(ip("2001:db8::1"))) == std::vector<std::string>{"narrow"}));
        CPPUNIT_ASSERT(registry.by_network(ip("203.0.113.1")).empty());
    }

    void mapped_client_matches_ipv4_network()
    {
        const LoadedRegistry loaded("[v4]\nnetworks = 192.0.2.0/24\n[v6]\nnetworks = 2001:db8::/32\n");
        loaded.expect({});
        CPPUNIT_ASSERT((ids(loaded.registry.by_network(ip("::ffff:192.0.2.9"))) == std::vector<std::string>{"v4"}));
        CPPUNIT_ASSERT(loaded.registry.by_network(ip("::ffff:198.51.100.9")).empty());
    }

    void by_id()
    {
        const LoadedRegistry loaded("[a]\ndomains = a.example.edu\n[b]\ndomains = b.example.edu\n");
        loaded.expect({});
        CPPUNIT_ASSERT(loaded.registry.by_id("b") == &loaded.registry.entries[1]);
        CPPUNIT_ASSERT(loaded.registry.by_id("c") == nullptr);
    }

    void names_of_enumerations()
    {
        CPPUNIT_ASSERT_EQUAL(std::string_view("promotional"), to_string(Category::promotional));
        CPPUNIT_ASSERT_EQUAL(std::string_view("transactional"), to_string(Category::transactional));
        CPPUNIT_ASSERT_EQUAL(std::string_view("message"), to_string(Category::per_message));
        CPPUNIT_ASSERT_EQUAL(std::string_view("spf"), to_string(AuthRequirement::spf));
        CPPUNIT_ASSERT_EQUAL(std::string_view("dkim"), to_string(AuthRequirement::dkim));
        CPPUNIT_ASSERT_EQUAL(std::string_view("spf-or-dkim"), to_string(AuthRequirement::spf_or_dkim));
        CPPUNIT_ASSERT_EQUAL(std::string_view("spf-and-dkim"), to_string(AuthRequirement::spf_and_dkim));
    }

    void snapshot_of_the_shipped_example()
    {
        const auto result = load_snapshot(test::source_file("conf/ecomm-milter.conf"), 7);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(result.diagnostics));
        CPPUNIT_ASSERT(result.snapshot);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{7}, result.snapshot->generation);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, result.snapshot->registry.entries.size());
        CPPUNIT_ASSERT_EQUAL(std::string("America/Denver"), result.snapshot->config.time_zone);

        SnapshotHolder holder;
        holder.replace(result.snapshot);
        CPPUNIT_ASSERT(holder.current() == result.snapshot);
    }

    void snapshot_with_bad_registry_is_null()
    {
        const ecomm::test::TempDir dir;
        const auto config = dir.write("ecomm.conf", "[milter]\nregistry = senders.conf\n"
                                                    "[policy]\nuniversity_domains = example.edu\n");
        const auto registry = dir.write("senders.conf", "[a]\nnetworks = 192.0.2.0/24\nexpires = 2027-02-30\n");
        const auto result = load_snapshot(config);
        CPPUNIT_ASSERT(!result.snapshot);
        CPPUNIT_ASSERT_EQUAL(registry + ":3: invalid expires '2027-02-30' (expected a real date as YYYY-MM-DD)\n",
                             joined(result.diagnostics));
    }

    void snapshot_with_bad_config_skips_registry()
    {
        const ecomm::test::TempDir dir;
        const auto config = dir.write("ecomm.conf", "[milter]\nregistry = missing.conf\nmode = loud\n");
        const auto result = load_snapshot(config);
        CPPUNIT_ASSERT(!result.snapshot);
        CPPUNIT_ASSERT_EQUAL(config + ": missing required key 'university_domains' in section [policy]\n" +
                                 config + ":3: invalid mode 'loud' (expected enforce or monitor)\n",
                             joined(result.diagnostics));
    }

    void snapshot_keeps_warnings()
    {
        const ecomm::test::TempDir dir;
        const auto config = dir.write("ecomm.conf", "[milter]\nregistry = senders.conf\n"
                                                    "[policy]\nuniversity_domains = example.edu\n"
                                                    "internal_networks = 10.0.0.1/8\n");
        const auto registry = dir.write("senders.conf", "; empty for now\n");
        const auto result = load_snapshot(config);
        CPPUNIT_ASSERT(result.snapshot);
        CPPUNIT_ASSERT_EQUAL(config + ":5: warning: 10.0.0.1/8 has host bits set; using 10.0.0.0/8\n" + registry +
                                 ": warning: no entries: every sender counts as unregistered\n",
                             joined(result.diagnostics));
    }

    // Built once per snapshot for the MIME scanner of every message: they must be [body]'s.
    void snapshot_carries_the_body_options()
    {
        const ecomm::test::TempDir dir;
        const auto config = dir.write("ecomm.conf", "[milter]\nregistry = senders.conf\n"
                                                    "[policy]\nuniversity_domains = example.edu\n"
                                                    "[body]\nbody_types = text/plain, application/pdf\n"
                                                    "exempt_types = application/pgp-signature\n");
        dir.write("senders.conf", "[a]\nnetworks = 192.0.2.0/24\n");
        const auto result = load_snapshot(config);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(result.diagnostics));
        CPPUNIT_ASSERT(result.snapshot && result.snapshot->mime_options);
        const MimeOptions& options = *result.snapshot->mime_options;
        CPPUNIT_ASSERT((options.body_types == std::vector<std::string>{"text/plain", "application/pdf"}));
        CPPUNIT_ASSERT((options.exempt_types == std::vector<std::string>{"application/pgp-signature"}));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RegistryTest);

}  // namespace ecomm

// Unit tests for the main config loader: the shipped example loads clean, absent keys take their
// defaults, and each kind of mistake yields exactly one "FILE:LINE: message" naming it.
#include <cppunit/extensions/HelperMacros.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "source_tree.h"
#include "config/config.h"
#include "config/ini_reader.h"
#include "config/snapshot.h"
#include "dns/shared_dns_cache.h"
#include "dns/static_resolver.h"
#include "dns/system_resolver.h"
#include "temp_files.h"

namespace ecomm {
namespace {

std::vector<std::string> texts(const Diagnostics& diagnostics)
{
    std::vector<std::string> result;
    for (const auto& diagnostic : diagnostics) result.push_back(diagnostic.to_string());
    return result;
}

std::string joined(const std::vector<std::string>& lines)
{
    std::string result;
    for (const auto& line : lines) result += line + "\n";
    return result;
}

const char* const kMinimal = "[policy]\nuniversity_domains = example.edu\n";

// Writes content as a config file in its own temporary folder and loads it.
struct Loaded {
    ecomm::test::TempDir dir;
    std::string path;
    MainConfig config;
    Diagnostics diagnostics;

    explicit Loaded(const std::string& content)
    {
        path = dir.write("ecomm-milter.conf", content);
        config = load_main_config(path, diagnostics);
    }

    // Asserts that the diagnostics are exactly these, each "PATH" + suffix.
    void expect(const std::vector<std::string>& suffixes) const
    {
        std::vector<std::string> expected;
        for (const auto& suffix : suffixes) expected.push_back(path + suffix);
        CPPUNIT_ASSERT_EQUAL(joined(expected), joined(texts(diagnostics)));
    }
};

}  // namespace

class ConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConfigTest);
    CPPUNIT_TEST(shipped_example_loads_clean);
    CPPUNIT_TEST(absent_keys_take_their_defaults);
    CPPUNIT_TEST(key_table_documents_every_key);
    CPPUNIT_TEST(values_are_parsed);
    CPPUNIT_TEST(relative_pid_file_is_the_config_folders);
    CPPUNIT_TEST(unknown_key);
    CPPUNIT_TEST(unknown_section);
    CPPUNIT_TEST(bad_action);
    CPPUNIT_TEST(accept_is_not_an_action);
    CPPUNIT_TEST(bad_mode);
    CPPUNIT_TEST(bad_on_error);
    CPPUNIT_TEST(bad_octal_mode);
    CPPUNIT_TEST(bad_boolean);
    CPPUNIT_TEST(bad_number);
    CPPUNIT_TEST(bad_header_name);
    CPPUNIT_TEST(junk_header_must_differ_from_the_tag_header);
    CPPUNIT_TEST(authentication_and_body_settings);
    CPPUNIT_TEST(dns_cache_wraps_the_system_resolver);
    CPPUNIT_TEST(counter_rate_and_bulk_settings);
    CPPUNIT_TEST(redis_counter_settings);
    CPPUNIT_TEST(redis_password_file_is_read_and_checked);
    CPPUNIT_TEST(holidays_file_is_read_and_checked);
    CPPUNIT_TEST(bad_socket);
    CPPUNIT_TEST(bad_cidr_on_a_continuation_line);
    CPPUNIT_TEST(host_bits_are_a_warning);
    CPPUNIT_TEST(internal_networks_replace_the_default);
    CPPUNIT_TEST(bad_time_zone);
    CPPUNIT_TEST(duplicate_key);
    CPPUNIT_TEST(duplicate_section);
    CPPUNIT_TEST(continuation_lists);
    CPPUNIT_TEST(continuation_of_a_single_value);
    CPPUNIT_TEST(over_long_line);
    CPPUNIT_TEST(missing_file);
    CPPUNIT_TEST(missing_university_domains);
    CPPUNIT_TEST(missing_policy_section);
    CPPUNIT_TEST(bad_university_domains);
    CPPUNIT_TEST(relative_registry_path);
    CPPUNIT_TEST(syntax_error);
    CPPUNIT_TEST(key_outside_any_section);
    CPPUNIT_TEST(control_character_in_value);
    CPPUNIT_TEST(crlf_and_bom_are_accepted);
    CPPUNIT_TEST(diagnostics_come_in_line_order);
    CPPUNIT_TEST(diagnostic_text);
    CPPUNIT_TEST_SUITE_END();

public:
    void shipped_example_loads_clean()
    {
        const std::string path = test::source_file("conf/ecomm-milter.conf");
        Diagnostics diagnostics;
        const auto config = load_main_config(path, diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(texts(diagnostics)));
        CPPUNIT_ASSERT_EQUAL(std::string("unix:/run/ecomm-milter/ecomm-milter.sock"), config.socket);
        CPPUNIT_ASSERT_EQUAL(0660u, config.socket_mode);
        CPPUNIT_ASSERT_EQUAL(std::string(), config.socket_group);
        CPPUNIT_ASSERT_EQUAL(std::string("ecomm-milter"), config.user);
        CPPUNIT_ASSERT_EQUAL(std::string(), config.pid_file);
        CPPUNIT_ASSERT_EQUAL((std::filesystem::path(path).parent_path() / "registry.conf").string(),
                             config.registry_file);
        CPPUNIT_ASSERT(!config.monitor);
        CPPUNIT_ASSERT(config.on_error == Action::tempfail);
        CPPUNIT_ASSERT(config.log_accepts);
        CPPUNIT_ASSERT(config.university_domains == std::vector<std::string>{"example.edu"});
        CPPUNIT_ASSERT(config.internal_networks.contains(*IpAddress::parse("10.20.30.40")));
        CPPUNIT_ASSERT(config.internal_networks.contains(*IpAddress::parse("::1")));
        CPPUNIT_ASSERT_EQUAL(std::string("https://www.example.edu/policies/ecommunications"), config.policy_url);
        CPPUNIT_ASSERT_EQUAL(std::string("America/Denver"), config.time_zone);
        CPPUNIT_ASSERT_EQUAL(14, config.expiry_warning_days);
        CPPUNIT_ASSERT_EQUAL(std::string("[EXTERNAL]"), config.subject_prefix);
        CPPUNIT_ASSERT_EQUAL(std::string("X-Ecomm-External"), config.tag_header);
        CPPUNIT_ASSERT(config.action_for("registration") == Action::reject);
        CPPUNIT_ASSERT(config.action_for("external-tag") == Action::tag);
    }

    void absent_keys_take_their_defaults()
    {
        const Loaded loaded(kMinimal);
        loaded.expect({});
        const auto& config = loaded.config;
        CPPUNIT_ASSERT_EQUAL(std::string("unix:/run/ecomm-milter/ecomm-milter.sock"), config.socket);
        CPPUNIT_ASSERT_EQUAL(0660u, config.socket_mode);
        CPPUNIT_ASSERT_EQUAL(std::string(), config.socket_group);
        CPPUNIT_ASSERT_EQUAL(std::string(), config.user);
        CPPUNIT_ASSERT_EQUAL(std::string(), config.pid_file);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/ecomm-milter/registry.conf"), config.registry_file);
        CPPUNIT_ASSERT(!config.monitor);
        CPPUNIT_ASSERT(config.on_error == Action::tempfail);
        CPPUNIT_ASSERT(config.log_accepts);
        CPPUNIT_ASSERT(config.no_reply == MainConfig::NoReply::always);
        CPPUNIT_ASSERT(config.internal_networks.contains(*IpAddress::parse("127.0.0.1")));
        CPPUNIT_ASSERT(config.internal_networks.contains(*IpAddress::parse("::1")));
        CPPUNIT_ASSERT(!config.internal_networks.contains(*IpAddress::parse("10.0.0.1")));
        CPPUNIT_ASSERT_EQUAL(std::string(), config.policy_url);
        CPPUNIT_ASSERT_EQUAL(std::string("UTC"), config.time_zone);
        CPPUNIT_ASSERT_EQUAL(14, config.expiry_warning_days);
        CPPUNIT_ASSERT_EQUAL(std::string("X-Spam-Flag"), config.junk_header);
        CPPUNIT_ASSERT_EQUAL(std::string("YES"), config.junk_value);
        CPPUNIT_ASSERT_EQUAL(std::string("X-Ecomm-Policy"), config.report_header);
        CPPUNIT_ASSERT_EQUAL(std::string("X-Ecomm-External"), config.tag_header);
        CPPUNIT_ASSERT_EQUAL(std::string("yes"), config.tag_value);
        CPPUNIT_ASSERT_EQUAL(std::string(), config.subject_prefix);
        CPPUNIT_ASSERT_EQUAL(std::string("/var/lib/ecomm-milter/counters"), config.counter_file);
        CPPUNIT_ASSERT_EQUAL(30, config.rate_limit);
        CPPUNIT_ASSERT_EQUAL(5, config.throttle_delay_seconds);
        CPPUNIT_ASSERT_EQUAL(0, config.client_rate_limit);
        CPPUNIT_ASSERT_EQUAL(15000, config.bulk_threshold);
        CPPUNIT_ASSERT_EQUAL(8 * 60, config.business_hours.open_minute);
        CPPUNIT_ASSERT_EQUAL(17 * 60, config.business_hours.close_minute);
        CPPUNIT_ASSERT(config.business_hours.days[1] && config.business_hours.days[5] && !config.business_hours.days[0]);

        CPPUNIT_ASSERT(config.action_for("registration") == Action::reject);
        CPPUNIT_ASSERT(config.action_for("return-path") == Action::reject);
        CPPUNIT_ASSERT(config.action_for("authentication") == Action::reject);
        CPPUNIT_ASSERT(config.action_for("attachments") == Action::reject);
        CPPUNIT_ASSERT(config.action_for("unsubscribe") == Action::reject);
        CPPUNIT_ASSERT(config.action_for("rate") == Action::tempfail);
        CPPUNIT_ASSERT(config.action_for("bulk-hours") == Action::tempfail);
        CPPUNIT_ASSERT(config.action_for("external-tag") == Action::tag);
        CPPUNIT_ASSERT(config.action_for("authentication-temperror") == Action::tempfail);
        CPPUNIT_ASSERT(config.action_for("authentication-permerror") == Action::reject);
        CPPUNIT_ASSERT(config.action_for("no-such-rule") == Action::accept);
        CPPUNIT_ASSERT_EQUAL(std::size_t{10}, config.actions.size());
        CPPUNIT_ASSERT_EQUAL(5, config.dns_timeout_seconds);
        CPPUNIT_ASSERT_EQUAL(4096, config.dns_cache_entries);
        CPPUNIT_ASSERT(!config.authserv_id.empty());  // the host name
    }

    // The shipped example documents every key of the table, in its own section: the example and
    // the loader cannot drift apart.
    void key_table_documents_every_key()
    {
        std::ifstream in(test::source_file("conf/ecomm-milter.conf"));
        std::string line, section;
        std::set<std::string> documented;
        while (std::getline(in, line)) {
            std::string_view text = line;
            while (!text.empty() && (text.front() == '#' || text.front() == ' ')) text.remove_prefix(1);
            if (text.starts_with("[") && text.find(']') != std::string_view::npos)
                section = std::string(text.substr(1, text.find(']') - 1));
            else if (const auto eq = text.find(" ="); eq != std::string_view::npos)
                documented.insert(section + "/" + std::string(text.substr(0, eq)));
        }
        const auto& keys = main_config_keys();
        CPPUNIT_ASSERT(keys.size() >= 28);
        for (const auto& key : keys) {
            CPPUNIT_ASSERT(key.doc && *key.doc);
            const std::string name = std::string(key.section) + "/" + key.key;
            CPPUNIT_ASSERT_MESSAGE(name + " is not in conf/ecomm-milter.conf", documented.count(name) == 1);
        }
    }

    void values_are_parsed()
    {
        const Loaded loaded(
            "[milter]\n"
            "socket = inet:8890@127.0.0.1\n"
            "socket_mode = 600\n"
            "mode = Monitor\n"
            "on_error = accept\n"
            "log_accepts = off\n"
            "no_reply = Unix\n"
            "pid_file = /run/ecomm-milter/ecomm-milter.pid\n"
            "[policy]\n"
            "university_domains = example.edu\n"
            "expiry_warning_days = 0\n"
            "time_zone = Europe/Berlin\n"
            "[external-tag]\n"
            "subject_prefix = [EXT] ; the prefix\n"
            "[actions]\n"
            "registration = log\n"
            "attachments = quarantine\n"
            "rate = discard\n");
        loaded.expect({});
        const auto& config = loaded.config;
        CPPUNIT_ASSERT_EQUAL(std::string("inet:8890@127.0.0.1"), config.socket);
        CPPUNIT_ASSERT_EQUAL(0600u, config.socket_mode);
        CPPUNIT_ASSERT(config.monitor);
        CPPUNIT_ASSERT(config.on_error == Action::accept);
        CPPUNIT_ASSERT(!config.log_accepts);
        CPPUNIT_ASSERT(config.no_reply == MainConfig::NoReply::unix_only);
        CPPUNIT_ASSERT_EQUAL(std::string("/run/ecomm-milter/ecomm-milter.pid"), config.pid_file);
        CPPUNIT_ASSERT_EQUAL(0, config.expiry_warning_days);
        CPPUNIT_ASSERT_EQUAL(std::string("Europe/Berlin"), config.time_zone);
        CPPUNIT_ASSERT_EQUAL(std::string("[EXT]"), config.subject_prefix);
        CPPUNIT_ASSERT(config.action_for("registration") == Action::log);
        CPPUNIT_ASSERT(config.action_for("attachments") == Action::quarantine);
        CPPUNIT_ASSERT(config.action_for("rate") == Action::discard);
        CPPUNIT_ASSERT(config.action_for("return-path") == Action::reject);  // untouched default
    }

    void unknown_key()
    {
        Loaded("[milter]\nsockets = unix:/x\n[policy]\nuniversity_domains = example.edu\n")
            .expect({":2: unknown key 'sockets' in section [milter]"});
    }

    void unknown_section()
    {
        // Its keys are not reported one by one: the section header says it all.
        Loaded("[miltr]\nsocket = unix:/x\nmode = enforce\n[policy]\nuniversity_domains = example.edu\n")
            .expect({":1: unknown section [miltr]"});
    }

    void bad_action()
    {
        Loaded(std::string(kMinimal) + "[actions]\nregistration = bounce\n")
            .expect({":4: invalid action 'bounce' for registration "
                     "(expected reject, tempfail, quarantine, discard, junk, tag or log)"});
    }

    void accept_is_not_an_action()
    {
        Loaded(std::string(kMinimal) + "[actions]\nreturn-path = accept\n")
            .expect({":4: 'accept' is not an action for return-path "
                     "(use log to let failing messages through and log them)"});
    }

    void bad_mode()
    {
        Loaded(std::string("[milter]\nmode = fast\n") + kMinimal)
            .expect({":2: invalid mode 'fast' (expected enforce or monitor)"});
    }

    void bad_on_error()
    {
        Loaded(std::string("[milter]\non_error = quarantine\n") + kMinimal)
            .expect({":2: invalid on_error 'quarantine' (expected tempfail, accept or reject)"});
    }

    void bad_octal_mode()
    {
        Loaded(std::string("[milter]\nsocket_mode = 0999\n") + kMinimal)
            .expect({":2: invalid socket_mode '0999' (expected an octal mode such as 0660, at most 0777)"});
        Loaded(std::string("[milter]\nsocket_mode = 1777\n") + kMinimal)
            .expect({":2: invalid socket_mode '1777' (expected an octal mode such as 0660, at most 0777)"});
        Loaded(std::string("[milter]\nsocket_mode = 0x1ff\n") + kMinimal)
            .expect({":2: invalid socket_mode '0x1ff' (expected an octal mode such as 0660, at most 0777)"});
    }

    void bad_boolean()
    {
        Loaded(std::string("[milter]\nlog_accepts = maybe\n") + kMinimal)
            .expect({":2: invalid log_accepts 'maybe' (expected yes or no)"});
        Loaded(std::string("[milter]\nno_reply = tcp\n") + kMinimal)
            .expect({":2: invalid no_reply 'tcp' (expected unix, always or never)"});
    }

    void bad_number()
    {
        Loaded(std::string(kMinimal) + "expiry_warning_days = 3651\n")
            .expect({":3: invalid expiry_warning_days '3651' (expected a number of days from 0 to 3650)"});
        Loaded(std::string(kMinimal) + "expiry_warning_days = -1\n")
            .expect({":3: invalid expiry_warning_days '-1' (expected a number of days from 0 to 3650)"});
    }

    void authentication_and_body_settings()
    {
        Loaded(std::string(kMinimal) + "[authentication]\ndns_timeout = 0\n")
            .expect({":4: invalid dns_timeout '0' (expected a whole number from 1 to 60)"});
        Loaded(std::string(kMinimal) + "[authentication]\ndns_budget = 241\n")
            .expect({":4: invalid dns_budget '241' (expected a whole number from 1 to 240)"});
        Loaded(std::string(kMinimal) + "[authentication]\ndns_cache = -1\n")
            .expect({":4: invalid dns_cache '-1' (expected a whole number from 0 to 1000000)"});
        Loaded(std::string(kMinimal) + "[authentication]\ndns_cache = 1000001\n")
            .expect({":4: invalid dns_cache '1000001' (expected a whole number from 0 to 1000000)"});
        Loaded(std::string(kMinimal) + "[authentication]\nauthserv_id = mx example\n")
            .expect({":4: invalid authserv_id 'mx example' (expected a host name such as mx.example.edu)"});
        Loaded(std::string(kMinimal) + "[body]\nbody_types = text/plain, pdf\n")
            .expect({":4: invalid body_types entry 'pdf' (expected a media type such as text/plain)"});
        Loaded(std::string(kMinimal) + "[body]\nbody_types =\n")
            .expect({":4: invalid body_types '' (expected at least one media type, such as text/plain (none would "
                     "make every part an attachment))"});
        Loaded(std::string(kMinimal) + "[body]\nexempt_types =\n").expect({});  // no exemption: allowed
        Loaded(std::string(kMinimal) + "[actions]\nauthentication-temperror = accept\n")
            .expect({":4: 'accept' is not an action for authentication-temperror "
                     "(use log to let failing messages through and log them)"});
    }

    // The daemon changes to / before it writes the pid file: a relative one is taken from the
    // config file's folder, as every other path in it.
    void relative_pid_file_is_the_config_folders()
    {
        const Loaded relative(std::string(kMinimal) + "[milter]\npid_file = run/ecomm.pid\n");
        CPPUNIT_ASSERT_EQUAL((std::filesystem::path(relative.path).parent_path() / "run/ecomm.pid").string(),
                             relative.config.pid_file);
        CPPUNIT_ASSERT_EQUAL(std::string("/run/e.pid"),
                             Loaded(std::string(kMinimal) + "[milter]\npid_file = /run/e.pid\n").config.pid_file);
        CPPUNIT_ASSERT_EQUAL(std::string(""), Loaded(kMinimal).config.pid_file);
    }

    // dns_cache puts a SharedDnsCache of that many answers in front of the system resolver; 0
    // and a static dns_file leave it out (the test zone's answers carry no TTL).
    void dns_cache_wraps_the_system_resolver()
    {
        const Loaded sized(std::string(kMinimal) + "[authentication]\ndns_cache = 1000000\n");
        sized.expect({});
        CPPUNIT_ASSERT_EQUAL(1000000, sized.config.dns_cache_entries);
        Diagnostics diagnostics;
        const auto cached = make_resolver(sized.config, "", diagnostics);
        const auto* shared = dynamic_cast<const SharedDnsCache*>(cached.get());
        CPPUNIT_ASSERT(shared != nullptr);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1000000}, shared->capacity());

        const Loaded off(std::string(kMinimal) + "[authentication]\ndns_cache = 0\n");
        off.expect({});
        CPPUNIT_ASSERT_EQUAL(0, off.config.dns_cache_entries);
        const auto plain = make_resolver(off.config, "", diagnostics);
        CPPUNIT_ASSERT(dynamic_cast<const SystemResolver*>(plain.get()) != nullptr);

        const auto zone_file = sized.dir.write("zone.txt", "example.org TXT \"v=spf1 -all\"\n");
        const auto zone = make_resolver(sized.config, zone_file, diagnostics);
        CPPUNIT_ASSERT(dynamic_cast<const StaticResolver*>(zone.get()) != nullptr);
        CPPUNIT_ASSERT(diagnostics.empty());
    }

    void counter_rate_and_bulk_settings()
    {
        const Loaded good(std::string(kMinimal) +
                          "[counters]\nfile = /srv/counters\nrate_slots = 64\ncampaign_slots = 8\n"
                          "[rate]\nlimit = 60\nburst = 10\nthrottle_delay = 0\nclient_limit = 100\n"
                          "[bulk]\nthreshold = 500\ncampaign_headers = List-Id\naudience_header =\n"
                          "audience_window = 48\nbusiness_days = Mon, Wed\nbusiness_hours = 09:30-24:00\n");
        good.expect({});
        CPPUNIT_ASSERT_EQUAL(std::string("/srv/counters"), good.config.counter_file);
        CPPUNIT_ASSERT_EQUAL(64, good.config.counter_rate_slots);
        CPPUNIT_ASSERT_EQUAL(8, good.config.counter_campaign_slots);
        CPPUNIT_ASSERT_EQUAL(60, good.config.rate_limit);
        CPPUNIT_ASSERT_EQUAL(10, good.config.rate_burst);
        CPPUNIT_ASSERT_EQUAL(0, good.config.throttle_delay_seconds);
        CPPUNIT_ASSERT_EQUAL(100, good.config.client_rate_limit);
        CPPUNIT_ASSERT_EQUAL(500, good.config.bulk_threshold);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, good.config.campaign_headers.size());
        CPPUNIT_ASSERT(good.config.audience_header.empty());
        CPPUNIT_ASSERT_EQUAL(48, good.config.audience_window_hours);
        const std::array<bool, 7> monday_wednesday{false, true, false, true, false, false, false};
        CPPUNIT_ASSERT(good.config.business_hours.days == monday_wednesday);
        CPPUNIT_ASSERT_EQUAL(9 * 60 + 30, good.config.business_hours.open_minute);
        CPPUNIT_ASSERT_EQUAL(24 * 60, good.config.business_hours.close_minute);

        Loaded(std::string(kMinimal) + "[counters]\nfile = counters\n")
            .expect({":4: invalid file 'counters' (expected an absolute path such as /var/lib/ecomm-milter/counters)"});
        Loaded(std::string(kMinimal) + "[counters]\nrate_slots = 10\n")
            .expect({":4: invalid rate_slots '10' (expected a whole number from 64 to 1000000)"});
        Loaded(std::string(kMinimal) + "[rate]\nthrottle_delay = 61\n")
            .expect({":4: invalid throttle_delay '61' (expected a whole number from 0 to 60)"});
        Loaded(std::string(kMinimal) + "[bulk]\nbusiness_days = Mon-Fry\n")
            .expect({":4: invalid business_days 'Mon-Fry' (expected days such as Mon-Fri or Mon, Wed, Fri, or none)"});
        Loaded(std::string(kMinimal) + "[bulk]\nbusiness_hours = 17:00-08:00\n")
            .expect({":4: invalid business_hours '17:00-08:00' (expected opening and closing times such as 08:00-17:00)"});
        Loaded(std::string(kMinimal) + "[bulk]\ncampaign_headers = List-Id, Bad:Header\n")
            .expect({":4: invalid campaign_headers entry 'Bad:Header' (expected a header field name)"});
        Loaded(std::string(kMinimal) + "[bulk]\nthreshold = 0\n")
            .expect({":4: invalid threshold '0' (expected a whole number from 1 to 100000000)"});
    }

    void redis_counter_settings()
    {
        const Loaded defaults(kMinimal);
        CPPUNIT_ASSERT(defaults.config.counter_backend == MainConfig::CounterBackend::table);
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:6379"), defaults.config.redis_server);
        CPPUNIT_ASSERT_EQUAL(100, defaults.config.redis_timeout_ms);
        CPPUNIT_ASSERT(defaults.config.redis_fallback_to_table);
        CPPUNIT_ASSERT(defaults.config.redis_password.empty());

        ecomm::test::TempDir secrets;
        const std::string password_file = secrets.write("redis.pass", "s3cret\n");
        const Loaded good(std::string(kMinimal) +
                          "[counters]\nbackend = redis\nredis_server = [::1]:6380\nredis_database = 3\n"
                          "redis_prefix = campus:\nredis_user = milter\nredis_password_file = " + password_file +
                          "\nredis_timeout = 20\nredis_connections = 4\nredis_unavailable = on_error\n");
        good.expect({});
        CPPUNIT_ASSERT(good.config.counter_backend == MainConfig::CounterBackend::redis);
        CPPUNIT_ASSERT_EQUAL(std::string("[::1]:6380"), good.config.redis_server);
        CPPUNIT_ASSERT_EQUAL(3, good.config.redis_database);
        CPPUNIT_ASSERT_EQUAL(std::string("campus:"), good.config.redis_prefix);
        CPPUNIT_ASSERT_EQUAL(std::string("milter"), good.config.redis_user);
        CPPUNIT_ASSERT_EQUAL(20, good.config.redis_timeout_ms);
        CPPUNIT_ASSERT_EQUAL(4, good.config.redis_connections);
        CPPUNIT_ASSERT(!good.config.redis_fallback_to_table);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(texts(Loaded(std::string(kMinimal) +
                                                                "[counters]\nredis_server = /run/redis/redis.sock\n")
                                                             .diagnostics)));

        Loaded(std::string(kMinimal) + "[counters]\nredis_server = redis.example.edu:6379\n")
            .expect({":4: warning: redis_server 'redis.example.edu:6379' names a host: it is looked up at each "
                     "connect, outside redis_timeout; an IP address keeps every wait bounded"});
        Loaded(std::string(kMinimal) + "[counters]\nbackend = memcached\n")
            .expect({":4: invalid backend 'memcached' (expected table or redis)"});
        Loaded(std::string(kMinimal) + "[counters]\nredis_timeout = 0\n")
            .expect({":4: invalid redis_timeout '0' (expected a whole number from 1 to 10000)"});
        Loaded(std::string(kMinimal) + "[counters]\nredis_unavailable = accept\n")
            .expect({":4: invalid redis_unavailable 'accept' (expected table or on_error)"});
        Loaded(std::string(kMinimal) + "[counters]\nredis_prefix = a b\n")
            .expect({":4: invalid redis_prefix 'a b' (expected 1-64 printable characters without spaces, such as "
                     "ecomm-milter:)"});
        for (const char* bad : {"127.0.0.1:0", "127.0.0.1:65536", "[::1:6379", "host:port", "relative/socket"}) {
            const Loaded loaded(std::string(kMinimal) + "[counters]\nredis_server = " + bad + "\n");
            const std::string text = joined(texts(loaded.diagnostics));
            CPPUNIT_ASSERT_MESSAGE(bad, text.find(loaded.path + ":4: invalid redis_server '" + bad +
                                                  "' (expected HOST:PORT, [IPv6]:PORT or a unix socket's absolute "
                                                  "path: ") == 0);
        }
    }

    // Relative to the config's folder; the first line is the password; a missing file names itself.
    void redis_password_file_is_read_and_checked()
    {
        ecomm::test::TempDir dir;
        const std::string secret = dir.write("redis.pass", "s3cret pass\r\nignored second line\n");
        Diagnostics diagnostics;
        const MainConfig loaded = load_main_config(
            dir.write("ecomm-milter.conf", std::string(kMinimal) + "[counters]\nredis_password_file = redis.pass\n"),
            diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(texts(diagnostics)));
        CPPUNIT_ASSERT_EQUAL(std::string("s3cret pass"), loaded.redis_password);
        CPPUNIT_ASSERT_EQUAL(secret, loaded.redis_password_file);

        Loaded(std::string(kMinimal) + "[counters]\nredis_password_file = /nonexistent/redis.pass\n")
            .expect({":4: cannot read redis_password_file /nonexistent/redis.pass: No such file or directory"});
        dir.write("empty.pass", "\n");
        diagnostics.clear();
        const std::string config =
            dir.write("ecomm-milter.conf", std::string(kMinimal) + "[counters]\nredis_password_file = empty.pass\n");
        load_main_config(config, diagnostics);
        CPPUNIT_ASSERT_EQUAL(config + ":4: redis_password_file " + dir.path("empty.pass") +
                                 ": the first line (the password) is empty\n",
                             joined(texts(diagnostics)));

        // A user needs a password: AUTH is sent only with one, so the user would be ignored.
        Loaded(std::string(kMinimal) + "[counters]\nredis_user = milter\n")
            .expect({":4: redis_user 'milter' needs redis_password_file: Redis authenticates a user only with a "
                     "password"});
        Loaded(std::string(kMinimal) + "[counters]\nredis_user = milter\nredis_password_file =\n")
            .expect({":4: redis_user 'milter' needs redis_password_file: Redis authenticates a user only with a "
                     "password"});
        // An unreadable file is one mistake, reported once.
        Loaded(std::string(kMinimal) + "[counters]\nredis_user = milter\nredis_password_file = /nonexistent/p\n")
            .expect({":5: cannot read redis_password_file /nonexistent/p: No such file or directory"});
    }

    // The holidays file is relative to the config's folder; its own mistakes name it and its line.
    void holidays_file_is_read_and_checked()
    {
        ecomm::test::TempDir dir;
        dir.write("holidays", "# campus closures\n2026-12-25\n\n2027-01-01  # new year\n");
        const std::string config = std::string(kMinimal) + "[bulk]\nholidays = holidays\n";
        Diagnostics diagnostics;
        const MainConfig loaded = load_main_config(dir.write("ecomm-milter.conf", config), diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(texts(diagnostics)));
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, loaded.business_hours.holidays.size());
        CPPUNIT_ASSERT(loaded.business_hours.holidays.count(Date{2026, 12, 25}) == 1);

        const std::string holidays = dir.write("holidays", "2026-12-25\n2026-13-01\n");
        diagnostics.clear();
        load_main_config(dir.path("ecomm-milter.conf"), diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::string(holidays + ":2: invalid holiday '2026-13-01' (expected YYYY-MM-DD)\n"),
                             joined(texts(diagnostics)));
    }

    void bad_header_name()
    {
        Loaded(std::string(kMinimal) + "junk_header = X Spam\n")
            .expect({":3: invalid junk_header 'X Spam' "
                     "(expected a header field name: printable ASCII without ':' or space)"});
        Loaded(std::string(kMinimal) + "[external-tag]\nheader = X-External:\n")
            .expect({":4: invalid header 'X-External:' "
                     "(expected a header field name: printable ASCII without ':' or space)"});
    }

    // Both headers are made ours by removing a sender's copies: one name would remove them twice.
    void junk_header_must_differ_from_the_tag_header()
    {
        const std::string why = ": each needs a header of its own, as each removes a sender's copies of it";
        Loaded(std::string(kMinimal) + "junk_header = X-Ecomm-External\n")
            .expect({":3: junk_header 'X-Ecomm-External' is the same header as [external-tag] header "
                     "'X-Ecomm-External' (its default)" + why});
        Loaded(std::string(kMinimal) + "junk_header = x-flag\n[external-tag]\nheader = X-Flag\n")
            .expect({":3: junk_header 'x-flag' is the same header as [external-tag] header 'X-Flag' (line 5)" + why});
        Loaded(std::string(kMinimal) + "[external-tag]\nheader = X-SPAM-FLAG\n")
            .expect({":4: [external-tag] header 'X-SPAM-FLAG' is the same header as junk_header 'X-Spam-Flag' "
                     "(its default)" + why});
        Loaded(std::string(kMinimal) + "junk_header = X-Flag\n[external-tag]\nheader = X-Flagged\n").expect({});
    }

    void bad_socket()
    {
        Loaded(std::string("[milter]\nsocket = 8890\n") + kMinimal)
            .expect({":2: invalid socket '8890' (expected unix:/path, inet:PORT@HOST or inet6:PORT@HOST)"});
    }

    void bad_cidr_on_a_continuation_line()
    {
        Loaded(std::string(kMinimal) +
               "internal_networks = 127.0.0.0/8,\n"
               "    ::1/128\n"
               "    10.0.0.0/33, 192.0.2.0/24\n")
            .expect({":5: invalid internal_networks entry '10.0.0.0/33' "
                     "(expected an IPv4 or IPv6 network such as 192.0.2.0/24)"});
    }

    void host_bits_are_a_warning()
    {
        const Loaded loaded(std::string(kMinimal) + "internal_networks = 10.1.2.3/8\n");
        loaded.expect({":3: warning: 10.1.2.3/8 has host bits set; using 10.0.0.0/8"});
        CPPUNIT_ASSERT(!has_errors(loaded.diagnostics));
        CPPUNIT_ASSERT(loaded.config.internal_networks.contains(*IpAddress::parse("10.200.0.1")));
    }

    void internal_networks_replace_the_default()
    {
        const Loaded loaded(std::string(kMinimal) + "internal_networks = 10.0.0.0/8\n");
        loaded.expect({});
        CPPUNIT_ASSERT(loaded.config.internal_networks.contains(*IpAddress::parse("10.0.0.1")));
        CPPUNIT_ASSERT(!loaded.config.internal_networks.contains(*IpAddress::parse("127.0.0.1")));

        const Loaded none(std::string(kMinimal) + "internal_networks =\n");
        none.expect({});
        CPPUNIT_ASSERT(none.config.internal_networks.empty());
    }

    void bad_time_zone()
    {
        Loaded(std::string(kMinimal) + "time_zone = Mars/Olympus_Mons\n")
            .expect({":3: unknown time_zone 'Mars/Olympus_Mons' (expected an IANA time zone such as America/Denver)"});
    }

    void duplicate_key()
    {
        Loaded(std::string("[milter]\nmode = enforce\nuser = ecomm\nmode = monitor\n") + kMinimal)
            .expect({":4: duplicate key 'mode' in section [milter] (first at line 2)"});
    }

    void duplicate_section()
    {
        Loaded(std::string("[milter]\nmode = enforce\n") + kMinimal + "[milter]\nmode = monitor\n")
            .expect({":5: duplicate section [milter] (first at line 1)"});
    }

    void continuation_lists()
    {
        const Loaded loaded(
            "[policy]\n"
            "university_domains = example.edu,\n"
            "    Med.Example.EDU .alumni.example.edu ; the alumni office\n"
            "\n"
            "  # a comment between continuation lines\n"
            "\tother.edu, example.edu\n"
            "internal_networks = 127.0.0.0/8\n"
            "    2001:db8::/32\n");
        loaded.expect({});
        const std::vector<std::string> expected{"example.edu", "med.example.edu", "alumni.example.edu", "other.edu"};
        CPPUNIT_ASSERT(loaded.config.university_domains == expected);
        CPPUNIT_ASSERT(loaded.config.internal_networks.contains(*IpAddress::parse("2001:db8::5")));
        CPPUNIT_ASSERT(loaded.config.internal_networks.contains(*IpAddress::parse("127.0.0.5")));
    }

    void continuation_of_a_single_value()
    {
        Loaded(std::string("[milter]\nmode = enforce\n  monitor\n") + kMinimal)
            .expect({":3: 'mode' takes a single value; only lists go on over indented lines"});
    }

    void over_long_line()
    {
        Loaded(std::string(kMinimal) + "policy_url = https://www.example.edu/" + std::string(200, 'x') + "\n")
            .expect({":3: line longer than 199 characters; continue a list on indented lines"});
        // The longest line inih can take whole is fine.
        const std::string url = "https://www.example.edu/";
        const Loaded longest(std::string(kMinimal) + "policy_url = " + url + std::string(199 - 13 - url.size(), 'y') + "\n");
        longest.expect({});
        CPPUNIT_ASSERT_EQUAL(std::size_t{199 - 13}, longest.config.policy_url.size());
    }

    void missing_file()
    {
        const ecomm::test::TempDir dir;
        const std::string path = dir.path("absent.conf");
        Diagnostics diagnostics;
        load_main_config(path, diagnostics);
        CPPUNIT_ASSERT_EQUAL(path + ": cannot read: No such file or directory\n", joined(texts(diagnostics)));

        Diagnostics directory;
        load_main_config(dir.path(), directory);
        CPPUNIT_ASSERT_EQUAL(dir.path() + ": cannot read: Is a directory\n", joined(texts(directory)));
    }

    void missing_university_domains()
    {
        Loaded("[milter]\nmode = enforce\n\n[policy]\npolicy_url = https://www.example.edu/\n")
            .expect({":4: missing required key 'university_domains' in section [policy]"});
    }

    void missing_policy_section()
    {
        Loaded("[milter]\nmode = enforce\n").expect({": missing required key 'university_domains' in section [policy]"});
    }

    void bad_university_domains()
    {
        Loaded("[policy]\nuniversity_domains =\n")
            .expect({":2: invalid university_domains '' (expected at least one domain, such as example.edu)"});
        Loaded("[policy]\nuniversity_domains = example.edu, exa_mple.edu,\n  -bad.edu\n")
            .expect({":2: invalid university_domains entry 'exa_mple.edu' (expected a domain name such as example.edu)",
                     ":3: invalid university_domains entry '-bad.edu' (expected a domain name such as example.edu)"});
    }

    void relative_registry_path()
    {
        const Loaded relative(std::string("[milter]\nregistry = sub/senders.conf\n") + kMinimal);
        relative.expect({});
        CPPUNIT_ASSERT_EQUAL(relative.dir.path("sub/senders.conf"), relative.config.registry_file);

        const Loaded absolute(std::string("[milter]\nregistry = /srv/ecomm/registry.conf\n") + kMinimal);
        absolute.expect({});
        CPPUNIT_ASSERT_EQUAL(std::string("/srv/ecomm/registry.conf"), absolute.config.registry_file);

        Loaded(std::string("[milter]\nregistry =\n") + kMinimal)
            .expect({":2: invalid registry '' (expected the registry file's path)"});
    }

    void syntax_error()
    {
        Loaded(std::string("[milter]\nthis line has no equals sign\n") + kMinimal + "[actions\n")
            .expect({":2: syntax error (expected [section] or key = value)",
                     ":5: syntax error (expected [section] or key = value)"});
    }

    void key_outside_any_section()
    {
        Loaded(std::string("mode = monitor\n") + kMinimal).expect({":1: key 'mode' is outside any [section]"});
    }

    void control_character_in_value()
    {
        Loaded(std::string(kMinimal) + "policy_url = https://www.example.edu/\x01x\n")
            .expect({":3: value of 'policy_url' contains a control character"});
        Loaded(std::string(kMinimal) + "junk_value = YES\rX-Injected: 1\n")
            .expect({":3: value of 'junk_value' contains a control character"});
    }

    void crlf_and_bom_are_accepted()
    {
        const Loaded loaded("\xEF\xBB\xBF[milter]\r\nmode = monitor\r\n[policy]\r\nuniversity_domains = example.edu,\r\n"
                            "  example.org\r\n");
        loaded.expect({});
        CPPUNIT_ASSERT(loaded.config.monitor);
        CPPUNIT_ASSERT(loaded.config.university_domains == (std::vector<std::string>{"example.edu", "example.org"}));
    }

    void diagnostics_come_in_line_order()
    {
        Loaded("[milter]\nmode = fast\nsocket_mode = 9\n[policy]\nuniversity_domains = example.edu\n"
               "[actions]\nrate = slow\n[bogus]\n")
            .expect({":2: invalid mode 'fast' (expected enforce or monitor)",
                     ":3: invalid socket_mode '9' (expected an octal mode such as 0660, at most 0777)",
                     ":7: invalid action 'slow' for rate (expected reject, tempfail, quarantine, discard, junk, tag or log)",
                     ":8: unknown section [bogus]"});
    }

    void diagnostic_text()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("f.conf:3: bad"),
                             (Diagnostic{Diagnostic::Severity::error, "f.conf", 3, "bad"}).to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("f.conf: bad"),
                             (Diagnostic{Diagnostic::Severity::error, "f.conf", 0, "bad"}).to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("f.conf:3: warning: odd"),
                             (Diagnostic{Diagnostic::Severity::warning, "f.conf", 3, "odd"}).to_string());
        CPPUNIT_ASSERT(!has_errors({}));
        CPPUNIT_ASSERT(!has_errors({Diagnostic{Diagnostic::Severity::warning, "f", 1, "w"}}));
        CPPUNIT_ASSERT(has_errors({Diagnostic{Diagnostic::Severity::warning, "f", 1, "w"},
                                   Diagnostic{Diagnostic::Severity::error, "f", 2, "e"}}));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigTest);

// The INI reader's own contract, independent of either loader.
class IniReaderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(IniReaderTest);
    CPPUNIT_TEST(reports_sections_values_lines_and_continuations);
    CPPUNIT_TEST(repeated_section_values_are_not_delivered);
    CPPUNIT_TEST(indented_key_after_a_header_is_a_new_key);
    CPPUNIT_TEST(long_section_names_are_whole);
    CPPUNIT_TEST(throwing_callback_becomes_a_diagnostic);
    CPPUNIT_TEST(value_helpers);
    CPPUNIT_TEST_SUITE_END();

    static std::vector<std::string> events(const std::string& content, Diagnostics& diagnostics)
    {
        std::vector<std::string> seen;
        IniCallbacks callbacks;
        callbacks.on_section = [&](const IniSection& s) {
            seen.push_back("section " + std::string(s.name) + " @" + std::to_string(s.line) +
                           (s.first_line ? " repeat of @" + std::to_string(s.first_line) : ""));
        };
        callbacks.on_value = [&](const IniValue& v) {
            seen.push_back((v.continuation ? "more " : "key ") + std::string(v.section) + "." + std::string(v.key) +
                           "=" + std::string(v.value) + " @" + std::to_string(v.line));
        };
        read_ini_text("t.ini", content, callbacks, diagnostics);
        return seen;
    }

public:
    void reports_sections_values_lines_and_continuations()
    {
        Diagnostics diagnostics;
        const auto seen = events("; comment\n[a]\nx = 1, 2 ; note\n  3 ; note\n\n  4\ny: 5\n[b]\n", diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(texts(diagnostics)));
        CPPUNIT_ASSERT_EQUAL(std::string("section a @2\nkey a.x=1, 2 @3\nmore a.x=3 @4\nmore a.x=4 @6\n"
                                         "key a.y=5 @7\nsection b @8\n"),
                             joined(seen));
    }

    void repeated_section_values_are_not_delivered()
    {
        Diagnostics diagnostics;
        const auto seen = events("[a]\nx = 1\n[a]\nx = 2\n  3\n[b]\nx = 4\n", diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(texts(diagnostics)));
        CPPUNIT_ASSERT_EQUAL(std::string("section a @1\nkey a.x=1 @2\nsection a @3 repeat of @1\nsection b @6\n"
                                         "key b.x=4 @7\n"),
                             joined(seen));
    }

    void indented_key_after_a_header_is_a_new_key()
    {
        Diagnostics diagnostics;
        const auto seen = events("[a]\n  x = 1\n  y\n", diagnostics);
        CPPUNIT_ASSERT_EQUAL(std::string(), joined(texts(diagnostics)));
        CPPUNIT_ASSERT_EQUAL(std::string("section a @1\nkey a.x=1 @2\nmore a.x=y @3\n"), joined(seen));
    }

    void long_section_names_are_whole()
    {
        Diagnostics diagnostics;
        const std::string name(120, 's');
        const auto seen = events("[" + name + "]\nx = 1\n", diagnostics);
        CPPUNIT_ASSERT_EQUAL("section " + name + " @1\nkey " + name + ".x=1 @2\n", joined(seen));
    }

    void throwing_callback_becomes_a_diagnostic()
    {
        Diagnostics diagnostics;
        IniCallbacks callbacks;
        int values = 0;
        callbacks.on_value = [&](const IniValue&) {
            ++values;
            throw std::runtime_error("boom");
        };
        read_ini_text("t.ini", "[a]\nx = 1\ny = 2\n", callbacks, diagnostics);
        CPPUNIT_ASSERT_EQUAL(1, values);  // the parse stopped there
        CPPUNIT_ASSERT_EQUAL(std::string("t.ini:2: internal error while reading this line\n"),
                             joined(texts(diagnostics)));
    }

    void value_helpers()
    {
        const auto items = split_ini_list(" a, b,,c\td  ,");
        CPPUNIT_ASSERT((items == std::vector<std::string_view>{"a", "b", "c", "d"}));
        CPPUNIT_ASSERT(split_ini_list("  ").empty());
        CPPUNIT_ASSERT(parse_ini_boolean("YES") == true);
        CPPUNIT_ASSERT(parse_ini_boolean("off") == false);
        CPPUNIT_ASSERT(parse_ini_boolean("1") == true);
        CPPUNIT_ASSERT(!parse_ini_boolean("y"));
        CPPUNIT_ASSERT(normalize_domain(".Example.EDU") == std::string("example.edu"));
        CPPUNIT_ASSERT(normalize_domain("a-b.c1.edu") == std::string("a-b.c1.edu"));
        for (const char* bad : {"", ".", "..example.edu", "example..edu", "example.edu.", "-x.edu", "x-.edu",
                                "ex ample.edu", "ex_ample.edu", "user@example.edu"})
            CPPUNIT_ASSERT_MESSAGE(bad, !normalize_domain(bad));
        CPPUNIT_ASSERT(!normalize_domain(std::string(64, 'a') + ".edu"));
        CPPUNIT_ASSERT(normalize_domain(std::string(63, 'a') + ".edu"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(IniReaderTest);

}  // namespace ecomm

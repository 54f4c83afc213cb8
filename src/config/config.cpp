// Loads the main configuration file. One table (kKeys) names every section and key with its
// default, its one-line doc and the setter that parses and checks it; the loader, the defaults
// and main_config_keys() (the docs the example file and man page are checked against) all come
// from that table, so they cannot drift apart.
#include "config/config.h"

#include <arpa/inet.h>
#include <cctz/time_zone.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "config/ini_reader.h"
#include "counters/redis_connection.h"
#include "util/ascii.h"
#include "util/decimal.h"

namespace ecomm {

namespace {

// One element of a list value with the line it is on (lists go on over continuation lines).
struct ListItem {
    std::string text;
    int line = 0;
};

// A key's value as read (or its default, with line 0).
struct KeyValue {
    int line = 0;
    std::string text;             // scalar keys: the value
    std::vector<ListItem> items;  // list keys: the elements
};

// Collects this file's diagnostics.
class Problems {
public:
    Problems(const std::string& file, Diagnostics& diagnostics) : file_(file), diagnostics_(diagnostics) {}
    void error(int line, std::string message) { add(Diagnostic::Severity::error, line, std::move(message)); }
    void warning(int line, std::string message) { add(Diagnostic::Severity::warning, line, std::move(message)); }
    // For files the config names (holidays), whose diagnostics carry their own file name.
    Diagnostics& all() { return diagnostics_; }

private:
    void add(Diagnostic::Severity severity, int line, std::string message)
    {
        diagnostics_.push_back(Diagnostic{severity, file_, line, std::move(message)});
    }
    const std::string& file_;
    Diagnostics& diagnostics_;
};

struct KeySpec;
using Setter = void (*)(MainConfig&, const KeySpec&, const KeyValue&, Problems&);

struct KeySpec {
    const char* section;
    const char* key;
    const char* default_value;  // applied through the setter when the key is absent
    const char* doc;
    bool is_list;
    bool required;  // no default: absent is an error
    Setter set;
};

// ---- value checks ----

void report_invalid(const KeySpec& spec, const KeyValue& value, std::string_view expected, Problems& problems)
{
    problems.error(value.line, std::string("invalid ") + spec.key + " '" + value.text + "' (expected " +
                                   std::string(expected) + ")");
}

void report_invalid_item(const KeySpec& spec, const ListItem& item, std::string_view expected, Problems& problems)
{
    problems.error(item.line, std::string("invalid ") + spec.key + " entry '" + item.text + "' (expected " +
                                  std::string(expected) + ")");
}

std::optional<unsigned> parse_file_mode(std::string_view text)
{
    if (text.empty() || text.size() > 4) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '7') return std::nullopt;
        value = value * 8 + static_cast<unsigned>(c - '0');
    }
    if (value > 0777) return std::nullopt;
    return value;
}

// The forms libmilter's smfi_setconn() understands.
bool looks_like_milter_socket(std::string_view socket)
{
    for (std::string_view prefix : {"unix:", "local:", "inet:", "inet6:", "/"}) {
        if (socket.size() > prefix.size() && socket.substr(0, prefix.size()) == prefix) return true;
    }
    return false;
}

// ---- setters ----

void set_text(std::string& field, const KeyValue& value) { field = value.text; }

void set_socket(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    if (!looks_like_milter_socket(value.text))
        return report_invalid(spec, value, "unix:/path, inet:PORT@HOST or inet6:PORT@HOST", problems);
    config.socket = value.text;
}

void set_socket_mode(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto mode = parse_file_mode(value.text);
    if (!mode) return report_invalid(spec, value, "an octal mode such as 0660, at most 0777", problems);
    config.socket_mode = *mode;
}

// A path from the file, relative to the config file's folder unless absolute: a config and the
// files it names move together, and the daemon, which changes to /, still finds them.
std::string beside_config(const MainConfig& config, const std::string& text)
{
    const std::filesystem::path file(text);
    return file.is_absolute() ? file.string() : (std::filesystem::path(config.path).parent_path() / file).string();
}

void set_registry(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    if (value.text.empty()) return report_invalid(spec, value, "the registry file's path", problems);
    config.registry_file = beside_config(config, value.text);
}

void set_mode(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto mode = to_lower(value.text);
    if (mode != "enforce" && mode != "monitor")
        return report_invalid(spec, value, "enforce or monitor", problems);
    config.monitor = mode == "monitor";
}

void set_no_reply(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto choice = to_lower(value.text);
    if (choice == "unix") config.no_reply = MainConfig::NoReply::unix_only;
    else if (choice == "always") config.no_reply = MainConfig::NoReply::always;
    else if (choice == "never") config.no_reply = MainConfig::NoReply::never;
    else report_invalid(spec, value, "unix, always or never", problems);
}

void set_on_error(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto choice = to_lower(value.text);
    if (choice == "tempfail")
        config.on_error = Action::tempfail;
    else if (choice == "accept")
        config.on_error = Action::accept;
    else if (choice == "reject")
        config.on_error = Action::reject;
    else
        report_invalid(spec, value, "tempfail, accept or reject", problems);
}

void set_boolean(bool& field, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto flag = parse_ini_boolean(value.text);
    if (!flag) return report_invalid(spec, value, "yes or no", problems);
    field = *flag;
}

void set_university_domains(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    if (value.items.empty())
        return report_invalid(spec, value, "at least one domain, such as example.edu", problems);
    config.university_domains.clear();
    for (const auto& item : value.items) {
        auto domain = normalize_domain(item.text);
        if (!domain) {
            report_invalid_item(spec, item, "a domain name such as example.edu", problems);
            continue;
        }
        if (std::find(config.university_domains.begin(), config.university_domains.end(), *domain) ==
            config.university_domains.end())
            config.university_domains.push_back(std::move(*domain));
    }
}

void set_internal_networks(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    config.internal_networks = NetworkSet{};  // present: replaces the default
    for (const auto& item : value.items) {
        std::string host_bits_warning;
        const auto cidr = Cidr::parse(item.text, &host_bits_warning);
        if (!cidr) {
            report_invalid_item(spec, item, "an IPv4 or IPv6 network such as 192.0.2.0/24", problems);
            continue;
        }
        if (!host_bits_warning.empty()) problems.warning(item.line, host_bits_warning);
        config.internal_networks.add(*cidr);
    }
}

void set_time_zone(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    cctz::time_zone zone;
    if (value.text.empty() || !cctz::load_time_zone(value.text, &zone)) {
        problems.error(value.line, std::string("unknown ") + spec.key + " '" + value.text +
                                       "' (expected an IANA time zone such as America/Denver)");
        return;
    }
    config.time_zone = value.text;
}

void set_expiry_warning_days(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto days = parse_decimal(value.text, 3650);
    if (!days) return report_invalid(spec, value, "a number of days from 0 to 3650", problems);
    config.expiry_warning_days = *days;
}

void set_header_name(std::string& field, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    if (!is_field_name(value.text))
        return report_invalid(spec, value, "a header field name: printable ASCII without ':' or space", problems);
    field = value.text;
}

void set_action(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto action = parse_action(to_lower(value.text));
    if (action == Action::accept) {
        // A rule that fails must leave a trace; "accept" would silently switch it off.
        problems.error(value.line, std::string("'accept' is not an action for ") + spec.key +
                                       " (use log to let failing messages through and log them)");
        return;
    }
    if (!action) {
        problems.error(value.line, std::string("invalid action '") + value.text + "' for " + spec.key +
                                       " (expected reject, tempfail, quarantine, discard, junk, tag or log)");
        return;
    }
    config.actions[spec.key] = *action;
}

void set_authserv_id(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    std::string id = value.text;
    if (id.empty()) {
        char host[256] = {};
        if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "localhost");
        id = host;
    }
    // RFC 8601 authserv-id is a value (token or quoted string): keep it a plain token.
    const bool token = std::all_of(id.begin(), id.end(), [](char c) {
        return c > ' ' && c <= '~' && std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
    });
    if (!token) return report_invalid(spec, value, "a host name such as mx.example.edu", problems);
    config.authserv_id = id;
}

void set_bounded_int(int& field, int low, int high, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto number = parse_decimal(value.text, high);
    if (!number || *number < low)
        return report_invalid(spec, value, "a whole number from " + std::to_string(low) + " to " + std::to_string(high),
                              problems);
    field = *number;
}

void set_dns_file(MainConfig& config, const KeySpec&, const KeyValue& value, Problems&)
{
    if (value.text.empty()) return config.dns_file.clear();
    config.dns_file = beside_config(config, value.text);
}

// A list of media types "type/subtype", lower-cased; replaces the default when present.
void set_media_types(std::vector<std::string>& field, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    field.clear();
    for (const auto& item : value.items) {
        const std::string type = to_lower(item.text);
        const auto slash = type.find('/');
        const bool valid = slash != std::string::npos && slash > 0 && slash + 1 < type.size() &&
                           type.find('/', slash + 1) == std::string::npos && is_field_name(type);
        if (!valid) {
            report_invalid_item(spec, item, "a media type such as text/plain", problems);
            continue;
        }
        field.push_back(type);
    }
}

// The types that are message text: an empty list would make every part an attachment.
void set_body_types(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    if (value.items.empty())
        return report_invalid(spec, value, "at least one media type, such as text/plain (none would make every "
                                           "part an attachment)", problems);
    set_media_types(config.body_types, spec, value, problems);
}

// Relative to this file's folder, like every other path here: the daemon writes it after
// changing to /.
void set_pid_file(MainConfig& config, const KeySpec&, const KeyValue& value, Problems&)
{
    config.pid_file = value.text.empty() ? std::string() : beside_config(config, value.text);
}

// The counter table lives in one place for every process on the host: an absolute path.
void set_counter_file(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    if (value.text.empty() || value.text.front() != '/')
        return report_invalid(spec, value, "an absolute path such as /var/lib/ecomm-milter/counters", problems);
    config.counter_file = value.text;
    config.counter_file_line = value.line;
}

void set_counter_backend(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto choice = to_lower(value.text);
    if (choice == "table") config.counter_backend = MainConfig::CounterBackend::table;
    else if (choice == "redis") config.counter_backend = MainConfig::CounterBackend::redis;
    else report_invalid(spec, value, "table or redis", problems);
}

void set_redis_server(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const ParsedRedisAddress parsed = parse_redis_address(value.text);
    if (!parsed.error.empty())
        return report_invalid(spec, value, "HOST:PORT, [IPv6]:PORT or a unix socket's absolute path: " + parsed.error,
                              problems);
    const std::string& host = parsed.address.host;
    in6_addr ignored{};
    if (!host.empty() && inet_pton(AF_INET, host.c_str(), &ignored) != 1 && inet_pton(AF_INET6, host.c_str(), &ignored) != 1)
        problems.warning(value.line, "redis_server '" + value.text +
                                         "' names a host: it is looked up at each connect, outside redis_timeout; "
                                         "an IP address keeps every wait bounded");
    config.redis_server = value.text;
}

void set_redis_prefix(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    // Printable and without spaces, so that keys read back the same in redis-cli and logs.
    const bool printable = std::all_of(value.text.begin(), value.text.end(), [](char c) { return c > ' ' && c <= '~'; });
    if (value.text.empty() || value.text.size() > 64 || !printable)
        return report_invalid(spec, value, "1-64 printable characters without spaces, such as ecomm-milter:", problems);
    config.redis_prefix = value.text;
}

// The password is read once, at load, so that it never appears in the config file itself and a
// daemon that drops privileges after start-up still has it (a reload must be able to read it too).
void set_redis_password_file(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    config.redis_password_file.clear();
    config.redis_password.clear();
    if (value.text.empty()) return;
    const std::string path = beside_config(config, value.text);
    config.redis_password_file = path;  // set even when unreadable: redis_user checks it is given
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        problems.error(value.line, std::string("cannot read ") + spec.key + " " + path + ": " + std::strerror(errno));
        return;
    }
    std::string password;
    std::getline(in, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) {
        problems.error(value.line, std::string(spec.key) + " " + path + ": the first line (the password) is empty");
        return;
    }
    config.redis_password = std::move(password);
}

// Redis authenticates a user only together with a password: a user alone would be dropped.
void set_redis_user(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    config.redis_user = value.text;
    if (!value.text.empty() && config.redis_password_file.empty())
        problems.error(value.line, std::string(spec.key) + " '" + value.text +
                                       "' needs redis_password_file: Redis authenticates a user only with a password");
}

void set_redis_unavailable(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto choice = to_lower(value.text);
    if (choice == "table") config.redis_fallback_to_table = true;
    else if (choice == "on_error") config.redis_fallback_to_table = false;
    else report_invalid(spec, value, "table or on_error", problems);
}

void set_header_names(std::vector<std::string>& field, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    field.clear();
    for (const auto& item : value.items) {
        if (!is_field_name(item.text)) {
            report_invalid_item(spec, item, "a header field name", problems);
            continue;
        }
        field.push_back(item.text);
    }
}

void set_business_days(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto days = parse_business_days(value.text);
    if (!days) return report_invalid(spec, value, "days such as Mon-Fri or Mon, Wed, Fri, or none", problems);
    config.business_hours.days = *days;
}

void set_business_hours(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    const auto hours = parse_business_hours(value.text);
    if (!hours) return report_invalid(spec, value, "opening and closing times such as 08:00-17:00", problems);
    config.business_hours.open_minute = hours->first;
    config.business_hours.close_minute = hours->second;
}

void set_holidays(MainConfig& config, const KeySpec&, const KeyValue& value, Problems& problems)
{
    config.business_hours.holidays.clear();
    if (value.text.empty()) return;
    config.business_hours.holidays = load_holidays(beside_config(config, value.text), problems.all());
}

// Setters for the common kinds of key, each made from the MainConfig member it fills (and for
// numbers, the range the value must be in).
template <auto Field>
void text_key(MainConfig& config, const KeySpec&, const KeyValue& value, Problems&)
{
    set_text(config.*Field, value);
}

template <auto Field>
void boolean_key(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    set_boolean(config.*Field, spec, value, problems);
}

template <auto Field, int Low, int High>
void bounded_int_key(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    set_bounded_int(config.*Field, Low, High, spec, value, problems);
}

template <auto Field>
void header_name_key(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    set_header_name(config.*Field, spec, value, problems);
}

template <auto Field>
void header_names_key(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    set_header_names(config.*Field, spec, value, problems);
}

template <auto Field>
void media_types_key(MainConfig& config, const KeySpec& spec, const KeyValue& value, Problems& problems)
{
    set_media_types(config.*Field, spec, value, problems);
}

// The table: every key of the main config. Defaults are applied through the setters, so a
// default is checked exactly like a value written in the file.
const std::array kKeys{
    KeySpec{"milter", "socket", "unix:/run/ecomm-milter/ecomm-milter.sock",
            "where the MTA connects: unix:/path, inet:PORT@HOST or inet6:PORT@HOST (-p overrides)",
            false, false, set_socket},
    KeySpec{"milter", "socket_mode", "0660", "permissions of a unix socket (octal, at most 0777)", false, false,
            set_socket_mode},
    KeySpec{"milter", "socket_group", "", "group of a unix socket; empty: leave it as created", false, false,
            text_key<&MainConfig::socket_group>},
    KeySpec{"milter", "user", "", "drop privileges to this user once the socket is open; empty: do not", false,
            false, text_key<&MainConfig::user>},
    KeySpec{"milter", "pid_file", "", "write the daemon's pid here (relative: to this file's folder); empty: none",
            false, false, set_pid_file},
    KeySpec{"milter", "registry", "/etc/ecomm-milter/registry.conf",
            "the sender registry file; a relative path is relative to this file's folder", false, false,
            set_registry},
    KeySpec{"milter", "mode", "enforce", "enforce: act on decisions; monitor: only log what would be done", false,
            false, set_mode},
    KeySpec{"milter", "on_error", "tempfail",
            "what an internal error does to the message: tempfail (fail closed), accept (fail open) or reject",
            false, false, set_on_error},
    KeySpec{"milter", "log_accepts", "yes", "log a line for accepted messages too (yes) or not (no)", false,
            false, boolean_key<&MainConfig::log_accepts>},
    KeySpec{"milter", "no_reply", "always",
            "stages after connect without replies: on a unix socket (unix), on any socket (always) or never",
            false, false, set_no_reply},

    KeySpec{"policy", "university_domains", "",
            "the university's mail domains (list, required); subdomains match too", true, true,
            set_university_domains},
    KeySpec{"policy", "internal_networks", "127.0.0.0/8, ::1/128",
            "internal clients (CIDR list); replaces the default, so list loopback too", true, false,
            set_internal_networks},
    KeySpec{"policy", "policy_url", "", "the policy's address, cited in every reply; empty: omitted", false,
            false, text_key<&MainConfig::policy_url>},
    KeySpec{"policy", "time_zone", "UTC", "IANA time zone for registry dates and business hours", false, false,
            set_time_zone},
    KeySpec{"policy", "expiry_warning_days", "14", "warn this many days before a registry entry expires (0-3650)",
            false, false, set_expiry_warning_days},
    KeySpec{"policy", "junk_header", "X-Spam-Flag", "header the junk action adds", false, false,
            header_name_key<&MainConfig::junk_header>},
    KeySpec{"policy", "junk_value", "YES", "value of the junk header", false, false,
            text_key<&MainConfig::junk_value>},
    KeySpec{"policy", "report_header", "X-Ecomm-Policy",
            "header the tag action adds for rules other than external-tag", false, false,
            header_name_key<&MainConfig::report_header>},

    KeySpec{"external-tag", "header", "X-Ecomm-External", "header added to mail from outside the university",
            false, false, header_name_key<&MainConfig::tag_header>},
    KeySpec{"external-tag", "header_value", "yes", "value of the external header", false, false,
            text_key<&MainConfig::tag_value>},
    KeySpec{"external-tag", "subject_prefix", "", "prefix added (once) to the Subject; empty: Subject left alone",
            false, false, text_key<&MainConfig::subject_prefix>},

    KeySpec{"authentication", "authserv_id", "",
            "authserv-id of the Authentication-Results header; empty: this host's name", false, false,
            set_authserv_id},
    KeySpec{"authentication", "dns_timeout", "5",
            "seconds one DNS look-up may take (1-60); keep it well inside the MTA's milter timeouts", false, false,
            bounded_int_key<&MainConfig::dns_timeout_seconds, 1, 60>},
    KeySpec{"authentication", "dns_budget", "15",
            "seconds all DNS look-ups of one message may take together (1-240); later ones count as timed out",
            false, false, bounded_int_key<&MainConfig::dns_budget_seconds, 1, 240>},
    KeySpec{"authentication", "dns_cache", "4096",
            "DNS answers kept across messages, each for its TTL but an hour at most (0-1000000); 0: none", false, false,
            bounded_int_key<&MainConfig::dns_cache_entries, 0, 1000000>},
    KeySpec{"authentication", "dns_file", "",
            "tests only: answer DNS from this static file instead of the network; empty: real DNS", false, false,
            set_dns_file},
    KeySpec{"authentication", "dkim_min_key_bits", "1024", "shorter RSA keys give dkim=policy (512-8192)", false,
            false,
            [](MainConfig& c, const KeySpec& k, const KeyValue& v, Problems& p) {
                int bits = 0;
                set_bounded_int(bits, 512, 8192, k, v, p);
                if (bits != 0) c.dkim_min_key_bits = static_cast<unsigned>(bits);
            }},
    KeySpec{"authentication", "dkim_max_signatures", "16", "signatures evaluated per message (1-64)", false, false,
            bounded_int_key<&MainConfig::dkim_max_signatures, 1, 64>},
    KeySpec{"authentication", "dkim_accept_rsa_sha1", "no", "accept rsa-sha1 signatures (RFC 8301 says no)", false,
            false, boolean_key<&MainConfig::dkim_accept_rsa_sha1>},

    KeySpec{"body", "body_types", "text/plain, text/html, text/enriched, text/calendar",
            "media types that are message text, not attachments (list)", true, false,
            set_body_types},
    KeySpec{"body", "exempt_types", "application/pgp-signature, application/pkcs7-signature, application/x-pkcs7-signature",
            "signature parts of multipart/signed that are not attachments (list)", true, false,
            media_types_key<&MainConfig::exempt_types>},
    KeySpec{"body", "category_header", "X-Ecomm-Category",
            "header a platform sets to transactional or promotional, for registry entries with category = message",
            false, false, header_name_key<&MainConfig::category_header>},
    KeySpec{"body", "unsubscribe_body_link", "yes",
            "an unsubscribe or preferences link in the body counts as an unsubscribe mechanism", false, false,
            boolean_key<&MainConfig::unsubscribe_body_link>},
    KeySpec{"body", "min_recipients", "0",
            "also apply the attachments and unsubscribe rules to any message with more recipients (0: off)", false,
            false, bounded_int_key<&MainConfig::body_rules_min_recipients, 0, 1000000>},

    KeySpec{"counters", "file", "/var/lib/ecomm-milter/counters",
            "the counter table shared by every ecomm-milter on this host (absolute path; created if missing)",
            false, false, set_counter_file},
    KeySpec{"counters", "rate_slots", "4096", "rate entries the table holds: senders and clients (64-1000000)",
            false, false, bounded_int_key<&MainConfig::counter_rate_slots, 64, 1000000>},
    KeySpec{"counters", "campaign_slots", "128", "campaigns the table holds, 16 KiB each (8-65536)", false, false,
            bounded_int_key<&MainConfig::counter_campaign_slots, 8, 65536>},

    KeySpec{"counters", "backend", "table",
            "where the counters live: this host's table (table) or a Redis server several hosts share (redis)",
            false, false, set_counter_backend},
    KeySpec{"counters", "redis_server", "127.0.0.1:6379",
            "backend = redis: the server, as HOST:PORT, [IPv6]:PORT or a unix socket's absolute path", false, false,
            set_redis_server},
    KeySpec{"counters", "redis_database", "0", "the Redis database number (0-1000000)", false, false,
            bounded_int_key<&MainConfig::redis_database, 0, 1000000>},
    KeySpec{"counters", "redis_prefix", "ecomm-milter:",
            "the prefix of every Redis key; MTAs that share counters use the same one", false, false,
            set_redis_prefix},
    KeySpec{"counters", "redis_password_file", "",
            "a file whose first line is the Redis password, read at start and reload; empty: no AUTH", false, false,
            set_redis_password_file},
    KeySpec{"counters", "redis_user", "", "the Redis ACL user; empty: AUTH with the password alone", false, false,
            set_redis_user},
    KeySpec{"counters", "redis_timeout", "100",
            "milliseconds one Redis call may take, connecting included (1-10000); mail never waits longer",
            false, false, bounded_int_key<&MainConfig::redis_timeout_ms, 1, 10000>},
    KeySpec{"counters", "redis_connections", "8", "Redis connections one milter process keeps at most (1-256)",
            false, false, bounded_int_key<&MainConfig::redis_connections, 1, 256>},
    KeySpec{"counters", "redis_unavailable", "table",
            "while Redis is away: count in this host's table (table) or answer with on_error (on_error)", false,
            false, set_redis_unavailable},

    KeySpec{"rate", "limit", "30",
            "messages a minute per registered sender (0-60000, 0: no limit); the registry's rate overrides",
            false, false, bounded_int_key<&MainConfig::rate_limit, 0, 60000>},
    KeySpec{"rate", "burst", "0",
            "at most this many messages within burst*60/limit seconds (0: the whole minute's allowance at once)",
            false, false, bounded_int_key<&MainConfig::rate_burst, 0, 60000>},
    KeySpec{"rate", "throttle_delay", "5",
            "seconds a sender just over its rate is held before being accepted (0-60); beyond: deferred", false,
            false, bounded_int_key<&MainConfig::throttle_delay_seconds, 0, 60>},
    KeySpec{"rate", "client_limit", "0",
            "messages a minute per unregistered client address, IPv6 by /64 (0-60000, 0: off)", false, false,
            bounded_int_key<&MainConfig::client_rate_limit, 0, 60000>},

    KeySpec{"bulk", "threshold", "15000",
            "a campaign to more university addresses than this waits for the end of business hours", false,
            false, bounded_int_key<&MainConfig::bulk_threshold, 1, 100000000>},
    KeySpec{"bulk", "campaign_headers", "Feedback-ID, List-Id, X-Ecomm-Campaign",
            "headers naming a campaign, first present wins (list); none: registry sender + Subject + day", true,
            false, header_names_key<&MainConfig::campaign_headers>},
    KeySpec{"bulk", "audience_header", "X-Ecomm-Audience",
            "header in which a platform may declare a campaign's audience size; empty: none", false, false,
            [](MainConfig& c, const KeySpec& k, const KeyValue& v, Problems& p) {
                if (v.text.empty()) return c.audience_header.clear();
                set_header_name(c.audience_header, k, v, p);
            }},
    KeySpec{"bulk", "audience_window", "24",
            "hours over which a campaign's distinct recipients add up (1-720)", false, false,
            bounded_int_key<&MainConfig::audience_window_hours, 1, 720>},
    KeySpec{"bulk", "business_days", "Mon-Fri", "business days in time_zone: Mon-Fri, Mon, Wed, Fri, or none",
            false, false, set_business_days},
    KeySpec{"bulk", "business_hours", "08:00-17:00", "business hours on those days, local time", false, false,
            set_business_hours},
    KeySpec{"bulk", "holidays", "",
            "file of holiday dates, one YYYY-MM-DD a line (relative: to this file's folder); empty: none", false,
            false, set_holidays},

    KeySpec{"actions", "registration", "reject", "unregistered sender in a university domain (IV.B.3.c.i)", false,
            false, set_action},
    KeySpec{"actions", "return-path", "reject", "MAIL FROM lacks the sender's identifier (IV.B.3.c.ii)", false,
            false, set_action},
    KeySpec{"actions", "authentication", "reject", "required SPF/DKIM result missing (IV.B.3.c.iii)", false, false,
            set_action},
    KeySpec{"actions", "authentication-temperror", "tempfail",
            "SPF/DKIM could not be checked for now (DNS timeout): 451 4.4.3 by default", false, false, set_action},
    KeySpec{"actions", "authentication-permerror", "reject",
            "the sender's SPF or DKIM records are broken (permerror)", false, false, set_action},
    KeySpec{"actions", "bulk-hours", "tempfail", "large campaign during business hours (IV.B.3.c.iv)", false,
            false, set_action},
    KeySpec{"actions", "attachments", "reject", "message carries an attachment (IV.B.3.c.v)", false, false,
            set_action},
    KeySpec{"actions", "rate", "tempfail", "sender over its rate limit (IV.B.3.c.vi-vii)", false, false,
            set_action},
    KeySpec{"actions", "unsubscribe", "reject", "promotional mail without an unsubscribe mechanism (IV.C.1.a)",
            false, false, set_action},
    KeySpec{"actions", "external-tag", "tag", "mail from outside the university", false, false, set_action},
};

const KeySpec* find_key(std::string_view section, std::string_view key)
{
    const auto found = std::find_if(kKeys.begin(), kKeys.end(), [&](const KeySpec& spec) {
        return section == spec.section && key == spec.key;
    });
    return found == kKeys.end() ? nullptr : &*found;
}

bool is_known_section(std::string_view section)
{
    return std::any_of(kKeys.begin(), kKeys.end(), [&](const KeySpec& spec) { return section == spec.section; });
}

void append_items(KeyValue& value, std::string_view text, int line)
{
    for (auto item : split_ini_list(text)) value.items.push_back(ListItem{std::string(item), line});
}

KeyValue default_value(const KeySpec& spec)
{
    KeyValue value;
    value.text = spec.default_value;
    append_items(value, value.text, 0);
    return value;
}

// The junk flag and the external tag each make their header ours by removing a sender's copies
// (own_header_edits): under one name both would queue the removal of the same copies, and the
// second removal of a copy fails. Reported at junk_header's line, or the tag header's when only
// that one is in the file.
void check_own_headers_differ(const MainConfig& config, Problems& problems)
{
    if (!iequals(config.junk_header, config.tag_header)) return;
    const int junk_line = config.line_of("policy", "junk_header");
    const int tag_line = config.line_of("external-tag", "header");
    const auto where = [](int line) { return line > 0 ? "line " + std::to_string(line) : std::string("its default"); };
    const std::string junk = "junk_header '" + config.junk_header + "'";
    const std::string tag = "[external-tag] header '" + config.tag_header + "'";
    const std::string why = ": each needs a header of its own, as each removes a sender's copies of it";
    if (junk_line > 0 || tag_line == 0)
        problems.error(junk_line, junk + " is the same header as " + tag + " (" + where(tag_line) + ")" + why);
    else
        problems.error(tag_line, tag + " is the same header as " + junk + " (" + where(junk_line) + ")" + why);
}

// One load of one file: gathers the values as read, then runs every key's setter in table order.
class MainConfigLoad {
public:
    MainConfigLoad(const std::string& path, Diagnostics& diagnostics)
        : path_(path), problems_(path, diagnostics)
    {
    }

    // False when the file could not be read at all.
    bool read(Diagnostics& diagnostics)
    {
        IniCallbacks callbacks;
        callbacks.on_section = [this](const IniSection& section) { on_section(section); };
        callbacks.on_value = [this](const IniValue& value) { on_value(value); };
        return read_ini_file(path_, callbacks, diagnostics);
    }

    void apply(MainConfig& config)
    {
        for (const auto& spec : kKeys) {
            const auto found = values_.find(&spec);
            if (found != values_.end()) {
                config.key_lines[std::string(spec.section) + "." + spec.key] = found->second.line;
                spec.set(config, spec, found->second, problems_);
            }
            else if (spec.required)
                report_missing(spec);
            else
                spec.set(config, spec, default_value(spec), problems_);
        }
        check_own_headers_differ(config, problems_);
    }

private:
    void on_section(const IniSection& section)
    {
        if (section.first_line != 0) {
            problems_.error(section.line, "duplicate section [" + std::string(section.name) + "] (first at line " +
                                              std::to_string(section.first_line) + ")");
            return;
        }
        if (!is_known_section(section.name)) {
            problems_.error(section.line, "unknown section [" + std::string(section.name) + "]");
            return;
        }
        section_lines_.emplace(std::string(section.name), section.line);
    }

    void on_value(const IniValue& value)
    {
        if (!is_known_section(value.section)) return;  // reported once, at its header
        const KeySpec* spec = find_key(value.section, value.key);
        if (!spec) {
            if (!value.continuation)
                problems_.error(value.line, "unknown key '" + std::string(value.key) + "' in section [" +
                                                std::string(value.section) + "]");
            return;
        }
        if (!value.continuation) {
            KeyValue& stored = values_[spec];
            stored.line = value.line;
            stored.text = std::string(value.value);
            append_items(stored, value.value, value.line);
            return;
        }
        if (!spec->is_list) {
            problems_.error(value.line, "'" + std::string(value.key) +
                                            "' takes a single value; only lists go on over indented lines");
            return;
        }
        KeyValue& stored = values_[spec];
        stored.text += " " + std::string(value.value);
        append_items(stored, value.value, value.line);
    }

    void report_missing(const KeySpec& spec)
    {
        const auto section = section_lines_.find(spec.section);
        const int line = section == section_lines_.end() ? 0 : section->second;
        problems_.error(line, std::string("missing required key '") + spec.key + "' in section [" + spec.section +
                                  "]");
    }

    const std::string& path_;
    Problems problems_;
    std::map<const KeySpec*, KeyValue> values_;
    std::map<std::string, int, std::less<>> section_lines_;
};

void sort_by_line(Diagnostics& diagnostics, std::size_t from)
{
    std::stable_sort(diagnostics.begin() + static_cast<std::ptrdiff_t>(from), diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
}

}  // namespace

Action MainConfig::action_for(std::string_view rule_id) const
{
    const auto found = actions.find(rule_id);
    return found == actions.end() ? Action::accept : found->second;
}

MainConfig load_main_config(const std::string& path, Diagnostics& diagnostics)
{
    MainConfig config;
    config.path = path;
    const std::size_t first = diagnostics.size();
    try {
        MainConfigLoad load(path, diagnostics);
        // A file that could not be read at all has nothing more to say (no "missing key" noise).
        if (load.read(diagnostics)) load.apply(config);
    } catch (const std::exception& exception) {
        diagnostics.push_back(Diagnostic{Diagnostic::Severity::error, path, 0,
                                         std::string("internal error: ") + exception.what()});
    }
    // Values are checked in table order; report them in file order.
    sort_by_line(diagnostics, first);
    return config;
}

const std::vector<ConfigKeyDoc>& main_config_keys()
{
    static const std::vector<ConfigKeyDoc> docs = [] {
        std::vector<ConfigKeyDoc> result;
        for (const auto& spec : kKeys)
            result.push_back(ConfigKeyDoc{spec.section, spec.key, spec.default_value, spec.doc});
        return result;
    }();
    return docs;
}

}  // namespace ecomm

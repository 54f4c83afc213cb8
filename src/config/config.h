// The main configuration file (INI): its settings as an immutable value, and its loader.
//
// Every key lives in one table (config.cpp) with its section, default and one-line doc; the
// example file conf/ecomm-milter.conf and the man page say the same thing. Unknown sections and
// keys, bad values and duplicates are errors reported as "FILE:LINE: what is wrong".
#pragma once
#include <map>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "net/ip_address.h"
#include "policy/action.h"
#include "policy/business_hours.h"

namespace ecomm {

struct MainConfig {
    std::string path;  // the file it was read from
    // "section.key" -> the line that set it, for the keys the file sets: what is checked after
    // loading (e.g. by -n) can still name the line.
    std::map<std::string, int, std::less<>> key_lines;
    int line_of(const std::string& section, const std::string& key) const
    {
        const auto found = key_lines.find(section + "." + key);
        return found == key_lines.end() ? 0 : found->second;
    }

    // [milter]
    std::string socket = "unix:/run/ecomm-milter/ecomm-milter.sock";
    unsigned socket_mode = 0660;
    std::string socket_group;       // empty: leave the group as created
    std::string user;               // empty: keep running as the starting user
    std::string pid_file;           // empty: none
    std::string registry_file = "/etc/ecomm-milter/registry.conf";  // relative: to this file's dir
    bool monitor = false;           // mode = monitor: log what would be done, change nothing
    Action on_error = Action::tempfail;  // internal errors: tempfail (fail closed) or accept (open)
    bool log_accepts = true;        // one line for accepted messages too
    // Which sockets negotiate the stages after connect without replies (src/milter/glue.h).
    enum class NoReply { unix_only, always, never };
    NoReply no_reply = NoReply::always;

    // [policy]
    std::vector<std::string> university_domains;  // lower case, no leading dot; subdomains match
    NetworkSet internal_networks;                 // default: loopback
    std::string policy_url;                       // cited in replies; empty: omitted
    std::string time_zone = "UTC";                // IANA name, for dates (expiry, business hours)
    int expiry_warning_days = 14;
    std::string junk_header = "X-Spam-Flag";      // the junk action adds "junk_header: junk_value"
    std::string junk_value = "YES";
    std::string report_header = "X-Ecomm-Policy"; // the tag action on a rule other than external-tag

    // [external-tag]
    std::string tag_header = "X-Ecomm-External";
    std::string tag_value = "yes";
    std::string subject_prefix;                   // empty: the Subject is left alone

    // [authentication]
    std::string authserv_id;                      // Authentication-Results id; default: host name
    int dns_timeout_seconds = 5;                  // per look-up
    int dns_budget_seconds = 15;                  // all look-ups of one message together
    int dns_cache_entries = 4096;                 // answers kept across messages; 0: no shared cache
    std::string dns_file;                         // tests: answer DNS from this static file
    unsigned dkim_min_key_bits = 1024;
    int dkim_max_signatures = 16;
    bool dkim_accept_rsa_sha1 = false;

    // [body]: the attachments and unsubscribe rules
    std::vector<std::string> body_types{"text/plain", "text/html", "text/enriched", "text/calendar"};
    std::vector<std::string> exempt_types{"application/pgp-signature", "application/pkcs7-signature",
                                          "application/x-pkcs7-signature"};
    std::string category_header = "X-Ecomm-Category";  // per-message category for category = message
    bool unsubscribe_body_link = true;            // a link in the body counts as a mechanism
    int body_rules_min_recipients = 0;            // > 0: also judge any message with more recipients

    // [counters]: the shared counter table of the rate and bulk-hours rules
    std::string counter_file = "/var/lib/ecomm-milter/counters";
    int counter_file_line = 0;         // where it was set, for diagnostics about the file
    int counter_rate_slots = 4096;
    int counter_campaign_slots = 128;
    // Where the counters live: this host's table, or a Redis server several MTA hosts share
    // (issue 8), with the table standing in while Redis is away when redis_unavailable = table.
    enum class CounterBackend { table, redis };
    CounterBackend counter_backend = CounterBackend::table;
    std::string redis_server = "127.0.0.1:6379";  // host:port, [v6]:port, or a unix socket's path
    int redis_database = 0;
    std::string redis_prefix = "ecomm-milter:";
    std::string redis_password_file;    // empty: no AUTH
    std::string redis_password;         // read from redis_password_file when the config loads
    std::string redis_user;             // empty: AUTH with the password alone
    int redis_timeout_ms = 100;         // each Redis call, connecting included
    int redis_connections = 8;          // pool size of one milter process
    bool redis_fallback_to_table = true;  // false (on_error): Redis away is an internal error

    // [rate] (IV.B.3.c.vi-vii)
    int rate_limit = 30;               // messages a minute per registered sender; registry `rate` overrides
    int rate_burst = 0;                // > 0: at most this many within burst*60/limit seconds
    int throttle_delay_seconds = 5;    // a sender this close to its allowance is held, then accepted
    int client_rate_limit = 0;         // per unregistered client address (IPv6 by /64); 0: off

    // [bulk] (IV.B.3.c.iv)
    int bulk_threshold = 15000;        // university recipients of one campaign
    std::vector<std::string> campaign_headers{"Feedback-ID", "List-Id", "X-Ecomm-Campaign"};
    std::string audience_header = "X-Ecomm-Audience";  // declares the audience up front; empty: none
    int audience_window_hours = 24;
    BusinessHours business_hours;      // in time_zone

    // [actions]: rule id -> action; every rule id known to the pipeline has an entry.
    std::map<std::string, Action, std::less<>> actions;

    Action action_for(std::string_view rule_id) const;
};

// Reads and validates path. Errors and warnings go to diagnostics; the returned config is only
// meaningful when has_errors(diagnostics) is false.
MainConfig load_main_config(const std::string& path, Diagnostics& diagnostics);

// The documented key table, for the example config and man page checks: section, key, default, doc.
struct ConfigKeyDoc {
    const char* section;
    const char* key;
    const char* default_value;
    const char* doc;
};
const std::vector<ConfigKeyDoc>& main_config_keys();

}  // namespace ecomm

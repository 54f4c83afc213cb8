// ecomm-milter-stats: the postmaster's live view of the counters the milters share
// (DESIGN.md "Counters"; the host's table, or Redis with [counters] backend = redis): per sender the messages of the last minute and the reservations not yet
// committed, per campaign its audience and whether the bulk-hours rule holds it now, and how full
// the table is; as text, or as JSON with --json. --reset KEY forgets one sender's rate or one
// campaign (say, after a registry change).
//
// The configuration gives the table's path, and the threshold, business hours, mode and
// [actions] bulk-hours that decide "held". A missing table is reported, never created: the milter owns it. Opening a table whose
// slot counts differ from the ones asked for rebuilds it empty, so before opening, the file's own
// header is read: a table of this format is opened with the slot counts it has (a [counters]
// change the milter has not picked up yet must not cost the live counters), and a file that is not
// a counter table at all (--file with the wrong path) is left alone rather than renamed aside.
// With backend = redis, --file reads the host's own table, the stand-in while Redis was away.
//
// Exit status: 0 success; 1 no table, a table that cannot be read, or no entry to reset;
// 2 a bad configuration; 64 (EX_USAGE) a bad command line.
#include <getopt.h>
#include <sysexits.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <algorithm>
#include <memory>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "config.h"  // PACKAGE_VERSION (autoconf)
#include "config/config.h"
#include "core/logger.h"
#include "counters/counter_provider.h"
#include "counters/counter_table.h"
#include "counters/redis_store.h"
#include "counters/stats_report.h"
#include "counters/table_probe.h"
#include "util/option_name.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"  // Makefile.am defines it from configure's --sysconfdir
#endif

namespace {

constexpr const char* kProgram = "ecomm-milter-stats";
constexpr const char* kDefaultConfig = SYSCONFDIR "/ecomm-milter/ecomm-milter.conf";
constexpr int kExitBadConfig = 2;

struct CommandLine {
    bool help = false;
    bool version = false;
    std::string config_path = kDefaultConfig;
    std::optional<std::string> table_path;  // --file: instead of [counters] file
    bool json = false;
    std::optional<std::string> reset_key;
};

// Thrown for a bad command line; main prints it with the usage and exits EX_USAGE.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void print_synopsis(std::ostream& out)
{
    out << "usage: ecomm-milter-stats [-c FILE] [--file PATH] [--json]      show the live counters\n"
           "       ecomm-milter-stats [-c FILE] [--file PATH] --reset KEY   forget one entry\n"
           "       ecomm-milter-stats -V | -h\n";
}

void print_help(std::ostream& out)
{
    print_synopsis(out);
    out << "\n"
           "  -c, --config FILE   configuration file (default "
        << kDefaultConfig
        << "); gives the counter\n"
           "                      table or Redis server ([counters]), the bulk threshold and\n"
           "                      business hours\n"
           "      --file PATH     read this counter table instead of the configured counters\n"
           "      --json          print one JSON document instead of the report\n"
           "      --reset KEY     forget the sender rate entry or campaign KEY (as listed,\n"
           "                      an escaped:... key too)\n"
           "  -V, --version       print the version\n"
           "  -h, --help          print this help\n"
           "\n"
           "Exit status: 0 done; 1 no counter table, or no entry KEY; 2 bad configuration.\n";
}

// Long-only options.
enum LongOnly { file_option = 256, json_option, reset_option };

const option kOptions[] = {
    {"config", required_argument, nullptr, 'c'},
    {"file", required_argument, nullptr, file_option},
    {"json", no_argument, nullptr, json_option},
    {"reset", required_argument, nullptr, reset_option},
    {"version", no_argument, nullptr, 'V'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

// --reset's KEY as the report shows it: a key shown escaped names the key it stands for.
std::string reset_key(std::string_view shown)
{
    auto key = ecomm::key_from_shown(shown);
    if (!key)
        throw UsageError("--reset " + std::string(shown) + ": in an escaped key a backslash starts \\xHH (one byte)");
    if (key->empty()) throw UsageError("--reset needs a key");
    return std::move(*key);
}

CommandLine parse_command_line(int argc, char** argv)
{
    CommandLine line;
    opterr = 0;  // our own messages, followed by the usage
    int option_index = 0;
    int c = 0;
    while ((c = getopt_long(argc, argv, ":c:Vh", kOptions, &option_index)) != -1) {
        switch (c) {
        case 'c': line.config_path = optarg; break;
        case file_option: line.table_path = optarg; break;
        case json_option: line.json = true; break;
        case reset_option: line.reset_key = reset_key(optarg); break;
        case 'V': line.version = true; break;
        case 'h': line.help = true; break;
        case ':':
            throw UsageError("option " + ecomm::rejected_option_name(optopt, argv[optind - 1]) + " needs an argument");
        default:
            throw UsageError("unknown option " + ecomm::rejected_option_name(optopt, argv[optind - 1]));
        }
    }
    if (optind < argc) throw UsageError(std::string("unexpected argument \"") + argv[optind] + "\"");
    if (line.json && line.reset_key) throw UsageError("--json does not apply to --reset");
    return line;
}

// Prints every diagnostic, one per line, as "FILE:LINE: message".
void print_diagnostics(const ecomm::Diagnostics& diagnostics)
{
    for (const auto& diagnostic : diagnostics) std::cerr << diagnostic.to_string() << '\n';
}

ecomm::StatsSettings stats_settings(const ecomm::MainConfig& config)
{
    ecomm::StatsSettings settings;
    settings.rate_limit = config.rate_limit;
    settings.bulk_threshold = config.bulk_threshold > 0 ? static_cast<std::uint64_t>(config.bulk_threshold) : 0;
    settings.business_hours = config.business_hours;
    settings.time_zone = config.time_zone;
    // What the milter does to a campaign the rule fires for: in monitor mode, nothing.
    settings.monitor = config.monitor;
    settings.bulk_action = config.action_for("bulk-hours");
    return settings;
}

// Whether the file at options.path may be opened, adopting its slot counts when they differ from
// options'; otherwise says why not and gives the exit status.
std::optional<int> refuse_to_open(ecomm::CounterTableOptions& options)
{
    // Checked first because opening would create the file: only the milter makes it.
    std::error_code error;
    if (options.path.empty() || !std::filesystem::exists(options.path, error)) {
        std::cerr << kProgram << ": no counter table at " << options.path << " (the milter has not run yet?)\n";
        return 1;
    }

    const ecomm::TableProbe header = ecomm::probe_table_file(options.path);
    if (header.kind == ecomm::TableProbe::Kind::unreadable) {
        std::cerr << kProgram << ": cannot read " << options.path << ": " << header.error << '\n';
        return 1;
    }
    if (header.kind == ecomm::TableProbe::Kind::not_a_table) {
        std::cerr << kProgram << ": " << options.path << " is not an ecomm-milter counter table (left alone)\n";
        return 1;
    }
    if (header.kind == ecomm::TableProbe::Kind::other_version) {
        std::cerr << kProgram << ": " << options.path << " is a counter table of format " << header.version
                  << ", this version reads format " << ecomm::supported_table_version() << " (left alone)\n";
        return 1;
    }
    if (ecomm::plausible_geometry(header) &&
        (header.rate_slots != options.rate_slots || header.campaign_slots != options.campaign_slots)) {
        std::cerr << kProgram << ": note: " << options.path << " has " << header.rate_slots << " rate and "
                  << header.campaign_slots << " campaign slots, the configuration " << options.rate_slots
                  << " and " << options.campaign_slots << "; showing the table as it is\n";
        options.rate_slots = header.rate_slots;
        options.campaign_slots = header.campaign_slots;
    }
    return std::nullopt;
}

// The host's table (--file, or [counters] file); null after saying why it is not opened.
std::shared_ptr<ecomm::CounterStore> open_table(const CommandLine& line, const ecomm::MainConfig& config)
{
    ecomm::CounterTableOptions options;
    options.path = line.table_path.value_or(config.counter_file);
    options.rate_slots = static_cast<std::size_t>(config.counter_rate_slots);
    options.campaign_slots = static_cast<std::size_t>(config.counter_campaign_slots);
    // A rebuilt or repaired table concerns the mail log as much as whoever ran this.
    options.warn = [](const std::string& text) {
        std::cerr << kProgram << ": warning: " << text << '\n';
        ecomm::log::warning(text);
    };
    if (refuse_to_open(options)) return nullptr;
    ecomm::log::open(false);
    return ecomm::CounterTable::open(options);
}

// The Redis store of [counters]; an unreachable server throws CounterError on the first call.
std::shared_ptr<ecomm::CounterStore> open_redis(const ecomm::MainConfig& config)
{
    ecomm::log::open(false);
    ecomm::RedisStoreOptions options = ecomm::redis_store_options(config);
    // A person is waiting, not mail: allow a slow server more than the milter's timeout.
    options.pool.connect.timeout = std::max(options.pool.connect.timeout, std::chrono::milliseconds(2000));
    options.pool.max_connections = 1;
    return std::make_shared<ecomm::RedisStore>(std::move(options));
}

int run(const CommandLine& line)
{
    ecomm::Diagnostics diagnostics;
    const ecomm::MainConfig config = ecomm::load_main_config(line.config_path, diagnostics);
    print_diagnostics(diagnostics);
    if (ecomm::has_errors(diagnostics)) return kExitBadConfig;

    const bool redis = !line.table_path && config.counter_backend == ecomm::MainConfig::CounterBackend::redis;
    const std::shared_ptr<ecomm::CounterStore> store = redis ? open_redis(config) : open_table(line, config);
    if (!store) return 1;
    if (line.reset_key) {
        // Named as the report names it: a key from mail may hold control characters.
        const std::string shown = ecomm::shown_key(*line.reset_key);
        if (!store->reset(*line.reset_key)) {
            std::cerr << kProgram << ": no entry " << shown << '\n';
            return 1;
        }
        ecomm::log::notice("counter entry " + shown + " reset by " + kProgram);
        std::cout << "reset " << shown << '\n';
        return 0;
    }

    const auto now = std::chrono::system_clock::now();
    const ecomm::CounterView view = store->view(now);
    const ecomm::StatsSettings settings = stats_settings(config);
    std::cout << (line.json ? ecomm::format_stats_json(view, now, settings)
                            : ecomm::format_stats_text(view, now, settings));
    std::cout.flush();
    return std::cout ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        const CommandLine line = parse_command_line(argc, argv);
        if (line.help) {
            print_help(std::cout);
            return 0;
        }
        if (line.version) {
            std::cout << kProgram << ' ' << PACKAGE_VERSION << '\n';
            return 0;
        }
        return run(line);
    } catch (const UsageError& e) {
        std::cerr << kProgram << ": " << e.what() << '\n';
        print_synopsis(std::cerr);
        std::cerr << "(" << kProgram << " -h explains the options)\n";
        return EX_USAGE;
    } catch (const std::exception& e) {
        // CounterError (a table that cannot be opened, or a lock that timed out) among them.
        std::cerr << kProgram << ": " << e.what() << '\n';
        return 1;
    }
}

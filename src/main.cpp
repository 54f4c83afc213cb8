// ecomm-milter's command line: run the milter daemon (default), check the configuration (-n),
// run one message through the pipeline without an MTA (-t), or print the version (-V).
//
// Exit status: 0 success; 1 a bad configuration or a failed start; 2 bad -t input (told by the
// test mode); 64 (EX_USAGE) a bad command line.
#include <getopt.h>
#include <sysexits.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "config.h"  // PACKAGE_VERSION (autoconf)
#include "config/snapshot.h"
#include "counters/counter_provider.h"
#include "counters/redis_connection.h"
#include "core/logger.h"
#include "milter/daemon.h"
#include "milter/socket_spec.h"
#include "testmode/test_mode.h"
#include "util/option_name.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"  // Makefile.am defines it from configure's --sysconfdir
#endif

namespace {

constexpr const char* kDefaultConfig = SYSCONFDIR "/ecomm-milter/ecomm-milter.conf";

enum class Mode { daemon, check, test, version, help };

struct CommandLine {
    Mode mode = Mode::daemon;
    std::string mode_option;  // the option that chose mode, for messages
    std::string config_path = kDefaultConfig;
    bool foreground = false;
    std::optional<std::string> socket;
    ecomm::TestModeOptions test;
    bool has_client_ip = false;
    std::string test_only_option;  // the first --client-ip style option seen (an error without -t)
};

// Thrown for a bad command line; main prints it with the usage and exits EX_USAGE.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void print_synopsis(std::ostream& out)
{
    out << "usage: ecomm-milter [-c FILE] [-f] [-p SOCKET]       run the milter\n"
           "       ecomm-milter [-c FILE] [-p SOCKET] -n         check the configuration and exit\n"
           "       ecomm-milter [-c FILE] -t MESSAGE --client-ip IP [--client-name NAME] [--helo NAME]\n"
           "                    [--from ADDR] [--rcpt ADDR]... [--auth USER] [--time ISO8601]\n"
           "                    [--dns-file FILE]\n"
           "                                                     decide one message, print JSON\n"
           "       ecomm-milter -V | -h\n";
}

void print_help(std::ostream& out)
{
    print_synopsis(out);
    out << "\n"
           "  -c, --config FILE     configuration file (default "
        << kDefaultConfig
        << ")\n"
           "  -f, --foreground      stay in the foreground and log to stderr as well\n"
           "  -p, --socket SOCKET   listen here instead: unix:/path, inet:PORT@HOST, inet6:PORT@HOST\n"
           "  -n, --check           check the configuration (and socket) and exit: 0 valid, 1 not\n"
           "  -t, --test MESSAGE    run MESSAGE (a file) through the policy with no MTA\n"
           "  -V, --version         print the version\n"
           "  -h, --help            print this help\n"
           "\n"
           "Signals: SIGUSR1 reloads the configuration; SIGTERM stops.\n";
}

// Long-only options of -t.
enum LongOnly { client_ip = 256, client_name, helo, from, rcpt, auth, time_option, dns_file };

const option kOptions[] = {
    {"config", required_argument, nullptr, 'c'},
    {"foreground", no_argument, nullptr, 'f'},
    {"socket", required_argument, nullptr, 'p'},
    {"check", no_argument, nullptr, 'n'},
    {"test", required_argument, nullptr, 't'},
    {"version", no_argument, nullptr, 'V'},
    {"help", no_argument, nullptr, 'h'},
    {"client-ip", required_argument, nullptr, client_ip},
    {"client-name", required_argument, nullptr, client_name},
    {"helo", required_argument, nullptr, helo},
    {"from", required_argument, nullptr, from},
    {"rcpt", required_argument, nullptr, rcpt},
    {"auth", required_argument, nullptr, auth},
    {"time", required_argument, nullptr, time_option},
    {"dns-file", required_argument, nullptr, dns_file},
    {nullptr, 0, nullptr, 0},
};

void set_mode(CommandLine& line, Mode mode, const char* option)
{
    if (line.mode != Mode::daemon && line.mode != mode)
        throw UsageError(std::string(option) + " cannot be combined with " + line.mode_option);
    line.mode = mode;
    line.mode_option = option;
}

// Options that only mean something with -t: remembered so that their misuse is an error.
void test_option(CommandLine& line, const char* name)
{
    if (line.test_only_option.empty()) line.test_only_option = name;
}

CommandLine parse_command_line(int argc, char** argv)
{
    CommandLine line;
    opterr = 0;  // our own messages, followed by the usage
    int option_index = 0;
    int c = 0;
    while ((c = getopt_long(argc, argv, ":c:fp:nt:Vh", kOptions, &option_index)) != -1) {
        switch (c) {
        case 'c': line.config_path = optarg; break;
        case 'f': line.foreground = true; break;
        case 'p': line.socket = optarg; break;
        case 'n': set_mode(line, Mode::check, "-n"); break;
        case 't':
            set_mode(line, Mode::test, "-t");
            line.test.message_path = optarg;
            break;
        case 'V': set_mode(line, Mode::version, "-V"); break;
        case 'h': set_mode(line, Mode::help, "-h"); break;
        case client_ip:
            line.test.client_ip = optarg;
            line.has_client_ip = true;
            test_option(line, "--client-ip");
            break;
        case client_name: line.test.client_hostname = optarg; test_option(line, "--client-name"); break;
        case helo: line.test.helo = optarg; test_option(line, "--helo"); break;
        case from: line.test.mail_from = optarg; test_option(line, "--from"); break;
        case rcpt: line.test.recipients.emplace_back(optarg); test_option(line, "--rcpt"); break;
        case auth: line.test.auth_user = optarg; test_option(line, "--auth"); break;
        case time_option: line.test.time = optarg; test_option(line, "--time"); break;
        case dns_file: line.test.dns_file = optarg; test_option(line, "--dns-file"); break;
        case ':':
            throw UsageError("option " + ecomm::rejected_option_name(optopt, argv[optind - 1]) + " needs an argument");
        default:
            throw UsageError("unknown option " + ecomm::rejected_option_name(optopt, argv[optind - 1]));
        }
    }
    if (optind < argc) throw UsageError(std::string("unexpected argument \"") + argv[optind] + "\"");
    if (line.mode != Mode::test && !line.test_only_option.empty())
        throw UsageError(line.test_only_option + " is only for -t");
    if (line.mode == Mode::test && !line.has_client_ip) throw UsageError("-t needs --client-ip");
    if (line.mode == Mode::test && (line.foreground || line.socket))
        throw UsageError("-f and -p do not apply to -t");
    if (line.mode == Mode::check && line.foreground) throw UsageError("-f does not apply to -n");
    return line;
}

// Prints every diagnostic, one per line, as "FILE:LINE: message".
void print_diagnostics(const ecomm::Diagnostics& diagnostics)
{
    for (const auto& diagnostic : diagnostics) std::cerr << diagnostic.to_string() << '\n';
}

// -n with backend = redis: whether the server answers now, with the configured address, password
// and database. Not an error when it does not: the milter starts anyway and falls back.
void report_redis(const ecomm::MainConfig& config)
{
    if (config.counter_backend != ecomm::MainConfig::CounterBackend::redis) return;
    ecomm::RedisConnectOptions options = ecomm::redis_store_options(config).pool.connect;
    const std::string name = "redis " + options.address.to_string() + " db " + std::to_string(options.database);
    // A person is waiting, not mail: a slow server gets more than the milter's timeout.
    options.timeout = std::max(options.timeout, std::chrono::milliseconds(2000));
    try {
        const auto connection = ecomm::RedisConnection::connect(options);
        connection->command({"PING"});
        std::cerr << config.path << ": " << name << " answers\n";
    } catch (const std::exception& e) {
        std::cerr << config.path << ": warning: " << e.what() << " (the milter would start and "
                  << (config.redis_fallback_to_table ? "count in its table" : "answer with on_error")
                  << " until Redis answers)\n";
    }
}

// startup_problems() as diagnostics of the config file: FILE:LINE: text (FILE: text for -p's
// socket, which is on no line of it).
ecomm::Diagnostics startup_diagnostics(const ecomm::MainConfig& config, const std::optional<std::string>& socket)
{
    ecomm::Diagnostics diagnostics;
    for (const auto& problem : ecomm::startup_problems(config, socket))
        diagnostics.push_back(ecomm::Diagnostic{ecomm::Diagnostic::Severity::error, config.path,
                                                config.line_of("milter", problem.key), problem.text});
    return diagnostics;
}

// -n's view of startup_problems(): a folder the service manager makes at start is a warning
// (-n is run by hand while the service is stopped too), the rest errors.
ecomm::Diagnostics check_diagnostics(const ecomm::MainConfig& config, const std::optional<std::string>& socket)
{
    ecomm::Diagnostics diagnostics;
    for (const auto& problem : ecomm::startup_problems(config, socket)) {
        const auto severity =
            problem.runtime_folder ? ecomm::Diagnostic::Severity::warning : ecomm::Diagnostic::Severity::error;
        std::string text = problem.text;
        if (problem.runtime_folder) text += " (the daemon needs it; the systemd unit's RuntimeDirectory= makes it at start)";
        diagnostics.push_back(ecomm::Diagnostic{severity, config.path, config.line_of("milter", problem.key), text});
    }
    return diagnostics;
}

// -n: the configuration, the registry and the socket the daemon would listen on.
int check_config(const CommandLine& line)
{
    ecomm::LoadResult result = ecomm::load_snapshot(line.config_path);
    print_diagnostics(result.diagnostics);
    if (!result.snapshot) return 1;
    // The daemon creates the counter table at start (Redis's stand-in too): its folder must be there.
    const ecomm::MainConfig& config = result.snapshot->config;
    const bool uses_table =
        config.counter_backend == ecomm::MainConfig::CounterBackend::table || config.redis_fallback_to_table;
    const auto folder = std::filesystem::path(config.counter_file).parent_path();
    if (std::error_code error; uses_table && !std::filesystem::is_directory(folder, error)) {
        const ecomm::Diagnostic diagnostic{ecomm::Diagnostic::Severity::error, config.path, config.counter_file_line,
                                           "the counter table's folder " + folder.string() + " does not exist"};
        std::cerr << diagnostic.to_string() << '\n';
        return 1;
    }
    report_redis(config);
    bool failed = false;
    const auto report = [&](int config_line, const std::string& text) {
        std::cerr << ecomm::Diagnostic{ecomm::Diagnostic::Severity::error, config.path, config_line, text}.to_string()
                  << '\n';
        failed = true;
    };
    const auto socket = ecomm::parse_socket_spec(line.socket.value_or(config.socket));
    if (!socket.spec) report(line.socket ? 0 : config.line_of("milter", "socket"), socket.error);
    // The daemon looks these up only as it starts: a typo would pass the check and fail the start.
    for (const auto& problem : check_diagnostics(config, line.socket)) {
        if (problem.severity == ecomm::Diagnostic::Severity::warning) std::cerr << problem.to_string() << '\n';
        else report(problem.line, problem.message);
    }
    return failed ? 1 : 0;
}

int run_test(const CommandLine& line)
{
    // A private counter table: one test message must not count against a live sender.
    ecomm::LoadResult result = ecomm::load_snapshot(line.config_path, 1, [](const ecomm::MainConfig& config) {
        return ecomm::private_counters(config);
    });
    print_diagnostics(result.diagnostics);
    if (!result.snapshot) return 1;
    return ecomm::run_test_mode(result.snapshot, line.test, std::cout, std::cerr);
}

// The first of startup_problems() in the config file, as FILE:LINE: text; none when there is
// none, or when the file has errors of its own (load_snapshot reports those).
std::optional<std::string> first_startup_problem(const std::string& config_path,
                                                 const std::optional<std::string>& socket)
{
    ecomm::Diagnostics diagnostics;
    const ecomm::MainConfig config = ecomm::load_main_config(config_path, diagnostics);
    if (ecomm::has_errors(diagnostics)) return std::nullopt;
    const auto problems = startup_diagnostics(config, socket);
    if (problems.empty()) return std::nullopt;
    return problems.front().to_string();
}

// The daemon logs to syslog, and to stderr until it has detached (always with -f).
int run_daemon(const CommandLine& line)
{
    ecomm::hold_reload_signal();  // before anything that takes time: a reload must not kill us
    ecomm::log::open(true);
    ecomm::DaemonOptions options;
    // Absolute, because the daemon changes directory to / and reloads from this path.
    options.config_path = std::filesystem::absolute(line.config_path).lexically_normal().string();
    options.foreground = line.foreground;
    options.socket = line.socket;

    // What the daemon looks up only as it starts is checked before the snapshot is built, which
    // opens the counter table: a daemon that cannot start must not touch it.
    if (const auto problem = first_startup_problem(options.config_path, options.socket)) {
        ecomm::log::error(*problem);
        return 1;
    }
    ecomm::LoadResult result = ecomm::load_snapshot(options.config_path, 1, [](const ecomm::MainConfig& config) {
        return ecomm::shared_counters(config, nullptr);
    });
    for (const auto& diagnostic : result.diagnostics) {
        if (diagnostic.severity == ecomm::Diagnostic::Severity::warning)
            ecomm::log::warning(diagnostic.to_string());
        else
            ecomm::log::error(diagnostic.to_string());
    }
    if (!result.snapshot) {
        ecomm::log::error("not starting: the configuration has errors");
        return 1;
    }
    // Static: libmilter's session threads may still be finishing a message when run_milter
    // returns, and a connection arriving then reads the holder.
    static ecomm::SnapshotHolder holder;
    holder.replace(result.snapshot);
    return ecomm::run_milter(holder, options);
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        const CommandLine line = parse_command_line(argc, argv);
        switch (line.mode) {
        case Mode::help: print_help(std::cout); return 0;
        case Mode::version: std::cout << "ecomm-milter " << PACKAGE_VERSION << '\n'; return 0;
        case Mode::check: return check_config(line);
        case Mode::test: return run_test(line);
        case Mode::daemon: return run_daemon(line);
        }
    } catch (const UsageError& e) {
        std::cerr << "ecomm-milter: " << e.what() << '\n';
        print_synopsis(std::cerr);
        std::cerr << "(ecomm-milter -h explains the options)\n";
        return EX_USAGE;
    } catch (const std::exception& e) {
        std::cerr << "ecomm-milter: " << e.what() << '\n';
        return 1;
    }
    return 1;
}

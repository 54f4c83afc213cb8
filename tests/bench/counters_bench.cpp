// Benchmark of the counter stores (src/counters/counter_store.h).
//
// 1. The memory-mapped table (src/counters/counter_table.h) on a file in a temporary directory:
//    reserve+commit operations per second from 1 process and from 2 and 4 fork()ed processes
//    (each on its own keys, and all on the same keys), then the cost per message of the rate
//    check (reserve+commit) and of the audience update with 1, 10 and 100 recipients.
// 2. Redis (issue 8): the counter calls of one message, as the milter makes them for a registered
//    sender (reserve at MAIL FROM, add_to_campaign with the message's recipients at the end of
//    the message, commit when it is accepted), from 1, 2 and 4 threads sharing one store: on the
//    table, on a RedisStore (src/counters/redis_store.h, server_clock, a pool of connections) and
//    on a FallbackStore (src/counters/fallback_store.h) over that Redis with the table as its
//    stand-in, side by side. The redis-server is the benchmark's own, on a free loopback port
//    (COUNTERS_BENCH_REDIS_PORT to choose it) with --save "" --appendonly no, stopped at exit;
//    without redis-server this part is skipped with a line that says so.
//
// Built by "make tests/bench/counters-bench" (optimised; "make bench" runs it):
//   tests/bench/counters-bench [operations per process, default 200000; 0 skips part 1]
//                              [messages per thread, default 2000; 0 skips part 2]
//
// Prints Markdown tables. Every process or thread times itself from a common start (a pipe the
// parent closes, a latch), so fork, open and connect costs are left out; a rate over several is
// all operations over the slowest one's time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "../unit/redis_server.h"
#include "counters/counter_table.h"
#include "counters/fallback_store.h"
#include "counters/redis_connection.h"
#include "counters/redis_store.h"
#include "util/hash.h"

namespace {

using ecomm::CounterTable;
using ecomm::CounterTableOptions;
using Clock = std::chrono::steady_clock;

constexpr int kKeysPerProcess = 16;

CounterTableOptions table_options(const std::string& path)
{
    CounterTableOptions options;
    options.path = path;
    options.rate_slots = 4096;
    options.campaign_slots = 128;
    options.warn = [](const std::string& line) { std::fprintf(stderr, "warning: %s\n", line.c_str()); };
    return options;
}

// reserve+commit `operations` times over 16 keys; returns the seconds taken.
double rate_operations(CounterTable& table, const std::string& key_prefix, long operations)
{
    std::vector<std::string> keys;
    for (int k = 0; k < kKeysPerProcess; ++k) keys.push_back(key_prefix + std::to_string(k));
    const ecomm::RateLimit unlimited{0, 0};
    const auto start = Clock::now();
    for (long i = 0; i < operations; ++i) {
        const auto now = std::chrono::system_clock::now();
        const auto decision = table.reserve(keys[static_cast<std::size_t>(i % kKeysPerProcess)], unlimited, now);
        if (decision.reservation) table.commit(*decision.reservation, now);
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `processes` children doing rate_operations at once; returns the slowest one's seconds.
double concurrent_rate_operations(const CounterTableOptions& options, int processes, bool shared_keys, long operations)
{
    int start_pipe[2];
    int result_pipe[2];
    if (pipe(start_pipe) != 0 || pipe(result_pipe) != 0) std::exit(2);
    std::vector<pid_t> children;
    for (int p = 0; p < processes; ++p) {
        const pid_t pid = fork();
        if (pid < 0) std::exit(2);
        if (pid == 0) {
            close(start_pipe[1]);
            auto table = CounterTable::open(options);
            char byte;
            (void)!read(start_pipe[0], &byte, 1);  // returns 0 when the parent closes it: go
            const std::string prefix = shared_keys ? "sender:shared-" : "sender:p" + std::to_string(p) + "-";
            const double seconds = rate_operations(*table, prefix, operations);
            (void)!write(result_pipe[1], &seconds, sizeof seconds);
            _exit(0);
        }
        children.push_back(pid);
    }
    close(start_pipe[0]);
    usleep(200000);  // let every child open the table
    close(start_pipe[1]);
    double slowest = 0;
    for (int p = 0; p < processes; ++p) {
        double seconds = 0;
        if (read(result_pipe[0], &seconds, sizeof seconds) != sizeof seconds) std::exit(3);
        if (seconds > slowest) slowest = seconds;
    }
    for (const pid_t pid : children) waitpid(pid, nullptr, 0);
    close(result_pipe[0]);
    close(result_pipe[1]);
    return slowest;
}

// One audience update per message, `recipients` new addresses each, over 50 campaigns; returns
// microseconds per message.
double audience_cost(CounterTable& table, int recipients, long messages)
{
    std::vector<std::uint64_t> batch(static_cast<std::size_t>(recipients));
    long next_address = 0;
    const auto start = Clock::now();
    for (long m = 0; m < messages; ++m) {
        for (auto& hash : batch) hash = ecomm::stable_hash64("r" + std::to_string(next_address++) + "@example.edu");
        table.add_to_campaign("campaign-" + std::to_string(m % 50), "bench", batch, 0, 15000, std::chrono::hours(24),
                              std::chrono::system_clock::now());
    }
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / static_cast<double>(messages);
}

void row(const char* what, int processes, const char* keys, double ops_per_second, double microseconds)
{
    std::printf("| %-40s | %9d | %-6s | %12.0f | %10.2f |\n", what, processes, keys, ops_per_second, microseconds);
}

// Part 1: the table alone, from processes.
void table_benchmark(const CounterTableOptions& options, long operations)
{
    auto table = CounterTable::open(options);
    std::printf("counter table: %zu bytes, 4096 rate slots, 128 campaign slots; %ld reserve+commit per process; "
                "%ld CPUs\n\n",
                table->file_size(), operations, sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("| %-40s | %9s | %-6s | %12s | %10s |\n", "measurement", "processes", "keys", "ops/s total",
                "µs/op each");
    std::printf("|%s|%s|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(11, '-').c_str(),
                std::string(8, '-').c_str(), std::string(14, '-').c_str(), std::string(12, '-').c_str());

    const double single = rate_operations(*table, "sender:single-", operations);
    row("reserve+commit", 1, "own", operations / single, single * 1e6 / operations);
    for (const int processes : {2, 4}) {
        for (const bool shared : {false, true}) {
            const double seconds = concurrent_rate_operations(options, processes, shared, operations);
            const double total = static_cast<double>(operations) * processes;
            row("reserve+commit", processes, shared ? "shared" : "own", total / seconds,
                seconds * 1e6 / operations);
        }
    }
    const double rate_check = rate_operations(*table, "sender:check-", operations) * 1e6 / operations;
    row("rate check per message (reserve+commit)", 1, "own", 1e6 / rate_check, rate_check);
    for (const int recipients : {1, 10, 100}) {
        const long messages = recipients == 100 ? 5000 : 20000;
        const double cost = audience_cost(*table, recipients, messages);
        const std::string what = "audience update, " + std::to_string(recipients) + " recipient" +
                                 (recipients == 1 ? "" : "s");
        row(what.c_str(), 1, "50 cmp", 1e6 / cost, cost);
    }
}

// ---------------------------------------------------------------------------------------------
// The table against Redis, per message

using ecomm::CounterStore;

constexpr int kCampaigns = 50;
constexpr long kSendersPerThread = 16;
constexpr int kRounds = 3;

// COUNTERS_BENCH_REDIS_PORT, or a port the kernel says is free on 127.0.0.1 (bound to port 0,
// read back and closed: redis-server binds it a moment later).
int redis_port()
{
    if (const char* chosen = std::getenv("COUNTERS_BENCH_REDIS_PORT")) return std::atoi(chosen);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    close(fd);
    return port;
}

// What one thread sends: for each message its sender key, campaign and recipients' hashes,
// prepared before the clock starts so that only the counter calls are timed.
struct ThreadMessages {
    std::vector<std::string> senders;
    std::vector<std::string> campaigns;
    std::vector<std::vector<std::uint64_t>> recipients;
};

// Every thread its own senders (a sender's messages come from one SMTP session at a time), all
// threads the same campaigns (a campaign arrives over many sessions); recipients never repeat.
ThreadMessages prepare_messages(const std::string& run, int thread, long messages, int recipients)
{
    ThreadMessages prepared;
    long next_address = 0;
    for (long m = 0; m < messages; ++m) {
        prepared.senders.push_back("sender:" + run + "-t" + std::to_string(thread) + "-" +
                                   std::to_string(m % kSendersPerThread));
        prepared.campaigns.push_back("campaign-" + std::to_string(m % kCampaigns));
        std::vector<std::uint64_t> batch;
        for (int r = 0; r < recipients; ++r)
            batch.push_back(ecomm::stable_hash64(run + "-t" + std::to_string(thread) + "-r" +
                                                 std::to_string(next_address++) + "@example.edu"));
        prepared.recipients.push_back(std::move(batch));
    }
    return prepared;
}

// The counter calls of one message from a registered sender, in the milter's order.
void count_message(CounterStore& store, const std::string& sender, const std::string& campaign,
                   std::span<const std::uint64_t> recipients)
{
    const ecomm::RateLimit unlimited{0, 0};
    const auto now = std::chrono::system_clock::now();
    const auto decision = store.reserve(sender, unlimited, now);
    if (!recipients.empty())
        store.add_to_campaign(campaign, "bench", recipients, 0, 15000, std::chrono::hours(24), now);
    if (decision.reservation) store.commit(*decision.reservation, now);
}

struct ThreadedResult {
    double microseconds = 0;    // per message, as one thread sees it (the mean over threads)
    double per_second = 0;      // all messages over the slowest thread's time
    long errors = 0;            // messages whose calls threw CounterError
};

// `threads` threads at once, each counting `messages` messages of `recipients` recipients.
ThreadedResult run_threads(CounterStore& store, const std::string& run, int threads, long messages, int recipients)
{
    std::vector<ThreadMessages> prepared;
    for (int t = 0; t < threads; ++t) prepared.push_back(prepare_messages(run, t, messages, recipients));
    std::vector<double> seconds(static_cast<std::size_t>(threads));
    std::atomic<long> errors{0};
    std::latch start(1);
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const ThreadMessages& mine = prepared[static_cast<std::size_t>(t)];
            start.wait();
            const auto begin = Clock::now();
            for (std::size_t m = 0; m < mine.senders.size(); ++m) {
                try {
                    count_message(store, mine.senders[m], mine.campaigns[m], mine.recipients[m]);
                } catch (const ecomm::CounterError&) {
                    errors.fetch_add(1, std::memory_order_relaxed);
                }
            }
            seconds[static_cast<std::size_t>(t)] = std::chrono::duration<double>(Clock::now() - begin).count();
        });
    }
    start.count_down();
    workers.clear();  // joins
    ThreadedResult result;
    double slowest = 0;
    for (const double s : seconds) {
        result.microseconds += s * 1e6 / static_cast<double>(messages) / threads;
        slowest = std::max(slowest, s);
    }
    result.per_second = slowest > 0 ? static_cast<double>(messages) * threads / slowest : 0;
    result.errors = errors.load();
    return result;
}

// The median of each figure over the rounds; errors are summed.
ThreadedResult median(std::vector<ThreadedResult> rounds)
{
    ThreadedResult result;
    const auto middle = [&rounds](double ThreadedResult::*figure) {
        std::vector<double> values;
        for (const auto& r : rounds) values.push_back(r.*figure);
        std::sort(values.begin(), values.end());
        return values[values.size() / 2];
    };
    result.microseconds = middle(&ThreadedResult::microseconds);
    result.per_second = middle(&ThreadedResult::per_second);
    for (const auto& r : rounds) result.errors += r.errors;
    return result;
}

// The server's version (INFO server) and the mean time of one PING round trip, in µs.
std::pair<std::string, double> redis_version_and_round_trip(const ecomm::RedisConnectOptions& options)
{
    auto connection = ecomm::RedisConnection::connect(options);
    std::string version = "?";
    if (auto info = connection->command({"INFO", "server"}); info && info->type == REDIS_REPLY_STRING) {
        const std::string text(info->str, info->len);
        const auto at = text.find("redis_version:");
        if (at != std::string::npos) version = text.substr(at + 14, text.find('\r', at) - at - 14);
    }
    constexpr int pings = 2000;
    const auto begin = Clock::now();
    for (int i = 0; i < pings; ++i) connection->command({"PING"});
    return {version, std::chrono::duration<double, std::micro>(Clock::now() - begin).count() / pings};
}

void comparison_row(const std::string& what, int threads, const ThreadedResult& table, const ThreadedResult& redis,
                    const ThreadedResult& fallback)
{
    std::printf("| %-32s | %7d | %8.2f | %8.2f | %11.2f | %11.0f | %11.0f | %14.0f |\n", what.c_str(), threads,
                table.microseconds, redis.microseconds, fallback.microseconds, table.per_second, redis.per_second,
                fallback.per_second);
}

// Runs the comparison; returns false when a Redis call failed during it.
bool redis_comparison(const std::string& directory, long messages)
{
    if (!ecomm::test::RedisServer::available()) {
        std::printf("\nRedis: skipped, redis-server is not installed (Debian package redis-server)\n");
        return true;
    }
    const int port = redis_port();
    ecomm::test::RedisServer server(port);  // stopped when this returns (or at the process's death)

    ecomm::RedisStoreOptions redis_options;
    redis_options.pool.connect.address = ecomm::parse_redis_address(server.address()).address;
    // Generous: the figures are the calls' cost; a timeout on a loaded machine would end in errors.
    redis_options.pool.connect.timeout = std::chrono::milliseconds(1000);
    redis_options.pool.max_connections = 8;
    redis_options.prefix = "counters-bench:";
    redis_options.server_clock = true;
    ecomm::RedisStoreOptions fallback_redis_options = redis_options;
    fallback_redis_options.prefix = "counters-bench-fallback:";

    const auto [version, round_trip] = redis_version_and_round_trip(redis_options.pool.connect);
    auto table = std::shared_ptr<CounterStore>(CounterTable::open(table_options(directory + "/compare")));
    auto redis = std::make_shared<ecomm::RedisStore>(redis_options);
    std::atomic<int> outages{0};
    ecomm::FallbackOptions fallback_options;
    fallback_options.shared_name = "redis " + server.address();
    fallback_options.warn = [&outages](const std::string& line) {
        outages.fetch_add(1);
        std::fprintf(stderr, "warning: %s\n", line.c_str());
    };
    fallback_options.notice = [](const std::string& line) { std::fprintf(stderr, "notice: %s\n", line.c_str()); };
    ecomm::FallbackStore fallback(std::make_shared<ecomm::RedisStore>(fallback_redis_options), table, fallback_options);

    std::printf("\nRedis %s on %s (--save \"\" --appendonly no), RedisStore with server_clock and a pool of up to %d "
                "connections; one PING round trip %.1f µs; %ld messages per thread in %d rounds (medians), %d "
                "campaigns, %ld senders per thread\n\n",
                version.c_str(), server.address().c_str(), redis_options.pool.max_connections, round_trip, messages,
                kRounds, kCampaigns, kSendersPerThread);
    std::printf("| %-32s | %7s | %8s | %8s | %11s | %11s | %11s | %14s |\n", "per message", "threads", "table µs",
                "Redis µs", "fallback µs", "table msg/s", "Redis msg/s", "fallback msg/s");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(34, '-').c_str(), std::string(9, '-').c_str(),
                std::string(10, '-').c_str(), std::string(10, '-').c_str(), std::string(13, '-').c_str(),
                std::string(13, '-').c_str(), std::string(13, '-').c_str(), std::string(16, '-').c_str());

    long errors = 0;
    for (const int threads : {1, 2, 4}) {
        for (const int recipients : {0, 1, 10, 50}) {
            const std::string run = "n" + std::to_string(threads) + "r" + std::to_string(recipients);
            CounterStore* stores[3] = {table.get(), redis.get(), &fallback};
            for (CounterStore* store : stores) {
                // Untimed first: the pool's connections and their scripts, every campaign's entry.
                run_threads(*store, run + "-warm", threads, std::max<long>(kCampaigns, messages / 10), recipients);
            }
            // Rounds in turn, each starting with another store, so that a burst of load on a busy
            // machine hits all three alike; the medians are reported.
            std::vector<ThreadedResult> rounds[3];
            for (int round = 0; round < kRounds; ++round) {
                for (int i = 0; i < 3; ++i) {
                    const int s = (round + i) % 3;
                    rounds[s].push_back(run_threads(*stores[s], run + "-" + std::to_string(round), threads,
                                                    std::max(1L, messages / kRounds), recipients));
                }
            }
            ThreadedResult results[3];
            for (int s = 0; s < 3; ++s) results[s] = median(rounds[s]);
            errors += results[1].errors + results[2].errors;
            const std::string what = recipients == 0 ? "rate check (reserve+commit)"
                                                     : "message, " + std::to_string(recipients) + " recipient" +
                                                           (recipients == 1 ? "" : "s");
            comparison_row(what, threads, results[0], results[1], results[2]);
        }
    }

    // The proof that Redis did the counting: its keys, and no fallback to the local table.
    const auto view = redis->view(std::chrono::system_clock::now());
    std::printf("\nRedis holds %zu live rate entries and %zu campaigns under %s; %ld Redis calls failed; the "
                "FallbackStore saw %d outages\n",
                view.rates.size(), view.campaigns.size(), redis_options.prefix.c_str(), errors, outages.load());
    return errors == 0 && outages.load() == 0 && !view.rates.empty() && !view.campaigns.empty();
}

}  // namespace

int main(int argc, char** argv)
{
    const long operations = argc > 1 ? std::atol(argv[1]) : 200000;  // 0: only the Redis comparison
    const long messages = argc > 2 ? std::atol(argv[2]) : 2000;
    std::string directory = (std::filesystem::temp_directory_path() / "counters-bench-XXXXXX").string();
    if (!mkdtemp(directory.data())) return 2;
    const CounterTableOptions options = table_options(directory + "/counters");

    bool redis_ok = true;
    try {
        if (operations > 0) table_benchmark(options, operations);
        if (messages > 0) redis_ok = redis_comparison(directory, messages);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "counters_bench: %s\n", e.what());
        std::filesystem::remove_all(directory);
        return 1;
    }
    std::filesystem::remove_all(directory);
    return redis_ok ? 0 : 1;
}

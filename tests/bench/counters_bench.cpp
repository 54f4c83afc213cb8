// Benchmark of the counter table (src/counters/counter_table.h) on a file in a temporary
// directory: reserve+commit operations per second from 1 process and from 2 and 4 fork()ed
// processes (each on its own keys, and all on the same keys), then the cost per message of the
// rate check (reserve+commit) and of the audience update with 1, 10 and 100 recipients.
//
// From the top of the tree (one command, on one line):
//   g++ -std=c++20 -O2 -DNDEBUG -Isrc tests/bench/counters_bench.cpp src/counters/counter_table.cpp src/counters/table_file.cpp src/counters/table_slots.cpp src/counters/robust_mutex.cpp src/counters/mapped_file.cpp src/counters/sliding_window.cpp src/counters/hyperloglog.cpp src/core/logger.cpp -o counters_bench
//   ./counters_bench [operations per process, default 200000]
//
// Prints a Markdown table. Every process times itself from a common start (a pipe the parent
// closes), so fork and open costs are left out; the multi-process rate is all operations over
// the slowest process's time.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "counters/counter_table.h"
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

}  // namespace

int main(int argc, char** argv)
{
    const long operations = argc > 1 ? std::atol(argv[1]) : 200000;
    std::string directory = (std::filesystem::temp_directory_path() / "counters-bench-XXXXXX").string();
    if (!mkdtemp(directory.data())) return 2;
    const CounterTableOptions options = table_options(directory + "/counters");

    try {
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
    } catch (const std::exception& e) {
        std::fprintf(stderr, "counters_bench: %s\n", e.what());
        std::filesystem::remove_all(directory);
        return 1;
    }
    std::filesystem::remove_all(directory);
    return 0;
}

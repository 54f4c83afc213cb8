// RedisStore against a real redis-server of the test's own (tests/unit/redis_server.h): the Lua
// scripts' arithmetic at the limit's edges with injected times (server_clock off), campaigns in
// Redis's HyperLogLog, TTLs, view and reset, isolation by prefix and database, NOSCRIPT recovery,
// failures, the server's clock, and a seeded random sequence replayed against the memory-mapped
// table that must give the same decision every time.
#include <cppunit/extensions/HelperMacros.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "counters/counter_table.h"
#include "counters/redis_connection.h"
#include "counters/redis_store.h"
#include "counters/sliding_window.h"
#include "redis_server.h"
#include "skip.h"

using namespace ecomm;
using namespace ecomm::test;
using namespace std::chrono_literals;

namespace {

// Ports of this file's servers (16350-16399).
constexpr int kPortLimit = 16360;
constexpr int kPortBurst = 16361;
constexpr int kPortRelease = 16362;
constexpr int kPortCommit = 16363;
constexpr int kPortBackwards = 16364;
constexpr int kPortUnlimited = 16365;
constexpr int kPortTtl = 16366;
constexpr int kPortCampaign = 16367;
constexpr int kPortCampaignRestart = 16368;
constexpr int kPortCampaignExpiry = 16369;
constexpr int kPortView = 16370;
constexpr int kPortIsolation = 16371;
constexpr int kPortNoscript = 16372;
constexpr int kPortDifferential = 16373;
constexpr int kPortServerClock = 16374;
constexpr int kPortRestart = 16375;
constexpr int kPortScriptError = 16376;
constexpr int kPortSteppedBack = 16377;
constexpr int kPortPoolWait = 16378;
constexpr int kPortPoolBusy = 16379;
constexpr int kPortIdleTimeout = 16380;

// An arbitrary origin on a whole second (not a minute), as in test_sliding_window.
constexpr std::int64_t kOriginMs = 1'700'000'017'000;

SystemTime at(std::int64_t ms) { return SystemTime(std::chrono::milliseconds(kOriginMs + ms)); }
std::int64_t second_of(std::int64_t ms) { return unix_second(at(ms)); }

RateLimit limit_of(int per_minute, int burst = 0)
{
    RateLimit limit;
    limit.per_minute = per_minute;
    limit.burst = burst;
    return limit;
}

RedisConnectOptions connect_options(int port, int database = 0)
{
    RedisConnectOptions options;
    options.address.host = "127.0.0.1";
    options.address.port = port;
    options.database = database;
    options.timeout = 2000ms;  // generous: an ASan build on a busy machine
    return options;
}

RedisStoreOptions store_options(int port, const std::string& prefix = "test:", int database = 0)
{
    RedisStoreOptions options;
    options.pool.connect = connect_options(port, database);
    options.pool.max_connections = 2;
    options.pool.min_backoff = 10ms;
    options.pool.max_backoff = 20ms;
    options.prefix = prefix;
    options.server_clock = false;  // times are the test's, exact to the millisecond
    return options;
}

// A plain connection of the test's own, to look at keys behind the store's back.
class Inspector {
public:
    explicit Inspector(int port, int database = 0) : connection_(RedisConnection::connect(connect_options(port, database))) {}

    long long integer(std::initializer_list<std::string_view> command)
    {
        const RedisReplyPtr reply = connection_->command(command);
        CPPUNIT_ASSERT(reply);
        CPPUNIT_ASSERT_EQUAL(REDIS_REPLY_INTEGER, reply->type);
        return reply->integer;
    }
    std::string status(std::initializer_list<std::string_view> command)
    {
        const RedisReplyPtr reply = connection_->command(command);
        CPPUNIT_ASSERT(reply);
        return std::string(reply->str ? reply->str : "", reply->len);
    }

private:
    std::unique_ptr<RedisConnection> connection_;
};

// A TCP proxy on an ephemeral loopback port in front of the test's server that holds every
// command for delay_ms before passing it on (one thread for all connections, so commands queue
// as they would behind a slow server); replies pass at once.
class DelayingProxy {
public:
    explicit DelayingProxy(int target_port) : target_port_(target_port)
    {
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address = loopback(0);
        socklen_t size = sizeof address;
        if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
            listen(listener_, 16) != 0 || getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
            throw std::runtime_error("proxy: cannot listen on loopback");
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~DelayingProxy()
    {
        stop_ = true;
        thread_.join();
        for (const auto& [client, server] : pairs_) {
            close(client);
            close(server);
        }
        close(listener_);
    }
    DelayingProxy(const DelayingProxy&) = delete;
    DelayingProxy& operator=(const DelayingProxy&) = delete;

    int port() const { return port_; }
    std::atomic<int> delay_ms{0};

private:
    static sockaddr_in loopback(int port)
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(static_cast<std::uint16_t>(port));
        return address;
    }

    // Copies what from is ready to give to to; false when from closed.
    static bool forward(int from, int to)
    {
        char buffer[16384];
        const ssize_t got = read(from, buffer, sizeof buffer);
        if (got <= 0) return false;
        for (ssize_t sent = 0; sent < got;) {
            const ssize_t n = write(to, buffer + sent, static_cast<size_t>(got - sent));
            if (n <= 0) return false;
            sent += n;
        }
        return true;
    }

    void accept_one()
    {
        const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;
        const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_in address = loopback(target_port_);
        if (server < 0 || connect(server, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
            close(client);
            if (server >= 0) close(server);
            return;
        }
        pairs_.emplace_back(client, server);
    }

    void run()
    {
        while (!stop_) {
            std::vector<pollfd> fds{{listener_, POLLIN, 0}};
            for (const auto& [client, server] : pairs_) {
                fds.push_back({client, POLLIN, 0});
                fds.push_back({server, POLLIN, 0});
            }
            if (poll(fds.data(), fds.size(), 10) <= 0) continue;
            for (std::size_t i = 0; i < pairs_.size(); ++i) {
                auto& [client, server] = pairs_[i];
                bool open = true;
                if (fds[1 + 2 * i].revents != 0) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
                    open = forward(client, server);
                }
                if (open && fds[2 + 2 * i].revents != 0) open = forward(server, client);
                if (!open) {  // closed: shut both sides, drop the pair at the next round
                    shutdown(client, SHUT_RDWR);
                    shutdown(server, SHUT_RDWR);
                }
            }
            if (fds[0].revents & POLLIN) accept_one();
        }
    }

    int target_port_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::vector<std::pair<int, int>> pairs_;  // client, server; only the thread touches them
    std::thread thread_;
};

// A store with one pooled connection through proxy, no outage backoff worth waiting for.
RedisStoreOptions one_connection_through(const DelayingProxy& proxy, std::chrono::milliseconds timeout)
{
    RedisStoreOptions options = store_options(proxy.port());
    options.pool.connect.timeout = timeout;
    options.pool.max_connections = 1;
    options.pool.min_backoff = 60s;  // an outage would fail the next call at once
    options.pool.max_backoff = 60s;
    return options;
}

// Runs count reserves of key at once; each thread's outcome: "ok", "busy" or the error.
std::vector<std::string> reserve_at_once(RedisStore& store, const std::string& key, int count)
{
    std::vector<std::string> outcomes(static_cast<std::size_t>(count));
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
        threads.emplace_back([&, i] {
            std::string& outcome = outcomes[static_cast<std::size_t>(i)];
            try {
                outcome = store.reserve(key, limit_of(30), at(0)).reservation ? "ok" : "refused";
            } catch (const CounterBusy&) {
                outcome = "busy";
            } catch (const CounterError& error) {
                outcome = error.what();
            }
        });
    }
    for (auto& thread : threads) thread.join();
    return outcomes;
}

RateReservation reserved(const RateDecision& decision)
{
    CPPUNIT_ASSERT_MESSAGE("expected a reservation", decision.reservation.has_value());
    return *decision.reservation;
}

const RateEntryView* find_rate(const CounterView& view, const std::string& key)
{
    for (const auto& entry : view.rates)
        if (entry.key == key) return &entry;
    return nullptr;
}

// The entries point into the view: never into a temporary one.
const RateEntryView* find_rate(const CounterView&& view, const std::string& key) = delete;

const CampaignEntryView* find_campaign(const CounterView& view, const std::string& key)
{
    for (const auto& entry : view.campaigns)
        if (entry.key == key) return &entry;
    return nullptr;
}

}  // namespace

class RedisStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RedisStoreTest);
    CPPUNIT_TEST(reaches_exactly_the_limit_then_waits_for_the_first_bucket);
    CPPUNIT_TEST(burst_limits_a_shorter_span);
    CPPUNIT_TEST(release_gives_the_slot_back_and_is_a_no_op_once_slid_out);
    CPPUNIT_TEST(commit_keeps_the_count_and_counts_again_after_the_window_slid);
    CPPUNIT_TEST(backwards_clock_counts_in_the_newest_second);
    CPPUNIT_TEST(clock_stepped_back_an_hour_starts_the_window_again);
    CPPUNIT_TEST(limit_zero_means_no_limit);
    CPPUNIT_TEST(rate_entries_are_kept_ten_minutes_after_their_last_use);
    CPPUNIT_TEST(campaign_counts_distinct_recipients_and_crosses_once);
    CPPUNIT_TEST(campaign_restarts_after_its_window);
    CPPUNIT_TEST(campaign_keys_expire_with_the_window);
    CPPUNIT_TEST(view_and_reset);
    CPPUNIT_TEST(prefix_and_database_isolate_stores);
    CPPUNIT_TEST(script_flush_is_recovered_transparently);
    CPPUNIT_TEST(same_decisions_as_the_counter_table);
    CPPUNIT_TEST(server_clock_counts_in_the_servers_second);
    CPPUNIT_TEST(server_away_throws_and_restart_recovers);
    CPPUNIT_TEST(script_error_throws_without_an_outage);
    CPPUNIT_TEST(waiting_for_a_connection_leaves_the_command_its_whole_timeout);
    CPPUNIT_TEST(no_free_connection_in_time_is_busy_not_an_outage);
    CPPUNIT_TEST(connection_closed_by_the_servers_idle_timeout_is_replaced);
    CPPUNIT_TEST(max_clients_reached_is_an_outage_and_the_connection_is_dropped);
    CPPUNIT_TEST_SUITE_END();

public:
    void reaches_exactly_the_limit_then_waits_for_the_first_bucket()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortLimit);
        RedisStore store(store_options(kPortLimit));
        const RateLimit limit = limit_of(30);
        for (int i = 0; i < 30; ++i) {
            const RateDecision decision = store.reserve("sender:a", limit, at(i * 1000));
            CPPUNIT_ASSERT_EQUAL(second_of(i * 1000), reserved(decision).second);
            CPPUNIT_ASSERT_EQUAL(std::string("sender:a"), reserved(decision).key);
            CPPUNIT_ASSERT_EQUAL(i + 1, decision.in_window);
        }
        // The 31st waits until the first message's second has left the window: 60 s after it,
        // rounded up to the millisecond (400 us past 29.5 s still leaves 30,500 ms).
        RateDecision refused = store.reserve("sender:a", limit, at(29'500) + 400us);
        CPPUNIT_ASSERT(!refused.reservation);
        CPPUNIT_ASSERT_EQUAL(30'500LL, static_cast<long long>(refused.wait.count()));
        CPPUNIT_ASSERT_EQUAL(30, refused.in_window);
        refused = store.reserve("sender:a", limit, at(59'999));
        CPPUNIT_ASSERT(!refused.reservation);
        CPPUNIT_ASSERT_EQUAL(1LL, static_cast<long long>(refused.wait.count()));

        const RateDecision next = store.reserve("sender:a", limit, at(60'000));
        CPPUNIT_ASSERT_EQUAL(second_of(60'000), reserved(next).second);
        CPPUNIT_ASSERT_EQUAL(30, next.in_window);
        // Full again: the next slot frees when the message of second 1 leaves.
        refused = store.reserve("sender:a", limit, at(60'250));
        CPPUNIT_ASSERT(!refused.reservation);
        CPPUNIT_ASSERT_EQUAL(750LL, static_cast<long long>(refused.wait.count()));
    }

    void burst_limits_a_shorter_span()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortBurst);
        RedisStore store(store_options(kPortBurst));
        // 60 a minute, at most 5 within ceil(5 * 60 / 60) = 5 s.
        const RateLimit limit = limit_of(60, 5);
        for (int i = 0; i < 5; ++i) reserved(store.reserve("k", limit, at(0)));
        RateDecision refused = store.reserve("k", limit, at(250));
        CPPUNIT_ASSERT(!refused.reservation);
        CPPUNIT_ASSERT_EQUAL(4'750LL, static_cast<long long>(refused.wait.count()));
        CPPUNIT_ASSERT_EQUAL(5, refused.in_window);
        CPPUNIT_ASSERT(!store.reserve("k", limit, at(4'999)).reservation);
        CPPUNIT_ASSERT_EQUAL(6, store.reserve("k", limit, at(5'000)).in_window);

        // 30 a minute with burst 2: span ceil(2 * 60 / 30) = 4 s.
        const RateLimit small = limit_of(30, 2);
        reserved(store.reserve("s", small, at(0)));
        reserved(store.reserve("s", small, at(1'000)));
        refused = store.reserve("s", small, at(2'000));
        CPPUNIT_ASSERT(!refused.reservation);
        CPPUNIT_ASSERT_EQUAL(2'000LL, static_cast<long long>(refused.wait.count()));
        reserved(store.reserve("s", small, at(4'000)));
    }

    void release_gives_the_slot_back_and_is_a_no_op_once_slid_out()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortRelease);
        RedisStore store(store_options(kPortRelease));
        const RateLimit two = limit_of(2);
        reserved(store.reserve("k", two, at(0)));
        const RateReservation second = reserved(store.reserve("k", two, at(1'000)));
        CPPUNIT_ASSERT(!store.reserve("k", two, at(2'000)).reservation);
        store.release(second, at(2'000));
        const RateDecision again = store.reserve("k", two, at(2'000));
        reserved(again);
        CPPUNIT_ASSERT_EQUAL(2, again.in_window);

        // Released after its second left the window: nothing changes, not even the bucket the
        // same index now holds (second + 60).
        const RateLimit one = limit_of(1);
        const RateReservation old = reserved(store.reserve("o", one, at(0)));
        reserved(store.reserve("o", one, at(60'000)));
        store.release(old, at(60'500));
        const RateDecision refused = store.reserve("o", one, at(61'000));
        CPPUNIT_ASSERT(!refused.reservation);
        CPPUNIT_ASSERT_EQUAL(1, refused.in_window);
    }

    void commit_keeps_the_count_and_counts_again_after_the_window_slid()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortCommit);
        RedisStore store(store_options(kPortCommit));
        const RateLimit two = limit_of(2);

        const RateReservation kept = reserved(store.reserve("in", two, at(0)));
        store.commit(kept, at(1'000));
        CounterView view = store.view(at(1'000));
        const RateEntryView* entry = find_rate(view, "in");
        CPPUNIT_ASSERT(entry);
        CPPUNIT_ASSERT_EQUAL(1, entry->in_window);
        CPPUNIT_ASSERT_EQUAL(0, entry->pending);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, entry->total);

        // A message that took longer than a minute is counted again when it is accepted.
        const RateReservation slow = reserved(store.reserve("slow", two, at(0)));
        store.commit(slow, at(61'000));
        view = store.view(at(61'000));
        entry = find_rate(view, "slow");
        CPPUNIT_ASSERT(entry);
        CPPUNIT_ASSERT_EQUAL(1, entry->in_window);
        CPPUNIT_ASSERT_EQUAL(0, entry->pending);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, entry->total);
        const RateDecision next = store.reserve("slow", two, at(61'000));
        CPPUNIT_ASSERT_EQUAL(2, next.in_window);
        reserved(next);
        CPPUNIT_ASSERT(!store.reserve("slow", two, at(61'500)).reservation);
    }

    void backwards_clock_counts_in_the_newest_second()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortBackwards);
        RedisStore store(store_options(kPortBackwards));
        const RateLimit limit = limit_of(30);
        reserved(store.reserve("k", limit, at(10'000)));
        const RateDecision back = store.reserve("k", limit, at(5'000));
        CPPUNIT_ASSERT_EQUAL(second_of(10'000), reserved(back).second);
        CPPUNIT_ASSERT_EQUAL(2, back.in_window);
        // Released in the clock that went back: it is still the newest second's message.
        store.release(reserved(back), at(4'000));
        CPPUNIT_ASSERT_EQUAL(2, store.reserve("k", limit, at(3'000)).in_window);
    }

    // As sliding_window.cpp: a step back of a window or more does not freeze a full window.
    void clock_stepped_back_an_hour_starts_the_window_again()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortSteppedBack);
        RedisStore store(store_options(kPortSteppedBack));
        const RateLimit limit = limit_of(30);
        for (int i = 0; i < 30; ++i) reserved(store.reserve("k", limit, at(3'600'000)));
        CPPUNIT_ASSERT(!store.reserve("k", limit, at(3'590'000)).reservation);  // 10 s back: still full
        const RateDecision back = store.reserve("k", limit, at(0));
        CPPUNIT_ASSERT_EQUAL(second_of(0), reserved(back).second);
        CPPUNIT_ASSERT_EQUAL(1, back.in_window);
    }

    void limit_zero_means_no_limit()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortUnlimited);
        RedisStore store(store_options(kPortUnlimited));
        for (int i = 1; i <= 200; ++i) {
            const RateDecision decision = store.reserve("k", limit_of(0, 3), at(0));
            reserved(decision);
            CPPUNIT_ASSERT_EQUAL(i, decision.in_window);
        }
    }

    void rate_entries_are_kept_ten_minutes_after_their_last_use()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortTtl);
        RedisStore store(store_options(kPortTtl));
        Inspector redis(kPortTtl);
        const RateReservation reservation = reserved(store.reserve("k", limit_of(30), at(0)));
        long long ttl = redis.integer({"PTTL", "test:rate:k"});
        CPPUNIT_ASSERT(ttl > 60'000 && ttl <= 600'000);
        redis.integer({"PEXPIRE", "test:rate:k", "5000"});
        store.commit(reservation, at(1'000));  // a use: kept again
        ttl = redis.integer({"PTTL", "test:rate:k"});
        CPPUNIT_ASSERT(ttl > 60'000 && ttl <= 600'000);

        // A message that took longer than the window, with nothing else sent meanwhile: its
        // commit still finds the entry and counts it again at the commit's second, as the
        // table's does; a minute after that last use, view hides the entry.
        const RateReservation slow = reserved(store.reserve("idle", limit_of(30), at(0)));
        store.commit(slow, at(200'000));
        const CounterView after_commit = store.view(at(200'000));
        const RateEntryView* entry = find_rate(after_commit, "idle");
        CPPUNIT_ASSERT(entry);
        CPPUNIT_ASSERT_EQUAL(1, entry->in_window);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, entry->total);
        const CounterView a_minute_later = store.view(at(261'000));
        CPPUNIT_ASSERT(!find_rate(a_minute_later, "idle"));
        // A refused reserve is a use too, as in the table.
        redis.integer({"PEXPIRE", "test:rate:k", "5000"});
        CPPUNIT_ASSERT(!store.reserve("k", limit_of(1), at(2'000)).reservation);
        CPPUNIT_ASSERT(redis.integer({"PTTL", "test:rate:k"}) > 5'000);
    }

    void campaign_counts_distinct_recipients_and_crosses_once()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortCampaign);
        RedisStore store(store_options(kPortCampaign));
        const auto add = [&](std::vector<std::uint64_t> recipients, std::uint64_t declared, std::int64_t ms) {
            return store.add_to_campaign("c1", "marketing", recipients, declared, 10, 24h, at(ms));
        };
        CampaignUpdate update = add({1, 2, 3}, 0, 0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, update.estimate);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, update.declared);
        CPPUNIT_ASSERT(!update.first_crossing);
        update = add({3, 3, 4}, 0, 1'000);  // 3 again counts once
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{4}, update.estimate);
        update = add({}, 7, 2'000);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{4}, update.estimate);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{7}, update.declared);
        update = add({}, 5, 3'000);  // the largest declared stays
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{7}, update.declared);
        update = add({5, 6, 7, 8, 9, 10}, 0, 4'000);  // 10: not over the threshold yet
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{10}, update.estimate);
        CPPUNIT_ASSERT(!update.first_crossing);
        update = add({11}, 0, 5'000);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{11}, update.estimate);
        CPPUNIT_ASSERT(update.first_crossing);
        update = add({12}, 0, 6'000);
        CPPUNIT_ASSERT(!update.first_crossing);

        // The declared audience alone crosses too, and a uint64 beyond a double's precision is
        // compared exactly.
        const std::uint64_t huge = 18'446'744'073'709'551'615ULL;
        update = store.add_to_campaign("c2", "marketing", {}, 11, 10, 24h, at(0));
        CPPUNIT_ASSERT(update.first_crossing);
        update = store.add_to_campaign("c3", "marketing", {}, huge, huge - 1, 24h, at(0));
        CPPUNIT_ASSERT_EQUAL(huge, update.declared);
        CPPUNIT_ASSERT(update.first_crossing);
        update = store.add_to_campaign("c4", "marketing", {}, huge - 1, huge - 1, 24h, at(0));
        CPPUNIT_ASSERT(!update.first_crossing);

        // More recipients than Lua may unpack at once, with some already there.
        std::vector<std::uint64_t> many;
        for (std::uint64_t i = 0; i < 20'000; ++i) many.push_back(0x9e3779b97f4a7c15ULL * (i + 1));
        update = store.add_to_campaign("big", "marketing", many, 0, 15'000, 24h, at(0));
        CPPUNIT_ASSERT(update.estimate > 19'500 && update.estimate < 20'500);
        CPPUNIT_ASSERT(update.first_crossing);
        const std::uint64_t before = update.estimate;
        update = store.add_to_campaign("big", "marketing", std::span(many).first(5'000), 0, 15'000, 24h, at(1'000));
        CPPUNIT_ASSERT_EQUAL(before, update.estimate);
        CPPUNIT_ASSERT(!update.first_crossing);
    }

    void campaign_restarts_after_its_window()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortCampaignRestart);
        RedisStore store(store_options(kPortCampaignRestart));
        CampaignUpdate update = store.add_to_campaign("c", "s", std::vector<std::uint64_t>{1, 2, 3}, 9, 2, 60s, at(0));
        CPPUNIT_ASSERT(update.first_crossing);
        update = store.add_to_campaign("c", "s", std::vector<std::uint64_t>{4}, 0, 2, 60s, at(59'999));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{4}, update.estimate);
        CPPUNIT_ASSERT(!update.first_crossing);
        // A window after its first message the campaign starts afresh: audience, declared, crossing.
        update = store.add_to_campaign("c", "s", std::vector<std::uint64_t>{4}, 0, 2, 60s, at(60'000));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, update.estimate);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, update.declared);
        CPPUNIT_ASSERT(!update.first_crossing);
        update = store.add_to_campaign("c", "s", std::vector<std::uint64_t>{5, 6}, 0, 2, 60s, at(61'000));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, update.estimate);
        CPPUNIT_ASSERT(update.first_crossing);
    }

    void campaign_keys_expire_with_the_window()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortCampaignExpiry);
        RedisStore store(store_options(kPortCampaignExpiry));
        Inspector redis(kPortCampaignExpiry);
        store.add_to_campaign("long", "s", std::vector<std::uint64_t>{1}, 0, 10, 3600s, at(0));
        // 30 minutes later the keys have what is left of the hour.
        store.add_to_campaign("long", "s", std::vector<std::uint64_t>{2}, 0, 10, 3600s, at(1'800'000));
        for (const char* key : {"test:campaign:long", "test:audience:long"}) {
            const long long ttl = redis.integer({"PTTL", key});
            CPPUNIT_ASSERT(ttl > 1'790'000 && ttl <= 1'800'000);
        }

        const SystemTime now = std::chrono::system_clock::now();
        store.add_to_campaign("short", "s", std::vector<std::uint64_t>{1}, 0, 10, 1s, now);
        CPPUNIT_ASSERT_EQUAL(2LL, redis.integer({"EXISTS", "test:campaign:short", "test:audience:short"}));
        std::this_thread::sleep_for(1200ms);
        CPPUNIT_ASSERT_EQUAL(0LL, redis.integer({"EXISTS", "test:campaign:short", "test:audience:short"}));
    }

    void view_and_reset()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortView);
        RedisStore store(store_options(kPortView));
        const RateLimit limit = limit_of(30);
        store.commit(reserved(store.reserve("sender:a", limit, at(0))), at(500));
        reserved(store.reserve("sender:a", limit, at(1'000)));
        reserved(store.reserve("client:2001:db8::/64", limit, at(1'000)));
        store.add_to_campaign("camp", "marketing", std::vector<std::uint64_t>{1, 2}, 40, 10, 24h, at(2'000));

        CounterView view = store.view(at(3'000));
        CPPUNIT_ASSERT_EQUAL(store.describe(), view.location);
        CPPUNIT_ASSERT_EQUAL(std::string("redis 127.0.0.1:") + std::to_string(kPortView) + " db 0 prefix test:",
                             view.location);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, view.rates.size());
        const RateEntryView* a = find_rate(view, "sender:a");
        CPPUNIT_ASSERT(a);
        CPPUNIT_ASSERT_EQUAL(2, a->in_window);
        CPPUNIT_ASSERT_EQUAL(1, a->pending);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, a->total);
        CPPUNIT_ASSERT(a->last_used == at(1'000));
        CPPUNIT_ASSERT(find_rate(view, "client:2001:db8::/64"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, view.campaigns.size());
        const CampaignEntryView* camp = find_campaign(view, "camp");
        CPPUNIT_ASSERT(camp);
        CPPUNIT_ASSERT_EQUAL(std::string("marketing"), camp->sender);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, camp->estimate);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{40}, camp->declared);
        CPPUNIT_ASSERT(camp->crossed);
        CPPUNIT_ASSERT(camp->first_seen == at(2'000));
        CPPUNIT_ASSERT(camp->last_seen == at(2'000));
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, view.rate_slots);

        // Entries left over from long ago are shown as the table shows them: not at all.
        view = store.view(at(200'000));
        CPPUNIT_ASSERT(view.rates.empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, view.campaigns.size());

        CPPUNIT_ASSERT(store.reset("sender:a"));
        CPPUNIT_ASSERT(store.reset("camp"));
        CPPUNIT_ASSERT(!store.reset("camp"));
        CPPUNIT_ASSERT(!store.reset("nobody"));
        view = store.view(at(3'000));
        CPPUNIT_ASSERT(!find_rate(view, "sender:a"));
        CPPUNIT_ASSERT(find_rate(view, "client:2001:db8::/64"));
        CPPUNIT_ASSERT(view.campaigns.empty());
        // Forgotten: the sender starts afresh.
        CPPUNIT_ASSERT_EQUAL(1, store.reserve("sender:a", limit, at(3'000)).in_window);

        // More keys than one SCAN batch.
        for (int i = 0; i < 1'200; ++i) store.reserve("many:" + std::to_string(i), limit, at(4'000));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1'202}, store.view(at(4'000)).rates.size());
    }

    void prefix_and_database_isolate_stores()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortIsolation);
        RedisStore a(store_options(kPortIsolation, "a:"));
        RedisStore b(store_options(kPortIsolation, "b:"));
        RedisStore a_db1(store_options(kPortIsolation, "a:", 1));
        const RateLimit one = limit_of(1);
        reserved(a.reserve("k", one, at(0)));
        reserved(b.reserve("k", one, at(0)));
        reserved(a_db1.reserve("k", one, at(0)));
        CPPUNIT_ASSERT(!a.reserve("k", one, at(0)).reservation);
        CPPUNIT_ASSERT(!a_db1.reserve("k", one, at(0)).reservation);
        a.add_to_campaign("c", "s", std::vector<std::uint64_t>{1, 2, 3}, 0, 10, 24h, at(0));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1},
                             b.add_to_campaign("c", "s", std::vector<std::uint64_t>{1}, 0, 10, 24h, at(0)).estimate);

        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, b.view(at(0)).rates.size());
        CPPUNIT_ASSERT(a_db1.view(at(0)).campaigns.empty());
        CPPUNIT_ASSERT(a_db1.reset("k"));
        CPPUNIT_ASSERT(!a.reserve("k", one, at(0)).reservation);
        // A prefix with glob characters matches only itself in view's SCAN.
        RedisStore glob(store_options(kPortIsolation, "[ab]*:"));
        reserved(glob.reserve("g", one, at(0)));
        const CounterView view = glob.view(at(0));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, view.rates.size());
        CPPUNIT_ASSERT(view.campaigns.empty());
    }

    void script_flush_is_recovered_transparently()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortNoscript);
        RedisStore store(store_options(kPortNoscript));
        Inspector redis(kPortNoscript);
        const RateLimit limit = limit_of(30);
        const RateReservation first = reserved(store.reserve("k", limit, at(0)));
        CPPUNIT_ASSERT_EQUAL(std::string("OK"), redis.status({"SCRIPT", "FLUSH"}));
        const RateDecision second = store.reserve("k", limit, at(0));
        CPPUNIT_ASSERT_EQUAL(2, second.in_window);
        redis.status({"SCRIPT", "FLUSH"});
        store.commit(first, at(0));
        redis.status({"SCRIPT", "FLUSH"});
        store.release(reserved(second), at(0));
        redis.status({"SCRIPT", "FLUSH"});
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1},
                             store.add_to_campaign("c", "s", std::vector<std::uint64_t>{1}, 0, 10, 24h, at(0)).estimate);
        const CounterView view = store.view(at(0));
        const RateEntryView* entry = find_rate(view, "k");
        CPPUNIT_ASSERT(entry);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, entry->total);
        CPPUNIT_ASSERT_EQUAL(1, entry->in_window);  // the first committed, the second released
        CPPUNIT_ASSERT_EQUAL(0, entry->pending);
    }

    // One seeded random sequence, replayed against both backends: every decision the same.
    void same_decisions_as_the_counter_table()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortDifferential);
        RedisStore redis(store_options(kPortDifferential));
        CounterTableOptions table_options;
        table_options.path.clear();  // a private anonymous table
        table_options.warn = [](const std::string&) {};
        const std::unique_ptr<CounterTable> table = CounterTable::open(table_options);

        std::mt19937_64 random(20240601);
        const auto uniform = [&](std::int64_t low, std::int64_t high) {
            return std::uniform_int_distribution<std::int64_t>(low, high)(random);
        };
        // Burst spans that divide evenly and ones that round up (7/3: 26 s, 45/4: 6 s).
        const std::vector<RateLimit> limits = {limit_of(30), limit_of(30, 5), limit_of(7, 3), limit_of(5),
                                               limit_of(1), limit_of(0), limit_of(60, 2), limit_of(45, 4)};
        const std::vector<std::string> keys = {"sender:a", "sender:b", "client:192.0.2.1"};
        std::vector<RateReservation> outstanding;
        std::int64_t ms = 0;
        int reserves = 0, refusals = 0, commits = 0, releases = 0;
        for (int step = 0; step < 4'000; ++step) {
            const std::int64_t move = uniform(0, 99);
            if (move < 60) ms += uniform(0, 1'500);
            else if (move < 80) ms += uniform(0, 20'000);
            else if (move < 86) ms += uniform(60'000, 130'000);
            else if (move < 92) ms -= uniform(1, 5'000);
            const SystemTime now = at(ms) + std::chrono::microseconds(uniform(0, 999));

            const std::int64_t operation = uniform(0, 99);
            if (operation < 55 || outstanding.empty()) {
                const std::string& key = keys[static_cast<std::size_t>(uniform(0, 2))];
                const RateLimit& limit = limits[static_cast<std::size_t>(uniform(0, 7))];
                const RateDecision expected = table->reserve(key, limit, now);
                const RateDecision actual = redis.reserve(key, limit, now);
                const std::string where = "step " + std::to_string(step) + " key " + key;
                CPPUNIT_ASSERT_EQUAL_MESSAGE(where, expected.reservation.has_value(), actual.reservation.has_value());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(where, expected.wait.count(), actual.wait.count());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(where, expected.in_window, actual.in_window);
                ++reserves;
                if (!expected.reservation) {
                    ++refusals;
                    continue;
                }
                CPPUNIT_ASSERT_EQUAL_MESSAGE(where, expected.reservation->second, actual.reservation->second);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(where, expected.reservation->key, actual.reservation->key);
                outstanding.push_back(*expected.reservation);
                continue;
            }
            const auto index = static_cast<std::size_t>(uniform(0, static_cast<std::int64_t>(outstanding.size()) - 1));
            const RateReservation reservation = outstanding[index];
            outstanding.erase(outstanding.begin() + static_cast<std::ptrdiff_t>(index));
            if (operation < 80) {
                table->commit(reservation, now);
                redis.commit(reservation, now);
                ++commits;
            } else {
                table->release(reservation, now);
                redis.release(reservation, now);
                ++releases;
            }
        }
        // The sequence reached every kind of step.
        CPPUNIT_ASSERT(refusals > 200 && reserves - refusals > 500 && commits > 200 && releases > 200);

        const SystemTime end = at(ms);
        const CounterView expected = table->view(end);
        const CounterView actual = redis.view(end);
        for (const std::string& key : keys) {
            const RateEntryView* want = find_rate(expected, key);
            const RateEntryView* got = find_rate(actual, key);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(key, want != nullptr, got != nullptr);
            if (!want) continue;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(key, want->in_window, got->in_window);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(key, want->pending, got->pending);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(key, want->total, got->total);
            CPPUNIT_ASSERT_MESSAGE(key, want->last_used == got->last_used);
        }
    }

    void server_clock_counts_in_the_servers_second()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortServerClock);
        RedisStoreOptions options = store_options(kPortServerClock);
        options.server_clock = true;
        RedisStore store(options);
        const SystemTime long_ago = SystemTime(std::chrono::seconds(1'000'000'000));
        const RateReservation reservation = reserved(store.reserve("k", limit_of(1), long_ago));
        const std::int64_t server_now = std::time(nullptr);
        CPPUNIT_ASSERT(reservation.second >= server_now - 2 && reservation.second <= server_now + 2);
        // The limit's wait is measured on the server's clock too: about a minute, not decades.
        const RateDecision refused = store.reserve("k", limit_of(1), long_ago);
        CPPUNIT_ASSERT(!refused.reservation);
        CPPUNIT_ASSERT(refused.wait > 57s && refused.wait <= 60s);
        store.commit(reservation, long_ago);
        const CounterView view = store.view(std::chrono::system_clock::now());
        const RateEntryView* entry = find_rate(view, "k");
        CPPUNIT_ASSERT(entry);
        CPPUNIT_ASSERT_EQUAL(1, entry->in_window);
        CPPUNIT_ASSERT_EQUAL(0, entry->pending);
        // The view judges the window by the server's clock too: a viewer whose own clock is an
        // hour off (or decades) still sees the message of the last minute.
        for (const SystemTime skewed : {std::chrono::system_clock::now() + 1h, long_ago}) {
            const CounterView skewed_view = store.view(skewed);
            const RateEntryView* seen = find_rate(skewed_view, "k");
            CPPUNIT_ASSERT(seen);
            CPPUNIT_ASSERT_EQUAL(1, seen->in_window);
        }
    }

    void server_away_throws_and_restart_recovers()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortRestart);
        RedisStore store(store_options(kPortRestart));
        const RateLimit limit = limit_of(30);
        const RateReservation reservation = reserved(store.reserve("k", limit, at(0)));
        server.stop();
        CPPUNIT_ASSERT_THROW(store.reserve("k", limit, at(0)), CounterError);
        CPPUNIT_ASSERT_THROW(store.commit(reservation, at(0)), CounterError);
        CPPUNIT_ASSERT_THROW(store.view(at(0)), CounterError);
        server.start();  // empty, its script cache too: the new connection loads the scripts
        std::optional<RateDecision> decision;
        for (int attempt = 0; attempt < 100 && !decision; ++attempt) {
            try {
                decision = store.reserve("k", limit, at(0));
            } catch (const CounterError&) {
                std::this_thread::sleep_for(10ms);  // the pool's backoff
            }
        }
        CPPUNIT_ASSERT(decision);
        CPPUNIT_ASSERT_EQUAL(1, decision->in_window);
    }

    void script_error_throws_without_an_outage()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortScriptError);
        RedisStoreOptions options = store_options(kPortScriptError);
        options.pool.min_backoff = 60s;  // an outage would fail the next call at once
        options.pool.max_backoff = 60s;
        RedisStore store(options);
        Inspector redis(kPortScriptError);
        redis.status({"SET", "test:rate:bad", "not a hash"});
        CPPUNIT_ASSERT_THROW(store.reserve("bad", limit_of(30), at(0)), CounterError);
        reserved(store.reserve("good", limit_of(30), at(0)));
    }

    // One connection, each command 150 ms, three reserves at once: the third waits 300 ms for
    // the connection, then still has the whole 400 ms for its command.
    void waiting_for_a_connection_leaves_the_command_its_whole_timeout()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortPoolWait);
        DelayingProxy proxy(kPortPoolWait);
        RedisStore store(one_connection_through(proxy, 400ms));
        reserved(store.reserve("k", limit_of(30), at(0)));  // loads the script without delay
        proxy.delay_ms = 150;
        for (const std::string& outcome : reserve_at_once(store, "k", 3)) CPPUNIT_ASSERT_EQUAL(std::string("ok"), outcome);
        proxy.delay_ms = 0;
        CPPUNIT_ASSERT_EQUAL(5, store.reserve("k", limit_of(30), at(0)).in_window);
    }

    // One connection, each command 150 ms, a 200 ms timeout: of three reserves at once one
    // cannot have the connection in time. That is CounterBusy, sends nothing and starts no
    // outage (the next call works at once despite the 60 s backoff).
    void no_free_connection_in_time_is_busy_not_an_outage()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortPoolBusy);
        DelayingProxy proxy(kPortPoolBusy);
        RedisStore store(one_connection_through(proxy, 200ms));
        reserved(store.reserve("k", limit_of(30), at(0)));
        proxy.delay_ms = 150;
        const std::vector<std::string> outcomes = reserve_at_once(store, "k", 3);
        proxy.delay_ms = 0;
        CPPUNIT_ASSERT_EQUAL(2L, std::count(outcomes.begin(), outcomes.end(), "ok"));
        CPPUNIT_ASSERT_EQUAL(1L, std::count(outcomes.begin(), outcomes.end(), "busy"));
        CPPUNIT_ASSERT_EQUAL(4, store.reserve("k", limit_of(30), at(0)).in_window);
    }

    // Redis closes connections idle for its `timeout`: the next call finds its pooled connection
    // closed before any reply, sends again on a new one, and counts once, with no outage (the
    // 60 s backoff would fail the call after it).
    void connection_closed_by_the_servers_idle_timeout_is_replaced()
    {
        if (!RedisServer::available()) return skip("redis-server not installed");
        RedisServer server(kPortIdleTimeout);
        RedisStoreOptions options = store_options(kPortIdleTimeout);
        options.pool.max_connections = 1;
        options.pool.min_backoff = 60s;
        options.pool.max_backoff = 60s;
        RedisStore store(options);
        reserved(store.reserve("k", limit_of(30), at(0)));
        Inspector(kPortIdleTimeout).status({"CONFIG", "SET", "timeout", "1"});  // that connection closes at once
        std::this_thread::sleep_for(2500ms);
        CPPUNIT_ASSERT_EQUAL(2, store.reserve("k", limit_of(30), at(0)).in_window);
        CPPUNIT_ASSERT_EQUAL(3, store.reserve("k", limit_of(30), at(0)).in_window);
    }

    // Redis at its client limit refuses a new connection with an error and closes it. The call
    // fails as in any outage (the 60 s backoff fails the next one at once, without connecting);
    // the closed connection is not pooled, where the next call would find it dead.
    void max_clients_reached_is_an_outage_and_the_connection_is_dropped()
    {
        FakeRedisServer server(fake_max_clients_reached);
        RedisStoreOptions options = store_options(server.port());
        options.pool.min_backoff = 60s;
        options.pool.max_backoff = 60s;
        RedisStore store(options);
        const auto error_of_reserve = [&] {
            try {
                store.reserve("k", limit_of(30), at(0));
            } catch (const CounterError& error) {
                return std::string(error.what());
            }
            return std::string("no error");
        };
        const std::string refused = error_of_reserve();
        CPPUNIT_ASSERT_MESSAGE(refused, refused.find("ERR max number of clients reached") != std::string::npos);
        const std::string next = error_of_reserve();
        CPPUNIT_ASSERT_MESSAGE(next, next.find("unavailable after a failure") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(1, server.connections());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RedisStoreTest);

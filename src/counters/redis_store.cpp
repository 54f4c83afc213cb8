// RedisStore (redis_store.h): each CounterStore call leases a pooled connection and runs one
// script (or, for view and reset, a few plain commands) within one deadline from the lease. A script is
// loaded the first time the store needs it; its SHA1, the same for every connection and server,
// is kept here. A connection failure reports the outage to the pool, so that the next calls
// fail at once until its backoff has passed; a bad reply or a script error on a working server
// only fails the call.
#include "counters/redis_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <mutex>
#include <optional>
#include <vector>

#include "counters/redis_scripts.h"
#include "counters/sliding_window.h"

namespace ecomm {

namespace {

constexpr std::int64_t kRateExpiryMs = 60'000;
constexpr std::string_view kScanCount = "500";

std::int64_t unix_ms(SystemTime time)
{
    return std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

SystemTime from_unix_ms(std::int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }

// A recipient's stable hash as its HyperLogLog element: 16 lower-case hex digits.
std::string hex16(std::uint64_t value)
{
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return std::string(text, 16);
}

// SCAN's MATCH is a glob: the prefix's own *, ?, [, ] and \ must match only themselves.
std::string glob_escape(std::string_view text)
{
    std::string out;
    for (const char c : text) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::string_view reply_text(const redisReply& reply) { return {reply.str ? reply.str : "", reply.len}; }

bool is_error(const redisReply& reply) { return reply.type == REDIS_REPLY_ERROR; }

// Error replies that say the server cannot serve anyone just now (not that this call was wrong):
// they start an outage, as a lost connection does.
bool means_unavailable(std::string_view error)
{
    for (const std::string_view code : {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "NOAUTH", "OOM", "CLUSTERDOWN"})
        if (error.starts_with(code)) return true;
    return false;
}

template <typename Integer>
std::optional<Integer> parse_integer(std::string_view text)
{
    Integer value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// A hash reply (HGETALL) as field -> value pairs.
std::vector<std::pair<std::string_view, std::string_view>> hash_fields(const redisReply& reply)
{
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    if (reply.type != REDIS_REPLY_ARRAY) return fields;
    for (std::size_t i = 0; i + 1 < reply.elements; i += 2)
        fields.emplace_back(reply_text(*reply.element[i]), reply_text(*reply.element[i + 1]));
    return fields;
}

// A rate hash back into the table's WindowCounts (for count_in_window and pending_in_window).
struct RateHash {
    WindowCounts window;
    std::uint64_t total = 0;
    std::int64_t last_used_ms = 0;
};

RateHash parse_rate_hash(const redisReply& reply)
{
    RateHash hash;
    const auto bucket_value = [](std::string_view text) {
        const auto value = parse_integer<std::int64_t>(text).value_or(0);
        return static_cast<std::uint16_t>(std::clamp<std::int64_t>(value, 0, std::numeric_limits<std::uint16_t>::max()));
    };
    for (const auto& [field, value] : hash_fields(reply)) {
        if (field == "newest") {
            hash.window.newest_second = parse_integer<std::int64_t>(value).value_or(0);
        } else if (field == "total") {
            hash.total = parse_integer<std::uint64_t>(value).value_or(0);
        } else if (field == "last_used") {
            hash.last_used_ms = parse_integer<std::int64_t>(value).value_or(0);
        } else if (field.size() >= 2 && (field[0] == 'c' || field[0] == 'p')) {
            const auto index = parse_integer<int>(field.substr(1));
            if (!index || *index < 0 || *index >= kWindowSeconds) continue;
            (field[0] == 'c' ? hash.window.counted : hash.window.pending)[*index] = bucket_value(value);
        }
    }
    return hash;
}

}  // namespace

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

struct RedisStore::State {
    RedisStoreOptions options;
    mutable std::mutex sha_mutex;  // guards shas
    std::array<std::string, kRedisScriptCount> shas;
    std::unique_ptr<RedisPool> pool;

    explicit State(RedisStoreOptions store_options)
        : options(std::move(store_options)), pool(std::make_unique<RedisPool>(options.pool))
    {
    }

    std::string describe() const { return pool->describe() + " prefix " + options.prefix; }

    std::string rate_key(std::string_view key) const { return options.prefix + "rate:" + std::string(key); }
    std::string campaign_key(std::string_view id) const { return options.prefix + "campaign:" + std::string(id); }
    // Its own name space, so that no campaign id can make one campaign's key another's audience.
    std::string audience_key(std::string_view id) const { return options.prefix + "audience:" + std::string(id); }

    // The scripts' clock argument: "" makes them read the server's TIME.
    std::string clock(SystemTime now) const { return options.server_clock ? std::string() : std::to_string(unix_ms(now)); }

    [[noreturn]] void fail(const std::string& what) const { throw CounterError(describe() + ": " + what); }

    // A new deadline for one plain command (view and reset, which no message waits for).
    Deadline per_command() const { return Clock::now() + options.pool.connect.timeout; }

    // The clock the counters were written in, in Unix milliseconds: with server_clock the
    // server's TIME, read as the scripts read it, else the caller's now.
    std::int64_t counters_now_ms(RedisConnection& connection, SystemTime now)
    {
        if (!options.server_clock) return unix_ms(now);
        const RedisReplyPtr reply = call(connection, {"TIME"}, per_command());
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) fail("unexpected reply to TIME");
        const auto seconds = parse_integer<std::int64_t>(reply_text(*reply->element[0]));
        const auto micros = parse_integer<std::int64_t>(reply_text(*reply->element[1]));
        if (!seconds || !micros) fail("unexpected reply to TIME");
        return *seconds * 1000 + *micros / 1000;
    }

    // One command. A server that says it cannot serve is an outage: reported to the pool and
    // thrown; other error replies are the caller's. A broken connection is leased()'s to report.
    RedisReplyPtr call(RedisConnection& connection, std::span<const std::string_view> arguments, Deadline deadline)
    {
        RedisReplyPtr reply = connection.command(arguments, deadline);
        if (!reply) {
            pool->report_failure();
            fail("no reply to " + std::string(arguments.front()));
        }
        if (is_error(*reply) && means_unavailable(reply_text(*reply))) {
            pool->report_failure();
            fail(std::string(arguments.front()) + ": " + std::string(reply_text(*reply)));
        }
        return reply;
    }

    RedisReplyPtr call(RedisConnection& connection, std::initializer_list<std::string_view> arguments, Deadline deadline)
    {
        return call(connection, std::span<const std::string_view>(arguments.begin(), arguments.size()), deadline);
    }

    // SCRIPT LOAD; remembers the SHA1 the server gives.
    std::string load_script(RedisConnection& connection, RedisScriptId id, Deadline deadline)
    {
        const RedisScript& script = redis_script(id);
        const std::array<std::string_view, 3> command{"SCRIPT", "LOAD", script.source};
        const RedisReplyPtr reply = call(connection, command, deadline);
        if (reply->type != REDIS_REPLY_STRING)
            fail("SCRIPT LOAD of the " + std::string(script.name) + " script failed: " + std::string(reply_text(*reply)));
        std::string sha(reply_text(*reply));
        const std::lock_guard guard(sha_mutex);
        shas[static_cast<std::size_t>(id)] = sha;
        return sha;
    }

    std::string sha_of(RedisScriptId id) const
    {
        const std::lock_guard guard(sha_mutex);
        return shas[static_cast<std::size_t>(id)];
    }

    // EVALSHA (the SHA1 learnt once per store with SCRIPT LOAD: it is the script's, not the
    // server's); a NOSCRIPT reply (the server restarted or flushed its scripts) runs the script
    // with EVAL, which caches it again. An error reply throws.
    RedisReplyPtr run_script(RedisConnection& connection, Deadline deadline, RedisScriptId id, std::size_t key_count,
                             std::span<const std::string_view> keys_and_arguments)
    {
        std::string sha = sha_of(id);
        if (sha.empty()) sha = load_script(connection, id, deadline);
        const std::string key_count_text = std::to_string(key_count);
        std::vector<std::string_view> command{"EVALSHA", sha, key_count_text};
        command.insert(command.end(), keys_and_arguments.begin(), keys_and_arguments.end());
        RedisReplyPtr reply = call(connection, command, deadline);
        if (is_error(*reply) && reply_text(*reply).starts_with("NOSCRIPT")) {
            // EVAL runs the script and caches it under the same SHA1: one round trip, not two.
            command[0] = "EVAL";
            command[1] = redis_script(id).source;
            reply = call(connection, command, deadline);
        }
        if (is_error(*reply))
            fail("the " + std::string(redis_script(id).name) + " script failed: " + std::string(reply_text(*reply)));
        return reply;
    }

    // Runs operation(RedisConnection&, Deadline) on a leased connection; only CounterError
    // leaves. The wait for a free connection and the commands each get the whole timeout: a
    // command sent late would be counted by Redis and still fail here.
    //
    // A broken connection (lost, timed out, a reply over kRedisMaxReplyBytes, or refused with
    // "max number of clients reached") is an outage, except once: an idle pooled connection that
    // the server had closed (its `timeout`, a restart) before the command got any reply is
    // retried on a new one. Not after a timeout or a partial reply: the script may have run.
    template <typename Operation>
    auto leased(Operation&& operation)
    {
        try {
            for (bool retried = false;; retried = true) {
                RedisPool::Lease lease = pool->lease(per_command());
                try {
                    return operation(*lease, per_command());
                } catch (const CounterError&) {
                    if (!lease->broken()) throw;  // an error reply: the server works
                    if (!retried && lease.reused() && lease->closed_before_reply()) {
                        pool->discard_idle();
                        continue;
                    }
                    pool->report_failure();
                    throw;
                }
            }
        } catch (const CounterError&) {
            throw;
        } catch (const std::exception& e) {
            fail(e.what());
        }
    }

    // Commits or releases a reservation: script is commit or release.
    void settle(const RateReservation& reservation, SystemTime now, RedisScriptId script)
    {
        const std::string key = rate_key(reservation.key);
        const std::string now_text = clock(now);
        const std::string second = std::to_string(reservation.second);
        const std::array<std::string_view, 3> arguments{key, now_text, second};
        leased([&](RedisConnection& connection, Deadline deadline) {
            run_script(connection, deadline, script, 1, arguments);
        });
    }

    std::int64_t integer_element(const redisReply& reply, std::size_t index, std::string_view script) const
    {
        if (reply.type != REDIS_REPLY_ARRAY || index >= reply.elements || reply.element[index]->type != REDIS_REPLY_INTEGER)
            fail("unexpected reply from the " + std::string(script) + " script");
        return reply.element[index]->integer;
    }
};

RedisStore::RedisStore(RedisStoreOptions options) : state_(std::make_unique<State>(std::move(options))) {}

RedisStore::~RedisStore() = default;

const RedisStoreOptions& RedisStore::options() const { return state_->options; }

std::string RedisStore::describe() const { return state_->describe(); }

RateDecision RedisStore::reserve(std::string_view key, const RateLimit& limit, SystemTime now)
{
    State& s = *state_;
    const std::string rate_key = s.rate_key(key);
    const std::string clock = s.clock(now);
    const std::string per_minute = std::to_string(limit.per_minute);
    const std::string burst = std::to_string(limit.burst);
    const std::array<std::string_view, 4> arguments{rate_key, clock, per_minute, burst};
    return s.leased([&](RedisConnection& connection, Deadline deadline) {
        const RedisReplyPtr reply = s.run_script(connection, deadline, RedisScriptId::reserve, 1, arguments);
        RateDecision decision;
        const bool reserved = s.integer_element(*reply, 0, "reserve") != 0;
        const std::int64_t second = s.integer_element(*reply, 1, "reserve");
        decision.wait = std::chrono::milliseconds(s.integer_element(*reply, 2, "reserve"));
        decision.in_window = static_cast<int>(s.integer_element(*reply, 3, "reserve"));
        if (reserved) decision.reservation = RateReservation{std::string(key), second, false};
        return decision;
    });
}

// A reservation whose entry has gone (expired or reset) has nothing left to change, as in the table.
void RedisStore::commit(const RateReservation& reservation, SystemTime now)
{
    state_->settle(reservation, now, RedisScriptId::commit);
}

void RedisStore::release(const RateReservation& reservation, SystemTime now)
{
    state_->settle(reservation, now, RedisScriptId::release);
}

CampaignUpdate RedisStore::add_to_campaign(std::string_view campaign, std::string_view sender,
                                           std::span<const std::uint64_t> recipients, std::uint64_t declared,
                                           std::uint64_t threshold, std::chrono::seconds window, SystemTime now)
{
    State& s = *state_;
    const std::string campaign_key = s.campaign_key(campaign);
    const std::string audience_key = s.audience_key(campaign);
    const std::string clock = s.clock(now);
    const std::string declared_text = std::to_string(declared);
    const std::string threshold_text = std::to_string(threshold);
    const std::string window_text = std::to_string(std::max<std::int64_t>(1, window.count()));
    std::vector<std::string> elements;
    elements.reserve(recipients.size());
    for (const std::uint64_t recipient : recipients) elements.push_back(hex16(recipient));

    std::vector<std::string_view> arguments{campaign_key, audience_key, clock,         std::string_view(sender),
                                            declared_text, threshold_text, window_text};
    arguments.insert(arguments.end(), elements.begin(), elements.end());
    return s.leased([&](RedisConnection& connection, Deadline deadline) {
        const RedisReplyPtr reply = s.run_script(connection, deadline, RedisScriptId::add_to_campaign, 2, arguments);
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || reply->element[1]->type != REDIS_REPLY_STRING)
            s.fail("unexpected reply from the add_to_campaign script");
        CampaignUpdate update;
        update.estimate = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.integer_element(*reply, 0, "add_to_campaign")));
        const auto stored_declared = parse_integer<std::uint64_t>(reply_text(*reply->element[1]));
        if (!stored_declared) s.fail("unexpected declared audience from the add_to_campaign script");
        update.declared = *stored_declared;
        update.first_crossing = s.integer_element(*reply, 2, "add_to_campaign") != 0;
        return update;
    });
}

CounterView RedisStore::view(SystemTime now)
{
    State& s = *state_;
    const std::string rate_prefix = s.rate_key("");
    const std::string campaign_prefix = s.campaign_key("");
    const std::string pattern = glob_escape(s.options.prefix) + "*";
    // A scan of the whole prefix may take longer than one timeout: each command gets its own.
    return s.leased([&](RedisConnection& connection, Deadline) {
        // Windows are judged in the clock that filled them, not this host's (which may be off).
        const std::int64_t now_ms = s.counters_now_ms(connection, now);
        const std::int64_t second = unix_second(from_unix_ms(now_ms));
        // Only hashes: the audiences (HyperLogLogs) are strings, read with their campaign.
        std::vector<std::string> keys;
        std::string cursor = "0";
        do {
            const RedisReplyPtr reply =
                s.call(connection, {"SCAN", cursor, "MATCH", pattern, "COUNT", kScanCount, "TYPE", "hash"}, s.per_command());
            if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[1]->type != REDIS_REPLY_ARRAY)
                s.fail("unexpected reply to SCAN: " + std::string(reply_text(*reply)));
            cursor = std::string(reply_text(*reply->element[0]));
            const redisReply& batch = *reply->element[1];
            for (std::size_t i = 0; i < batch.elements; ++i) keys.emplace_back(reply_text(*batch.element[i]));
        } while (cursor != "0");
        std::sort(keys.begin(), keys.end());  // SCAN may return a key twice
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

        CounterView view;
        view.location = s.describe();
        for (const std::string& key : keys) {
            const RedisReplyPtr reply = s.call(connection, {"HGETALL", key}, s.per_command());
            if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) continue;  // gone meanwhile
            if (key.starts_with(rate_prefix)) {
                const RateHash hash = parse_rate_hash(*reply);
                const int pending = pending_in_window(hash.window, second);
                if (now_ms - hash.last_used_ms > kRateExpiryMs && pending == 0) continue;  // as the table
                view.rates.push_back(RateEntryView{key.substr(rate_prefix.size()), count_in_window(hash.window, second),
                                                   pending, hash.total, from_unix_ms(hash.last_used_ms)});
            } else if (key.starts_with(campaign_prefix)) {
                CampaignEntryView entry;
                entry.key = key.substr(campaign_prefix.size());
                std::int64_t window_seconds = 0;
                for (const auto& [field, value] : hash_fields(*reply)) {
                    if (field == "sender") entry.sender = std::string(value);
                    else if (field == "declared") entry.declared = parse_integer<std::uint64_t>(value).value_or(0);
                    else if (field == "crossed") entry.crossed = value == "1";
                    else if (field == "first_seen") entry.first_seen = from_unix_ms(parse_integer<std::int64_t>(value).value_or(0));
                    else if (field == "last_seen") entry.last_seen = from_unix_ms(parse_integer<std::int64_t>(value).value_or(0));
                    else if (field == "window") window_seconds = parse_integer<std::int64_t>(value).value_or(0);
                }
                if (now_ms - unix_ms(entry.first_seen) >= window_seconds * 1000) continue;  // as the table
                const RedisReplyPtr count = s.call(connection, {"PFCOUNT", s.audience_key(entry.key)}, s.per_command());
                if (count->type == REDIS_REPLY_INTEGER) entry.estimate = static_cast<std::uint64_t>(std::max(0LL, count->integer));
                view.campaigns.push_back(std::move(entry));
            }
        }
        return view;
    });
}

bool RedisStore::reset(std::string_view key)
{
    State& s = *state_;
    const std::string rate_key = s.rate_key(key);
    const std::string campaign_key = s.campaign_key(key);
    const std::string audience_key = s.audience_key(key);
    return s.leased([&](RedisConnection& connection, Deadline deadline) {
        const RedisReplyPtr reply = s.call(connection, {"DEL", rate_key, campaign_key, audience_key}, deadline);
        if (reply->type != REDIS_REPLY_INTEGER) s.fail("DEL failed: " + std::string(reply_text(*reply)));
        return reply->integer > 0;
    });
}

}  // namespace ecomm

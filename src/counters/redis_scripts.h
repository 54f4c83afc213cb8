// The Lua scripts of the Redis counter backend (redis_store.h), each run atomically on the server.
// The rate scripts port sliding_window.cpp's arithmetic line for line, so that both backends give
// the same decisions; the rate hash holds WindowCounts field for field, a bucket's field present
// only while it is not zero (the hash stays small): "newest" (the newest second), "c0".."c59"
// (counted), "p0".."p59" (pending), "total" (committed messages) and "last_used" (ms).
//
// Every script's ARGV[1] is the clock: the caller's Unix time in milliseconds, or "" for the
// server's TIME (Redis 7 replicates a script's effects, not the script, so TIME is allowed).
// Numbers travel as decimal text; audiences and thresholds are compared as decimal text, so that
// any uint64 compares exactly (Lua's numbers are doubles).
//
//   reserve          KEYS rate-key; ARGV now, per_minute, burst
//                    -> {reserved 0/1, second, wait ms, in_window}
//   commit           KEYS rate-key; ARGV now, reserved second -> 1, or 0 when the entry is gone
//   release          KEYS rate-key; ARGV now, reserved second -> 1, or 0 when the entry is gone
//   add_to_campaign  KEYS campaign-key, audience-key (the HyperLogLog); ARGV now, sender, declared, threshold,
//                    window seconds (>= 1), recipients... (16 lower-case hex digits each)
//                    -> {estimate, declared (text), first_crossing 0/1}
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace ecomm {

enum class RedisScriptId { reserve, commit, release, add_to_campaign };
constexpr std::size_t kRedisScriptCount = 4;

struct RedisScript {
    RedisScriptId id;
    std::string_view name;
    std::string source;  // complete: the shared window functions, then the script's own body
};

const RedisScript& redis_script(RedisScriptId id);

}  // namespace ecomm

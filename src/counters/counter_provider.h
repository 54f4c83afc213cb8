// Which counter store a configuration gets: the daemon's shared file, or Redis with that file as
// its stand-in (backend = redis; kept across reloads while [counters] stays the same, so a reload
// never remaps the table or drops the Redis pool under messages in flight), or a private
// in-memory table for -t, where one message must not touch the live counters.
#pragma once
#include <memory>
#include <string>

#include "config/snapshot.h"
#include "counters/counter_store.h"
#include "counters/redis_store.h"

namespace ecomm {

// The store [counters] names; previous's when its [counters] settings are the same. Throws
// CounterError when the file cannot be opened or created. A Redis server that cannot be reached
// is no error here: the first calls find out, and the fallback applies.
std::shared_ptr<CounterStore> shared_counters(const MainConfig& config, const Snapshot* previous);

// The Redis store's settings from [counters] (the daemon and ecomm-milter-stats).
RedisStoreOptions redis_store_options(const MainConfig& config);

// For the start-up line: the file, or "redis:ADDRESS/dbN prefix=P fallback=FILE|on_error".
std::string counters_description(const MainConfig& config);

// A private table with config's geometry: nothing shared, nothing kept.
std::shared_ptr<CounterStore> private_counters(const MainConfig& config);

}  // namespace ecomm

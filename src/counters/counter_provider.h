// Which counter store a configuration gets: the daemon's shared file (kept across reloads while
// [counters] stays the same, so a reload never remaps the table under messages in flight), or a
// private in-memory table for -t, where one message must not touch the live counters.
#pragma once
#include <memory>

#include "config/snapshot.h"
#include "counters/counter_store.h"

namespace ecomm {

// The [counters] file of config; previous's store when its [counters] settings are the same.
// Throws CounterError when the file cannot be opened or created.
std::shared_ptr<CounterStore> shared_counters(const MainConfig& config, const Snapshot* previous);

// A private table with config's geometry: nothing shared, nothing kept.
std::shared_ptr<CounterStore> private_counters(const MainConfig& config);

}  // namespace ecomm

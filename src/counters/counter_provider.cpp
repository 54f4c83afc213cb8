// Counter stores for the daemon and for -t; see counter_provider.h.
#include "counters/counter_provider.h"

#include "counters/counter_table.h"

namespace ecomm {

namespace {

bool same_table(const MainConfig& a, const MainConfig& b)
{
    return a.counter_file == b.counter_file && a.counter_rate_slots == b.counter_rate_slots &&
           a.counter_campaign_slots == b.counter_campaign_slots;
}

CounterTableOptions table_options(const MainConfig& config, std::string path)
{
    CounterTableOptions options;
    options.path = std::move(path);
    options.rate_slots = static_cast<std::size_t>(config.counter_rate_slots);
    options.campaign_slots = static_cast<std::size_t>(config.counter_campaign_slots);
    return options;
}

}  // namespace

std::shared_ptr<CounterStore> shared_counters(const MainConfig& config, const Snapshot* previous)
{
    if (previous && previous->counters && same_table(previous->config, config)) return previous->counters;
    return CounterTable::open(table_options(config, config.counter_file));
}

std::shared_ptr<CounterStore> private_counters(const MainConfig& config)
{
    return CounterTable::open(table_options(config, ""));
}

}  // namespace ecomm

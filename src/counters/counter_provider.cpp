// Counter stores for the daemon and for -t; see counter_provider.h.
#include "counters/counter_provider.h"

#include "counters/counter_table.h"
#include "counters/fallback_store.h"
#include "counters/redis_store.h"

namespace ecomm {

namespace {

bool same_table(const MainConfig& a, const MainConfig& b)
{
    return a.counter_file == b.counter_file && a.counter_rate_slots == b.counter_rate_slots &&
           a.counter_campaign_slots == b.counter_campaign_slots;
}

bool same_redis(const MainConfig& a, const MainConfig& b)
{
    return a.redis_server == b.redis_server && a.redis_database == b.redis_database &&
           a.redis_prefix == b.redis_prefix && a.redis_user == b.redis_user &&
           a.redis_password == b.redis_password && a.redis_timeout_ms == b.redis_timeout_ms &&
           a.redis_connections == b.redis_connections && a.redis_fallback_to_table == b.redis_fallback_to_table;
}

CounterTableOptions table_options(const MainConfig& config, std::string path)
{
    CounterTableOptions options;
    options.path = std::move(path);
    options.rate_slots = static_cast<std::size_t>(config.counter_rate_slots);
    options.campaign_slots = static_cast<std::size_t>(config.counter_campaign_slots);
    return options;
}

// This host's table: previous's when its settings are the same (a FallbackStore's stand-in too).
std::shared_ptr<CounterStore> host_table(const MainConfig& config, const Snapshot* previous)
{
    if (previous && previous->counters && same_table(previous->config, config)) {
        if (previous->config.counter_backend == MainConfig::CounterBackend::table) return previous->counters;
        if (const auto* fallback = dynamic_cast<const FallbackStore*>(previous->counters.get());
            fallback && fallback->local())
            return fallback->local();
    }
    return CounterTable::open(table_options(config, config.counter_file));
}

std::shared_ptr<CounterStore> redis_with_fallback(const MainConfig& config, const Snapshot* previous)
{
    const bool previous_redis = previous && previous->counters &&
                                previous->config.counter_backend == MainConfig::CounterBackend::redis;
    if (previous_redis && same_redis(previous->config, config) &&
        (!config.redis_fallback_to_table || same_table(previous->config, config)))
        return previous->counters;

    auto shared = std::make_shared<RedisStore>(redis_store_options(config));
    std::shared_ptr<CounterStore> local;
    if (config.redis_fallback_to_table) local = host_table(config, previous);
    FallbackOptions options;
    options.count_locally = config.redis_fallback_to_table;
    options.shared_name = shared->describe();
    return std::make_shared<FallbackStore>(std::move(shared), std::move(local), std::move(options));
}

}  // namespace

RedisStoreOptions redis_store_options(const MainConfig& config)
{
    RedisStoreOptions options;
    RedisConnectOptions& connect = options.pool.connect;
    connect.address = parse_redis_address(config.redis_server).address;
    connect.user = config.redis_user;
    connect.password = config.redis_password;
    connect.database = config.redis_database;
    connect.timeout = std::chrono::milliseconds(config.redis_timeout_ms);
    options.pool.max_connections = config.redis_connections;
    options.prefix = config.redis_prefix;
    options.server_clock = true;
    return options;
}

std::shared_ptr<CounterStore> shared_counters(const MainConfig& config, const Snapshot* previous)
{
    if (config.counter_backend == MainConfig::CounterBackend::redis) return redis_with_fallback(config, previous);
    return host_table(config, previous);
}

std::string counters_description(const MainConfig& config)
{
    if (config.counter_backend == MainConfig::CounterBackend::table) return config.counter_file;
    return "redis:" + parse_redis_address(config.redis_server).address.to_string() + "/db" +
           std::to_string(config.redis_database) + " prefix=" + config.redis_prefix +
           " fallback=" + (config.redis_fallback_to_table ? config.counter_file : std::string("on_error"));
}

std::shared_ptr<CounterStore> private_counters(const MainConfig& config)
{
    return CounterTable::open(table_options(config, ""));
}

}  // namespace ecomm

// One immutable view of the configuration and registry. A reload builds a new snapshot and swaps
// it in atomically; each connection keeps the snapshot it started with.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "config/registry.h"

namespace ecomm {

class DnsResolver;
class DkimLibrary;
class CounterStore;
struct MimeOptions;

struct Snapshot {
    MainConfig config;
    Registry registry;
    std::uint64_t generation = 0;

    // Services built from the config, shared by every connection holding this snapshot; both
    // are safe to use from several threads. Null: SPF and DKIM are not evaluated.
    std::shared_ptr<DnsResolver> resolver;
    std::shared_ptr<const DkimLibrary> dkim;
    // The shared counters of the rate and bulk-hours rules. Null: those rules do not run (-n).
    std::shared_ptr<CounterStore> counters;
    // The MIME scanner's options from [body], built once rather than for every message. Null
    // (a snapshot built by hand): the session builds them from config.
    std::shared_ptr<const MimeOptions> mime_options;
};

// The body types and exempt types of [body] as the MIME scanner takes them.
std::shared_ptr<const MimeOptions> make_mime_options(const MainConfig& config);

// Opens (or reuses) the counter store a config asks for; may throw CounterError.
using CounterProvider = std::function<std::shared_ptr<CounterStore>(const MainConfig&)>;

// The resolver the config asks for: the static dns_file (diagnostics on bad lines; null then),
// else the system's resolver bounded by dns_timeout, behind a SharedDnsCache of dns_cache
// answers (none when dns_cache is 0).
std::shared_ptr<DnsResolver> make_resolver(const MainConfig& config, const std::string& dns_file,
                                           Diagnostics& diagnostics);

struct LoadResult {
    std::shared_ptr<const Snapshot> snapshot;  // null when diagnostics hold an error
    Diagnostics diagnostics;
};

// Loads the main config, then the registry it names (relative to the config's directory).
// Builds the DNS resolver and DKIM library, and the counters when a provider is given. Never
// returns a half-loaded snapshot.
LoadResult load_snapshot(const std::string& config_path, std::uint64_t generation = 1,
                         const CounterProvider& counters = nullptr);

class SnapshotHolder {
public:
    std::shared_ptr<const Snapshot> current() const { return current_.load(); }
    void replace(std::shared_ptr<const Snapshot> next) { current_.store(std::move(next)); }

private:
    std::atomic<std::shared_ptr<const Snapshot>> current_;
};

}  // namespace ecomm

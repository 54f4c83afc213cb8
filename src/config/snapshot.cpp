// Builds one immutable configuration snapshot: the main config, then the registry it names.
// Any error anywhere means no snapshot at all, so a reload with a broken file keeps the old one.
#include "config/snapshot.h"

#include "auth/dkim.h"
#include "counters/counter_store.h"
#include "dns/shared_dns_cache.h"
#include "dns/static_resolver.h"
#include "dns/system_resolver.h"
#include "mime/scanner.h"

namespace ecomm {

// The shared cache is part of the snapshot: a reload starts with an empty one (and drops the
// old one with the last message using it), so a changed resolv.conf or dns_cache takes effect
// at once. The static test zone is never cached: its answers carry no TTL.
std::shared_ptr<DnsResolver> make_resolver(const MainConfig& config, const std::string& dns_file,
                                           Diagnostics& diagnostics)
{
    if (dns_file.empty()) {
        auto system = std::make_shared<SystemResolver>(std::chrono::seconds(config.dns_timeout_seconds));
        if (config.dns_cache_entries <= 0) return system;
        return std::make_shared<SharedDnsCache>(std::move(system),
                                                static_cast<std::size_t>(config.dns_cache_entries));
    }
    Diagnostics found;
    auto resolver = std::make_shared<StaticResolver>(StaticResolver::from_file(dns_file, found));
    const bool failed = has_errors(found);
    diagnostics.insert(diagnostics.end(), found.begin(), found.end());
    return failed ? nullptr : resolver;
}

namespace {

std::shared_ptr<const DkimLibrary> make_dkim_library(const MainConfig& config)
{
    DkimOptions options;
    options.dns_timeout = std::chrono::seconds(config.dns_timeout_seconds);
    options.max_signatures = config.dkim_max_signatures;
    options.min_key_bits = config.dkim_min_key_bits;
    options.accept_rsa_sha1 = config.dkim_accept_rsa_sha1;
    return DkimLibrary::create(options);
}

}  // namespace

std::shared_ptr<const MimeOptions> make_mime_options(const MainConfig& config)
{
    auto options = std::make_shared<MimeOptions>();
    options->body_types = config.body_types;
    options->exempt_types = config.exempt_types;
    return options;
}

LoadResult load_snapshot(const std::string& config_path, std::uint64_t generation,
                         const CounterProvider& counters)
{
    LoadResult result;
    int counter_line = 0;
    try {
        auto snapshot = std::make_shared<Snapshot>();
        snapshot->generation = generation;
        snapshot->config = load_main_config(config_path, result.diagnostics);
        // The registry's path comes from the config: without a valid config there is none to read.
        if (has_errors(result.diagnostics)) return result;
        snapshot->registry = load_registry(snapshot->config.registry_file, result.diagnostics);
        if (has_errors(result.diagnostics)) return result;
        snapshot->resolver = make_resolver(snapshot->config, snapshot->config.dns_file, result.diagnostics);
        if (has_errors(result.diagnostics)) return result;
        snapshot->dkim = make_dkim_library(snapshot->config);
        snapshot->mime_options = make_mime_options(snapshot->config);
        counter_line = snapshot->config.counter_file_line;
        if (counters) snapshot->counters = counters(snapshot->config);
        result.snapshot = std::move(snapshot);
    } catch (const CounterError& error) {
        result.snapshot.reset();
        result.diagnostics.push_back(Diagnostic{Diagnostic::Severity::error, config_path, counter_line, error.what()});
    } catch (const std::exception& exception) {
        result.snapshot.reset();
        result.diagnostics.push_back(Diagnostic{Diagnostic::Severity::error, config_path, 0,
                                                std::string("internal error: ") + exception.what()});
    }
    return result;
}

}  // namespace ecomm

// Builds one immutable configuration snapshot: the main config, then the registry it names.
// Any error anywhere means no snapshot at all, so a reload with a broken file keeps the old one.
#include "config/snapshot.h"

namespace ecomm {

LoadResult load_snapshot(const std::string& config_path, std::uint64_t generation)
{
    LoadResult result;
    try {
        auto snapshot = std::make_shared<Snapshot>();
        snapshot->generation = generation;
        snapshot->config = load_main_config(config_path, result.diagnostics);
        // The registry's path comes from the config: without a valid config there is none to read.
        if (has_errors(result.diagnostics)) return result;
        snapshot->registry = load_registry(snapshot->config.registry_file, result.diagnostics);
        if (has_errors(result.diagnostics)) return result;
        result.snapshot = std::move(snapshot);
    } catch (const std::exception& exception) {
        result.snapshot.reset();
        result.diagnostics.push_back(Diagnostic{Diagnostic::Severity::error, config_path, 0,
                                                std::string("internal error: ") + exception.what()});
    }
    return result;
}

}  // namespace ecomm

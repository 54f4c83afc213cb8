// Running as a daemon: listen on the configured socket, give it the configured owner and mode,
// drop root, detach, write the pid file, reload on SIGUSR1 and stop cleanly on SIGTERM.
//
// Order matters: the socket is opened while still root (and before detaching, so that a socket
// error reaches the admin's terminal and the exit status); the pid file is written after the
// fork (so it holds the daemon's pid) and before dropping root (its directory is usually root's);
// SIGUSR1, SIGTERM, SIGHUP and SIGINT are blocked before smfi_main() starts any thread, so that
// only the reload thread and libmilter's signal thread (SIGTERM/SIGHUP/SIGINT: stop) get them.
// Every failure is logged (syslog, and stderr with -f) and makes run_milter return non-zero.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/snapshot.h"

namespace ecomm {

struct DaemonOptions {
    std::string config_path;            // absolute, so reloads still find it after chdir("/")
    bool foreground = false;            // -f: do not detach
    std::optional<std::string> socket;  // -p: overrides the config's socket
};

// What -n can check of the settings the daemon uses only as it starts: a unix socket's folder
// exists (the socket of -p instead of the file's when given), the user and socket group exist
// and the pid file's folder does. Each problem as its [milter] key (empty for -p's socket) and
// what is wrong.
struct StartupProblem {
    std::string key;
    std::string text;
    // A folder a service manager may create as it starts the daemon (the systemd unit's
    // RuntimeDirectory=, /run/ecomm-milter): only a warning for -n, run by hand while the
    // service is stopped; the daemon refuses to start without it.
    bool runtime_folder = false;
};
std::vector<StartupProblem> startup_problems(const MainConfig& config,
                                             const std::optional<std::string>& socket_override = std::nullopt);

// Blocks SIGUSR1 in the calling thread, and so in every thread it starts: called first thing,
// before the configuration is loaded, a reload asked for while the daemon starts (systemd's
// ExecReload right after start) waits for the reload thread instead of killing the process.
void hold_reload_signal();

// holder must hold the first snapshot (generation 1). Serves until libmilter is told to stop and
// returns the process exit status (0 after a clean stop).
int run_milter(SnapshotHolder& holder, const DaemonOptions& options);

}  // namespace ecomm

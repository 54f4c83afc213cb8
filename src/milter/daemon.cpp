// Daemon startup, reload and shutdown around smfi_main(); see daemon.h for the order of steps.
#include "milter/daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "counters/counter_provider.h"
#include "config.h"  // PACKAGE_VERSION (autoconf)
#include "core/logger.h"
#include "milter/glue.h"
#include "milter/listener_options.h"
#include "milter/service_notify.h"
#include "milter/socket_spec.h"

namespace ecomm {

namespace {

// Longer than any MTA lets a client idle between commands (Postfix smtpd_timeout 300 s, Sendmail
// Timeout.command 1 h), so the milter never drops a connection its MTA still holds; a dead MTA
// closes the socket, which libmilter sees at once.
constexpr int kMilterTimeoutSeconds = 3600;

std::string errno_text() { return std::strerror(errno); }

// A failure that stops the start: logged, and the exit status says so.
int startup_failure(const std::string& why)
{
    log::error(why);
    return 1;
}

struct Account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Room for one passwd or group entry; large groups can exceed the suggested size.
std::vector<char> lookup_buffer(int sysconf_name)
{
    const long suggested = sysconf(sysconf_name);
    const std::size_t size = suggested > 0 ? static_cast<std::size_t>(suggested) : 0;
    return std::vector<char>(std::max<std::size_t>(size, 65536));
}

std::optional<Account> lookup_user(const std::string& name)
{
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer = lookup_buffer(_SC_GETPW_R_SIZE_MAX);
    if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return Account{name, entry.pw_uid, entry.pw_gid};
}

std::optional<gid_t> lookup_group(const std::string& name)
{
    group entry{};
    group* found = nullptr;
    std::vector<char> buffer = lookup_buffer(_SC_GETGR_R_SIZE_MAX);
    if (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return entry.gr_gid;
}

// The registry file as the loader reads it: relative names are relative to the config's directory.
std::string registry_path(const MainConfig& config)
{
    const std::filesystem::path registry(config.registry_file);
    if (registry.is_absolute()) return registry.string();
    return (std::filesystem::path(config.path).parent_path() / registry).string();
}

// Gives the unix socket its configured owner, group and mode. The owner is the user the daemon
// becomes, so that libmilter, running as that user, can remove the socket at exit.
std::string secure_unix_socket(const std::string& path, const MainConfig& config,
                               const std::optional<Account>& user, const std::optional<gid_t>& group)
{
    const uid_t owner = user && geteuid() == 0 ? user->uid : static_cast<uid_t>(-1);
    const gid_t owner_group = group ? *group : static_cast<gid_t>(-1);
    if ((owner != static_cast<uid_t>(-1) || owner_group != static_cast<gid_t>(-1)) &&
        ::chown(path.c_str(), owner, owner_group) != 0)
        return "cannot give " + path + " to " + (user ? user->name : "its owner") +
               (group ? ":" + config.socket_group : "") + ": " + errno_text();
    if (::chmod(path.c_str(), static_cast<mode_t>(config.socket_mode)) != 0)
        return "cannot set the mode of " + path + ": " + errno_text();
    return {};
}

// Removes the unix socket at exit when it is still the one this process created. libmilter only
// does so when not running as root; a leftover would otherwise be cleared as stale at next start.
class UnixSocketRemover {
public:
    explicit UnixSocketRemover(std::string path) : path_(std::move(path))
    {
        struct stat info {};
        if (::stat(path_.c_str(), &info) == 0) {
            device_ = info.st_dev;
            inode_ = info.st_ino;
            known_ = true;
        }
    }
    ~UnixSocketRemover()
    {
        struct stat info {};
        if (known_ && ::stat(path_.c_str(), &info) == 0 && S_ISSOCK(info.st_mode) && info.st_dev == device_ &&
            info.st_ino == inode_)
            ::unlink(path_.c_str());
    }
    UnixSocketRemover(const UnixSocketRemover&) = delete;
    UnixSocketRemover& operator=(const UnixSocketRemover&) = delete;

private:
    std::string path_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
    bool known_ = false;
};

// Writes the daemon's pid at construction and removes the file at destruction (when the
// directory lets the possibly unprivileged process do so).
class PidFile {
public:
    explicit PidFile(std::string path) : path_(std::move(path)) {}
    ~PidFile()
    {
        if (written_ && ::unlink(path_.c_str()) != 0 && errno != ENOENT)
            log::warning("cannot remove pid file " + path_ + ": " + errno_text());
    }
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

    // Returns an error message, or an empty string on success (or when no pid file is configured).
    std::string write()
    {
        if (path_.empty()) return {};
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) return "cannot write pid file " + path_ + ": " + errno_text();
        const std::string text = std::to_string(::getpid()) + "\n";
        const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        const int saved = errno;
        ::close(fd);
        if (!ok) {
            ::unlink(path_.c_str());
            return "cannot write pid file " + path_ + ": " + std::strerror(saved);
        }
        written_ = true;
        return {};
    }

private:
    std::string path_;
    bool written_ = false;
};

// Detaches from the terminal. The parent waits until the child reports that startup finished
// (or failed, or died), and exits with that status, so init scripts see real failures.
class Detacher {
public:
    Detacher() = default;
    ~Detacher()
    {
        if (ready_fd_ >= 0) ::close(ready_fd_);  // a child failing: the parent reads EOF
    }
    Detacher(const Detacher&) = delete;
    Detacher& operator=(const Detacher&) = delete;

    // Returns in the child only; an error message, or empty on success.
    std::string detach()
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return "cannot create a pipe: " + errno_text();
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) {
            ::close(fds[0]);
            ::close(fds[1]);
            return "cannot fork: " + errno_text();
        }
        if (pid > 0) wait_for_child(fds[0], fds[1]);  // does not return
        ::close(fds[0]);
        ready_fd_ = fds[1];
        if (::setsid() < 0) return "cannot start a new session: " + errno_text();
        if (::chdir("/") != 0) return "cannot change directory to /: " + errno_text();
        return {};
    }

    // Lets go of the terminal and releases the waiting parent with status 0.
    void ready()
    {
        if (ready_fd_ < 0) return;
        const int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
            if (null > 2) ::close(null);
        }
        const char ok = 0;
        [[maybe_unused]] const ssize_t written = ::write(ready_fd_, &ok, 1);
        ::close(ready_fd_);
        ready_fd_ = -1;
    }

private:
    [[noreturn]] static void wait_for_child(int read_end, int write_end)
    {
        ::close(write_end);
        char status = 1;
        ssize_t got = 0;
        do {
            got = ::read(read_end, &status, 1);
        } while (got < 0 && errno == EINTR);
        if (got == 1 && status == 0) ::_exit(0);
        std::fputs("ecomm-milter: startup failed; see the mail log\n", stderr);
        ::_exit(1);
    }

    int ready_fd_ = -1;
};

// Becomes config.user when started as root. Refuses to go on half-dropped.
std::string drop_privileges(const std::optional<Account>& user)
{
    if (!user) {
        if (geteuid() == 0) log::warning("running as root: set user in [milter] to drop privileges");
        return {};
    }
    if (geteuid() != 0) {
        if (geteuid() != user->uid)
            log::warning("not started as root: staying uid " + std::to_string(geteuid()) +
                         " instead of user " + user->name);
        return {};
    }
    if (::initgroups(user->name.c_str(), user->gid) != 0)
        return "initgroups(" + user->name + "): " + errno_text();
    if (::setgid(user->gid) != 0) return "setgid(" + std::to_string(user->gid) + "): " + errno_text();
    if (::setuid(user->uid) != 0) return "setuid(" + std::to_string(user->uid) + "): " + errno_text();
    if (user->uid != 0 && (::setuid(0) == 0 || geteuid() != user->uid))
        return "could not give up root privileges";
    return {};
}

// Blocked in every thread (threads inherit the mask): SIGUSR1 for the reload thread, the stop
// signals for libmilter's own signal thread. SIGPIPE: a vanished MTA is an error return instead.
void block_signals()
{
    sigset_t set;
    sigemptyset(&set);
    for (const int signal_number : {SIGUSR1, SIGTERM, SIGHUP, SIGINT}) sigaddset(&set, signal_number);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

// Settings that are read once at startup: a reload that changes them says a restart is needed.
void warn_restart_only_changes(const MainConfig& before, const MainConfig& after)
{
    std::string changed;
    const auto note = [&changed](bool differs, const char* key) {
        if (differs) changed += (changed.empty() ? "" : ", ") + std::string(key);
    };
    note(before.socket != after.socket, "socket");
    note(before.socket_mode != after.socket_mode, "socket_mode");
    note(before.socket_group != after.socket_group, "socket_group");
    note(before.user != after.user, "user");
    note(before.pid_file != after.pid_file, "pid_file");
    note(before.no_reply != after.no_reply, "no_reply");
    if (!changed.empty()) log::warning("changes to " + changed + " take effect at the next restart");
}

// Waits for SIGUSR1 and swaps in a freshly loaded snapshot; a failed load keeps the old one.
class ReloadThread {
public:
    ReloadThread(SnapshotHolder& holder, std::string config_path)
        : holder_(holder), config_path_(std::move(config_path)), thread_([this] { run(); })
    {
    }
    ~ReloadThread()
    {
        stopping_ = true;
        pthread_kill(thread_.native_handle(), SIGUSR1);  // wakes sigwait()
        thread_.join();
    }
    ReloadThread(const ReloadThread&) = delete;
    ReloadThread& operator=(const ReloadThread&) = delete;

private:
    void run()
    {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        while (!stopping_) {
            int signal_number = 0;
            if (sigwait(&set, &signal_number) != 0 || stopping_) continue;
            reload();
        }
    }

    void reload() noexcept
    {
        const auto current = holder_.current();
        const std::uint64_t generation = current ? current->generation : 0;
        try {
            log::info("SIGUSR1: reloading configuration from " + config_path_);
            // Counters carry over: same file, same mapping, unless [counters] changed.
            LoadResult result = load_snapshot(config_path_, generation + 1, [&current](const MainConfig& config) {
                return shared_counters(config, current.get());
            });
            for (const Diagnostic& diagnostic : result.diagnostics) {
                if (diagnostic.severity == Diagnostic::Severity::warning)
                    log::warning(diagnostic.to_string());
                else
                    log::error(diagnostic.to_string());
            }
            if (!result.snapshot) {
                log::error("reload failed, keeping generation " + std::to_string(generation));
                return;
            }
            if (current) warn_restart_only_changes(current->config, result.snapshot->config);
            const std::size_t entries = result.snapshot->registry.entries.size();
            holder_.replace(result.snapshot);
            log::notice("reloaded configuration generation " + std::to_string(generation + 1) + " (" +
                        std::to_string(entries) + " registry entries)");
        } catch (const std::exception& e) {
            log::error(std::string("reload failed (") + e.what() + "), keeping generation " +
                       std::to_string(generation));
        } catch (...) {
            log::error("reload failed, keeping generation " + std::to_string(generation));
        }
    }

    SnapshotHolder& holder_;
    std::string config_path_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;  // last: starts after the members it uses exist
};

// The user to become and the socket's group, looked up before anything changes on disk (the
// daemon's main() has said FILE:LINE for any that does not exist: startup_problems()).
struct Identities {
    std::optional<Account> user;
    std::optional<gid_t> socket_group;

    std::string look_up(const MainConfig& config)
    {
        if (!config.user.empty() && !(user = lookup_user(config.user))) return "cannot look up user " + config.user;
        if (!config.socket_group.empty() && !(socket_group = lookup_group(config.socket_group)))
            return "cannot look up group " + config.socket_group;
        return {};
    }
};

// A problem with a [milter] key, as -n prints it: FILE:LINE: text.
std::string where(const MainConfig& config, const std::string& key, const std::string& text)
{
    return Diagnostic{Diagnostic::Severity::error, config.path, config.line_of("milter", key), text}.to_string();
}

// Registers the callbacks and opens the listening socket while still root: a unix socket gets
// its owner and mode (and a remover for exit), an inet one TCP_NODELAY (listener_options.h).
std::string open_listener(SnapshotHolder& holder, const SocketSpec& spec, const MainConfig& config,
                          const Identities& identities, std::optional<UnixSocketRemover>& remover)
{
    if (spec.is_unix()) {
        const StaleSocketCheck check = clear_stale_unix_socket(spec.path);
        if (!check.ok) return check.error;
        if (check.removed) log::notice("removed stale socket " + spec.path);
    }
    if (!register_milter(holder, quiet_stages(config.no_reply, spec.is_unix()))) return "smfi_register failed";
    std::string connection = spec.to_libmilter();
    if (smfi_setconn(connection.data()) != MI_SUCCESS) return "smfi_setconn(" + connection + ") failed";
    smfi_settimeout(kMilterTimeoutSeconds);
    if (smfi_opensocket(false) != MI_SUCCESS)
        return "cannot listen on " + connection + " (see libmilter's message above)";

    if (spec.is_unix()) {
        remover.emplace(spec.path);
        return secure_unix_socket(spec.path, config, identities.user, identities.socket_group);
    }
    if (set_nodelay_on_inet_listeners().nodelay_set == 0)
        log::warning("could not set TCP_NODELAY on " + connection + ": replies may wait for delayed ACKs");
    return {};
}

std::string starting_line(const Snapshot& snapshot, const SocketSpec& spec)
{
    const MainConfig& config = snapshot.config;
    return std::string("ecomm-milter ") + PACKAGE_VERSION + " starting: config=" + config.path + " socket=" + spec.to_libmilter() +
           " mode=" + (config.monitor ? "monitor" : "enforce") + " registry=" + registry_path(config) + " (" +
           std::to_string(snapshot.registry.entries.size()) + " entries) counters=" + counters_description(config) +
           " on_error=" + std::string(to_string(config.on_error)) + " generation=" + std::to_string(snapshot.generation);
}

// A unix socket's folder must exist: libmilter finds out only as it binds, after the counter
// table is open, and its message names no FILE:LINE. A socket given with -p is no key of the
// file (an empty key: no line), and a spec that does not parse is reported on its own.
std::optional<StartupProblem> socket_folder_problem(const MainConfig& config,
                                                    const std::optional<std::string>& socket_override)
{
    const SocketSpecResult parsed = parse_socket_spec(socket_override.value_or(config.socket));
    if (!parsed.spec || !parsed.spec->is_unix()) return std::nullopt;
    const auto folder = std::filesystem::path(parsed.spec->path).parent_path();
    if (std::error_code error; std::filesystem::is_directory(folder, error)) return std::nullopt;
    // The wording of clear_stale_unix_socket(), which still catches a folder removed since.
    return StartupProblem{socket_override ? "" : "socket", "the socket directory " + folder.string() + " does not exist",
                          true};
}

}  // namespace

std::vector<StartupProblem> startup_problems(const MainConfig& config, const std::optional<std::string>& socket_override)
{
    std::vector<StartupProblem> problems;
    if (auto problem = socket_folder_problem(config, socket_override)) problems.push_back(std::move(*problem));
    if (!config.user.empty() && !lookup_user(config.user))
        problems.push_back({"user", "unknown user \"" + config.user + "\""});
    if (!config.socket_group.empty() && !lookup_group(config.socket_group))
        problems.push_back({"socket_group", "unknown group \"" + config.socket_group + "\""});
    if (!config.pid_file.empty()) {
        const auto folder = std::filesystem::path(config.pid_file).parent_path();
        if (std::error_code error; !std::filesystem::is_directory(folder, error))
            problems.push_back({"pid_file", "the pid file's folder " + folder.string() + " does not exist"});
    }
    return problems;
}

void hold_reload_signal()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_milter(SnapshotHolder& holder, const DaemonOptions& options)
{
    const auto snapshot = holder.current();
    if (!snapshot) return startup_failure("no configuration loaded");
    const MainConfig& config = snapshot->config;

    const SocketSpecResult parsed = parse_socket_spec(options.socket.value_or(config.socket));
    if (!parsed.spec) return startup_failure(options.socket ? parsed.error : where(config, "socket", parsed.error));
    const SocketSpec& spec = *parsed.spec;

    Identities identities;
    if (std::string error = identities.look_up(config); !error.empty()) return startup_failure(error);
    std::optional<UnixSocketRemover> socket_remover;
    if (std::string error = open_listener(holder, spec, config, identities, socket_remover); !error.empty())
        return startup_failure(error);

    Detacher detacher;
    if (!options.foreground)
        if (std::string error = detacher.detach(); !error.empty()) return startup_failure(error);

    PidFile pid_file(config.pid_file);
    if (std::string error = pid_file.write(); !error.empty()) return startup_failure(error);
    if (std::string error = drop_privileges(identities.user); !error.empty()) return startup_failure(error);

    block_signals();  // before any thread exists, so every thread inherits the mask
    const ReloadThread reloader(holder, options.config_path);

    log::notice(starting_line(*snapshot, spec));
    if (!options.foreground) {
        detacher.ready();
        log::open(false);  // stderr is /dev/null now: syslog only
    }
    // Type=notify: systemd counts the service started (so starts the MTA ordered after it, and
    // allows a reload) only now that the socket listens and SIGUSR1 is handled.
    notify_service_manager("READY=1");
    const int status = smfi_main();
    notify_service_manager("STOPPING=1");
    if (status != MI_SUCCESS) return startup_failure("ecomm-milter stopping after a libmilter failure");
    log::notice("ecomm-milter stopping");
    return 0;
}

}  // namespace ecomm

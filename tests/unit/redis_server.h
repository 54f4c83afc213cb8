// Test helper: a real redis-server of the test's own, on 127.0.0.1 and a given port (and/or a
// unix socket), in a private temp dir, with no persistence. Started with fork/exec (no shell),
// ready once it answers PING, stopped at scope exit (SIGTERM, then SIGKILL after 2 s). stop() and
// start() restart it on the same port; pause()/resume() (SIGSTOP/SIGCONT) make a server that
// accepts TCP connections but never answers, i.e. a "slow Redis". Tests first check available()
// and call ecomm::test::skip() when redis-server is not installed.
//
// FakeRedisServer: a loopback listener for what a real server will not do on demand (refuse a
// client at its limit, send a reply without end); it needs no redis-server.
#pragma once
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "temp_files.h"
#include "util/file_descriptor.h"

namespace ecomm::test {

struct RedisServerOptions {
    std::string password;       // set: --requirepass
    std::string acl_user;       // set: an ACL user with acl_password and every permission
    std::string acl_password;
    bool unix_socket = false;   // also listen on socket_path() (with port 0: only there)
    std::vector<std::string> extra_arguments;  // more "--name value" arguments
};

class RedisServer {
public:
    // Where redis-server is, or empty.
    static std::string executable()
    {
        for (const char* dir : {"/usr/bin", "/usr/sbin", "/usr/local/bin"}) {
            const std::string candidate = std::string(dir) + "/redis-server";
            if (access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        if (const char* path = std::getenv("PATH")) {
            std::stringstream dirs(path);
            std::string dir;
            while (std::getline(dirs, dir, ':')) {
                if (dir.empty()) continue;
                const std::string candidate = dir + "/redis-server";
                if (access(candidate.c_str(), X_OK) == 0) return candidate;
            }
        }
        return {};
    }
    static bool available() { return !executable().empty(); }

    // Starts the server and waits (at most 5 s) until it answers; throws std::runtime_error
    // with the server's log when it does not. port 0 needs options.unix_socket.
    explicit RedisServer(int port, RedisServerOptions options = {}) : port_(port), options_(std::move(options))
    {
        // hiredis writes with write(): a server that goes away must not kill the test runner.
        signal(SIGPIPE, SIG_IGN);
        start();
    }
    ~RedisServer() { stop(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const { return port_; }
    std::string socket_path() const { return dir_.path("redis.sock"); }
    std::string directory() const { return dir_.path(); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    bool running() const { return pid_ > 0; }

    void start()
    {
        if (pid_ > 0) return;
        const std::string program = executable();
        if (program.empty()) throw std::runtime_error("redis-server not installed");
        std::vector<std::string> arguments = {program,
            "--port", std::to_string(port_),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", dir_.path(),
            "--logfile", "",  // stdout, which goes to log_path()
        };
        if (options_.unix_socket) {
            arguments.insert(arguments.end(), {"--unixsocket", socket_path(), "--unixsocketperm", "700"});
        }
        if (!options_.password.empty()) arguments.insert(arguments.end(), {"--requirepass", options_.password});
        if (!options_.acl_user.empty()) {
            arguments.insert(arguments.end(),
                {"--user", options_.acl_user, "on", ">" + options_.acl_password, "~*", "&*", "+@all"});
        }
        arguments.insert(arguments.end(), options_.extra_arguments.begin(), options_.extra_arguments.end());

        std::vector<char*> argv;
        for (auto& argument : arguments) argv.push_back(argument.data());
        argv.push_back(nullptr);
        const std::string log = log_path();
        const pid_t parent = getpid();

        const pid_t child = fork();
        if (child < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        if (child == 0) {
            // Only async-signal-safe calls between fork and exec.
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test runner
            if (getppid() != parent) _exit(127);
            const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (out >= 0) {
                dup2(out, STDOUT_FILENO);
                dup2(out, STDERR_FILENO);
            }
            const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (null >= 0) dup2(null, STDIN_FILENO);
            execv(argv[0], argv.data());
            _exit(127);
        }
        pid_ = child;
        paused_ = false;
        wait_until_ready();
    }

    // Stops the server: SIGTERM, then SIGKILL when it has not gone within 2 s.
    void stop()
    {
        if (pid_ <= 0) return;
        if (paused_) kill(pid_, SIGCONT);
        paused_ = false;
        kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (!reaped()) {
            if (std::chrono::steady_clock::now() >= deadline) {
                kill(pid_, SIGKILL);
                reaped(true);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        pid_ = -1;
    }

    // A paused server keeps accepting TCP connections (the kernel does) but never answers.
    void pause()
    {
        if (pid_ > 0 && !paused_ && kill(pid_, SIGSTOP) == 0) paused_ = true;
    }
    void resume()
    {
        if (pid_ > 0 && paused_ && kill(pid_, SIGCONT) == 0) paused_ = false;
    }

    std::string log_path() const { return dir_.path("redis.log"); }
    std::string log() const
    {
        std::ifstream in(log_path());
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    // True once the child has exited (and is reaped); blocking waits for it.
    bool reaped(bool blocking = false)
    {
        int status = 0;
        const pid_t result = waitpid(pid_, &status, blocking ? 0 : WNOHANG);
        return result == pid_ || (result < 0 && errno == ECHILD);
    }

    void wait_until_ready()
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (true) {
            if (reaped()) {
                pid_ = -1;
                throw std::runtime_error("redis-server exited at start: " + log());
            }
            if (answers_ping()) return;
            if (std::chrono::steady_clock::now() >= deadline) {
                stop();
                throw std::runtime_error("redis-server did not answer PING within 5 s: " + log());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    // One PING over a plain socket; any reply (+PONG, or -NOAUTH with a password) means ready.
    bool answers_ping() const
    {
        int fd = -1;
        if (port_ > 0) {
            fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) return false;
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(static_cast<uint16_t>(port_));
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
                close(fd);
                return false;
            }
        } else {
            fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) return false;
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            const std::string path = socket_path();
            if (path.size() >= sizeof address.sun_path) {
                close(fd);
                return false;
            }
            std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
            if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
                close(fd);
                return false;
            }
        }
        const char ping[] = "PING\r\n";
        bool answered = false;
        if (send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof ping - 1)) {
            pollfd waiting{fd, POLLIN, 0};
            char reply[64];
            if (poll(&waiting, 1, 200) == 1 && recv(fd, reply, sizeof reply, 0) > 0)
                answered = reply[0] == '+' || reply[0] == '-';
        }
        close(fd);
        return answered;
    }

    int port_;
    RedisServerOptions options_;
    TempDir dir_;
    pid_t pid_ = -1;
    bool paused_ = false;
};

// A fake Redis on an ephemeral loopback port. Its thread accepts one connection at a time and
// hands it to serve (fake_max_clients_reached, fake_endless_bulk_reply or the test's own), which
// returns soon once stopping is set; the connection is closed when serve returns. Stopped and
// joined at scope exit: declare it before the connections to it, so that they close first.
class FakeRedisServer {
public:
    using Serve = std::function<void(int fd, const std::atomic<bool>& stopping)>;

    explicit FakeRedisServer(Serve serve) : serve_(std::move(serve))
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        if (!listener_.valid() || bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), size) != 0 ||
            listen(listener_.get(), 16) != 0 || getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &size) != 0)
            throw std::runtime_error("fake redis: cannot listen on loopback");
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~FakeRedisServer()
    {
        stopping_ = true;
        thread_.join();
    }
    FakeRedisServer(const FakeRedisServer&) = delete;
    FakeRedisServer& operator=(const FakeRedisServer&) = delete;

    int port() const { return port_; }
    int connections() const { return connections_.load(); }  // accepted so far

private:
    void run()
    {
        while (!stopping_) {
            pollfd waiting{listener_.get(), POLLIN, 0};
            if (poll(&waiting, 1, 10) <= 0) continue;
            const FileDescriptor client(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!client.valid()) continue;
            ++connections_;
            serve_(client.get(), stopping_);
        }
    }

    Serve serve_;
    FileDescriptor listener_{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

// Waits (at most 2 s, and only until stopping) for the client's next bytes and reads them; false
// when none came or the client closed.
inline bool fake_read_request(int fd, const std::atomic<bool>& stopping)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!stopping && std::chrono::steady_clock::now() < deadline) {
        pollfd waiting{fd, POLLIN, 0};
        if (poll(&waiting, 1, 10) <= 0) continue;
        char request[4096];
        return recv(fd, request, sizeof request, 0) > 0;
    }
    return false;
}

// Waits until the client closes the connection (or stopping is set), discarding what it sends.
inline void fake_await_close(int fd, const std::atomic<bool>& stopping)
{
    char discarded[4096];
    while (!stopping) {
        pollfd waiting{fd, POLLIN, 0};
        if (poll(&waiting, 1, 10) > 0 && recv(fd, discarded, sizeof discarded, 0) <= 0) return;
    }
}

// Sends all of text; false once the client has gone (or stopping is set while it does not read).
inline bool fake_send(int fd, std::string_view text, const std::atomic<bool>& stopping)
{
    while (!text.empty()) {
        if (stopping) return false;
        pollfd waiting{fd, POLLOUT, 0};
        if (poll(&waiting, 1, 10) <= 0) continue;
        const ssize_t sent = send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (sent <= 0) return false;
        text.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

// Redis at its maxclients: this error at once, instead of any reply, then the connection closed.
// (Redis closes at once; here the client's first command is read before closing, since closing
// with it unread would reset the connection and could discard the error before the client reads
// it: the test would depend on timing.)
inline void fake_max_clients_reached(int fd, const std::atomic<bool>& stopping)
{
    if (fake_send(fd, "-ERR max number of clients reached\r\n", stopping)) fake_read_request(fd, stopping);
}

// A server gone wrong: answers the first command with a bulk string that claims 1 GiB and sends
// it 64 KiB at a time until the client closes the connection. It gives up after 64 MiB and then
// only waits, so that a client with no limit of its own waits for its deadline rather than
// buffering a whole gigabyte.
inline void fake_endless_bulk_reply(int fd, const std::atomic<bool>& stopping)
{
    if (!fake_read_request(fd, stopping) || !fake_send(fd, "$1073741824\r\n", stopping)) return;
    const std::string chunk(64 * 1024, 'x');
    for (int sent = 0; sent < 1024; ++sent)
        if (!fake_send(fd, chunk, stopping)) return;
    fake_await_close(fd, stopping);
}

}  // namespace ecomm::test

// RedisConnection: hiredis in non-blocking mode, every wait a poll() on what is left of the
// deadline. hiredis only parses and buffers here; the waiting is ours, so it is always bounded.
#include "counters/redis_connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

#include "counters/counter_store.h"

namespace ecomm {

namespace {

using Clock = std::chrono::steady_clock;

struct RedisContextFree {
    void operator()(redisContext* context) const { redisFree(context); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextFree>;

// hiredis writes with write(): a server that has closed the socket raises SIGPIPE, which kills a
// process that does not ignore it (libmilter does; a command-line tool may not). Blocks it for
// this thread while writing and discards the one the write raised.
class SigpipeBlock {
public:
    SigpipeBlock()
    {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &saved_);
    }
    ~SigpipeBlock()
    {
        sigset_t pending;
        if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
            const timespec no_wait{};
            while (sigtimedwait(&pipe_, nullptr, &no_wait) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
    }
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

private:
    sigset_t pipe_;
    sigset_t saved_;
    bool was_pending_ = false;
};

bool sigpipe_ignored()
{
    struct sigaction current{};
    return sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

// "Connection refused" -> "connection refused", to continue a sentence.
std::string lower_first(std::string text)
{
    if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return text;
}

std::string reply_text(const redisReply& reply)
{
    return reply.str ? std::string(reply.str, reply.len) : std::string();
}

// Error replies that Redis sends just before it closes the connection: the client limit (sent
// instead of any reply, at accept), a request it could not parse, protected mode.
bool server_closes_after(std::string_view error)
{
    for (const std::string_view reason : {"ERR max number of clients reached", "ERR Protocol error", "DENIED"})
        if (error.starts_with(reason)) return true;
    return false;
}

bool parse_port(std::string_view text, int& port)
{
    if (text.empty() || text.size() > 5) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    return error == std::errc() && end == text.data() + text.size() && port >= 1 && port <= 65535;
}

ParsedRedisAddress parse_error(std::string_view text, const std::string& what)
{
    ParsedRedisAddress parsed;
    parsed.error = "redis address \"" + std::string(text) + "\": " + what;
    return parsed;
}

}  // namespace

std::string RedisServerAddress::to_string() const
{
    if (!unix_path.empty()) return unix_path;
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

ParsedRedisAddress parse_redis_address(std::string_view text)
{
    if (text.empty()) return parse_error(text, "empty");
    for (char c : text)
        if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
            return parse_error(text, "contains white space or a control character");

    ParsedRedisAddress parsed;
    if (text.front() == '/') {
        if (text.size() >= sizeof(sockaddr_un::sun_path))
            return parse_error(text, "unix socket path longer than " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
        parsed.address.host.clear();
        parsed.address.port = 0;
        parsed.address.unix_path = std::string(text);
        return parsed;
    }
    if (text.find('/') != std::string::npos) return parse_error(text, "a unix socket needs an absolute path");

    std::string_view host = text;
    std::string_view port;
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return parse_error(text, "missing ']' after an IPv6 address");
        host = text.substr(1, close - 1);
        if (host.empty()) return parse_error(text, "empty IPv6 address between '[' and ']'");
        if (host.find(':') == std::string_view::npos) return parse_error(text, "brackets are only for IPv6 addresses");
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return parse_error(text, "expected \":PORT\" after ']'");
            port = rest.substr(1);
            if (port.empty()) return parse_error(text, "missing port after ':'");
        }
    } else {
        const auto colon = text.find(':');
        if (colon != std::string_view::npos) {
            if (text.find(':', colon + 1) != std::string_view::npos)
                return parse_error(text, "an IPv6 address needs brackets, as in [::1]:6379");
            host = text.substr(0, colon);
            port = text.substr(colon + 1);
            if (host.empty()) return parse_error(text, "missing host before ':'");
            if (port.empty()) return parse_error(text, "missing port after ':'");
        }
    }
    parsed.address.host = std::string(host);
    parsed.address.port = 6379;
    if (!port.empty() && !parse_port(port, parsed.address.port))
        return parse_error(text, "port \"" + std::string(port) + "\" is not a number from 1 to 65535");
    return parsed;
}

void RedisReplyDeleter::operator()(redisReply* reply) const
{
    freeReplyObject(reply);
}

struct RedisConnection::Context {
    RedisContextPtr redis;
    RedisServerAddress address;
    std::chrono::milliseconds timeout{};
    bool guard_sigpipe = true;
    bool broken = false;
    bool reply_started = false;        // a byte of the running command's reply has arrived
    bool closed_before_reply = false;  // see RedisConnection::closed_before_reply()

    // Marks the connection broken and throws "redis ADDRESS: what".
    [[noreturn]] void fail(const std::string& what)
    {
        broken = true;
        throw CounterError("redis " + address.to_string() + ": " + what);
    }

    [[noreturn]] void fail_hiredis(const std::string& step)
    {
        const std::string reason = redis && redis->errstr[0] ? lower_first(redis->errstr) : "unknown hiredis error";
        fail(step.empty() ? reason : step + ": " + reason);
    }

    // Waits for events on the socket until deadline; a timeout fails the step.
    void wait_for(short events, Clock::time_point deadline, const std::string& step)
    {
        while (true) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) fail(step + " timed out after " + std::to_string(timeout.count()) + " ms");
            pollfd waiting{redis->fd, events, 0};
            const int ready = poll(&waiting, 1, static_cast<int>(left.count()));
            if (ready > 0) return;  // readable/writable, or an error the next I/O call reports
            if (ready < 0 && errno != EINTR) fail(step + ": poll: " + std::strerror(errno));
        }
    }

    void finish_connect(Clock::time_point deadline)
    {
        if (!address.unix_path.empty()) return;  // a unix socket connects at once or fails
        wait_for(POLLOUT, deadline, "connect");
        int error = 0;
        socklen_t size = sizeof error;
        if (getsockopt(redis->fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
        if (error != 0) fail(lower_first(std::strerror(error)));
    }

    // After a failed read or write: did the server close the socket before answering? errno is
    // the failed call's.
    void note_closed(int error)
    {
        const bool closed = redis->err == REDIS_ERR_EOF ||
                            (redis->err == REDIS_ERR_IO && (error == EPIPE || error == ECONNRESET));
        closed_before_reply = closed && !reply_started;
    }

    void write_all(Clock::time_point deadline, const std::string& step)
    {
        std::optional<SigpipeBlock> block;
        if (guard_sigpipe) block.emplace();
        int done = 0;
        while (true) {
            if (redisBufferWrite(redis.get(), &done) != REDIS_OK) {
                note_closed(errno);
                fail_hiredis(step + ": sending");
            }
            if (done) return;
            wait_for(POLLOUT, deadline, step);
        }
    }

    // Reads one reply; the bytes it took are counted, so that no reply can grow without bound.
    RedisReplyPtr read_reply(Clock::time_point deadline, const std::string& step)
    {
        std::size_t received = 0;
        while (true) {
            void* reply = nullptr;
            if (redisGetReplyFromReader(redis.get(), &reply) != REDIS_OK) fail_hiredis(step + ": reading the reply");
            if (reply) return RedisReplyPtr(static_cast<redisReply*>(reply));
            wait_for(POLLIN, deadline, step);
            const std::size_t buffered = redis->reader->len;  // a read only appends to it
            if (redisBufferRead(redis.get()) != REDIS_OK) {
                note_closed(errno);
                fail_hiredis(step);
            }
            if (redis->reader->len != buffered) reply_started = true;
            received += redis->reader->len - buffered;
            if (received > kRedisMaxReplyBytes)
                fail(step + ": reading the reply: more than " + std::to_string(kRedisMaxReplyBytes) + " bytes");
        }
    }

    // Nothing waits to be read after the last reply, in hiredis's buffer or on the socket, and
    // the server has not closed it: end of file, a reset or stray bytes each mean that the next
    // command's reply could not be read in step.
    bool quiet_and_open() const
    {
        if (redis->reader->pos < redis->reader->len) return false;
        char byte = 0;
        const ssize_t peeked = recv(redis->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        return peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }

    // step names the command in messages; arguments are never quoted (they hold passwords).
    RedisReplyPtr run(std::span<const std::string_view> arguments, Clock::time_point deadline, const std::string& step)
    {
        if (broken) fail("connection is broken");
        reply_started = false;
        closed_before_reply = false;
        if (arguments.empty()) throw CounterError("redis " + address.to_string() + ": empty command");
        // A command sent with no time left would run on the server and still fail here.
        if (Clock::now() >= deadline) fail(step + " timed out after " + std::to_string(timeout.count()) + " ms (not sent)");
        std::vector<const char*> pointers;
        std::vector<size_t> lengths;
        pointers.reserve(arguments.size());
        lengths.reserve(arguments.size());
        for (const auto argument : arguments) {
            pointers.push_back(argument.data());
            lengths.push_back(argument.size());
        }
        if (redisAppendCommandArgv(redis.get(), static_cast<int>(arguments.size()), pointers.data(), lengths.data()) != REDIS_OK)
            fail_hiredis(step);
        write_all(deadline, step);
        RedisReplyPtr reply = read_reply(deadline, step);
        if (reply->type == REDIS_REPLY_ERROR && server_closes_after(reply_text(*reply)))
            fail(step + ": " + reply_text(*reply));  // the connection's error, not the command's
        return reply;
    }
};

std::unique_ptr<RedisConnection> RedisConnection::connect(const RedisConnectOptions& options)
{
    const auto deadline = Clock::now() + options.timeout;
    auto context = std::make_unique<Context>();
    context->address = options.address;
    context->timeout = options.timeout;
    context->guard_sigpipe = !sigpipe_ignored();
    // A host name is resolved by getaddrinfo() before the deadline applies: configure an address.
    context->redis.reset(options.address.unix_path.empty()
            ? redisConnectNonBlock(options.address.host.c_str(), options.address.port)
            : redisConnectUnixNonBlock(options.address.unix_path.c_str()));
    if (!context->redis) context->fail("cannot allocate a hiredis context");
    if (context->redis->err) context->fail_hiredis("");
    context->finish_connect(deadline);

    if (!options.password.empty()) {
        std::vector<std::string_view> auth{"AUTH"};
        if (!options.user.empty()) auth.push_back(options.user);
        auth.push_back(options.password);
        const auto reply = context->run(auth, deadline, "AUTH");
        if (reply->type == REDIS_REPLY_ERROR) context->fail("AUTH failed: " + reply_text(*reply));
    }
    if (options.database != 0) {
        const std::string number = std::to_string(options.database);
        const std::string_view select[] = {"SELECT", number};
        const auto reply = context->run(select, deadline, "SELECT " + number);
        if (reply->type == REDIS_REPLY_ERROR) context->fail("SELECT " + number + " failed: " + reply_text(*reply));
    }
    return std::unique_ptr<RedisConnection>(new RedisConnection(std::move(context)));
}

RedisConnection::RedisConnection(std::unique_ptr<Context> context) : context_(std::move(context)) {}

RedisConnection::~RedisConnection() = default;

RedisReplyPtr RedisConnection::command(std::span<const std::string_view> arguments)
{
    return command(arguments, Clock::now() + context_->timeout);
}

RedisReplyPtr RedisConnection::command(std::span<const std::string_view> arguments, Clock::time_point deadline)
{
    std::string step = arguments.empty() ? std::string("command") : std::string(arguments.front());
    for (auto& c : step) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return context_->run(arguments, deadline, step);
}

RedisReplyPtr RedisConnection::command(std::initializer_list<std::string_view> arguments)
{
    return command(std::span<const std::string_view>(arguments.begin(), arguments.size()));
}

bool RedisConnection::broken() const
{
    return context_->broken;
}

bool RedisConnection::reusable() const
{
    return !context_->broken && context_->quiet_and_open();
}

bool RedisConnection::closed_before_reply() const
{
    return context_->closed_before_reply;
}

const RedisServerAddress& RedisConnection::address() const
{
    return context_->address;
}

}  // namespace ecomm

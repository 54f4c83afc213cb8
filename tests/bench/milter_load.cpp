// milter_load: a load generator that plays the MTA side of the milter protocol (version 6), the
// way Postfix 3.7's milter8 client does, against one milter socket over N concurrent
// connections, and reports throughput, latency and the milter's decisions (issue 7, "milter
// protocol alone").  It links no libmilter: it speaks the wire format itself, a 4-byte
// big-endian length, a command byte and the command's data.
//
// What one message costs the milter here, as with Postfix (smtpd + cleanup):
//   O  option negotiation (offering protocol 6, every action, every protocol flag)  [new conn]
//   D C + C  connect (macros j {daemon_name} {daemon_addr} v _; hostname, '4', port, address)
//   D H? + H helo;  D M + M  MAIL FROM (macros i {mail_addr} {mail_host} {mail_mailer})
//   D R + R  each RCPT TO (macros i {rcpt_addr} {rcpt_host} {rcpt_mailer})
//   D T + T  DATA;  D L + L  each header (value: one leading space dropped unless the milter
//   asked for SMFIP_HDR_LEADSPC; folded lines joined with "\n");  D N + N  end of headers
//   D B + B  body chunks of at most 65,535 bytes (CRLF line ends);  D E + E  end of message,
//   then every reply up to the final one;  A  abort (Postfix resets the milter after each
//   transaction);  Q quit after --messages-per-connection messages (default 1: Postfix opens
//   one milter connection per SMTP session).
// Stages the milter negotiated away (SMFIP_NOCONNECT ... SMFIP_NODATA) are not sent, stages it
// asked no reply for (SMFIP_NR_*) are not waited for, 's' (skip) stops the body, a final reply
// before the end of message ends the message (then 'A'), 'a' or a refusal at connect or helo
// ends the milter's part for the whole connection, a rejected RCPT only drops that recipient.
// 'p' (progress) is read over. The macro 'i' is a fresh queue id per message.
//
// Latency of a message: from its first command (including connect and negotiation when the
// message opens the connection) to the milter's final reply to end of message.  Throughput:
// messages completed in the measured window / the window.  A run ends at --seconds (messages in
// flight finish) or after --messages per connection.  Errors (I/O, timeouts, protocol) drop the
// connection and are counted; the message is not.
//
// Output: one line on stdout,
//   messages=N seconds=S msg_per_s=R p50_ms=X p99_ms=X max_ms=X accept=N continue=N reject=N
//   tempfail=N replycode=N discard=N other=N rcpt_rejected=N addheader=N insheader=N
//   chgheader=N quarantine=N othermods=N progress=N errors=N total_messages=N
// (accept/continue/...: the final reply of each message; continue at end of message also means
// accept; addheader/insheader/...: modification replies counted over all messages; progress:
// 'p' packets, which ecomm-milter sends before each DNS look-up it cannot answer from its cache).  With
// --verbose the negotiated flags and every reply to the first message go to stderr, header
// edits with their text, so that a run shows the milter really decided.
//
// Usage:
//   milter_load --socket unix:/path|inet:PORT@HOST [--connections N] [--seconds S | --messages M]
//               [--messages-per-connection K] [--warmup-seconds W] [--timeout S] [--nagle]
//               [--write-each | --sendmail]
//               [--client-ip IP] [--client-name NAME] [--helo NAME] [--from ADDR] [--rcpt ADDR]...
//               [--verbose] --message FILE [--message FILE]...
//   Writes are buffered until a reply is awaited, as Postfix's milter8 client buffers them.
//   --write-each writes every command as it is made, as Sendmail's milter_write() does (one
//   writev() a command); with --nagle too, on a TCP socket, it plays a Sendmail built without
//   MILTER_NO_NAGLE (its default): Nagle on the MTA's side of the milter connection.
//   --sendmail is --write-each with macros where Sendmail's default configuration sends them
//   (connect, MAIL, RCPT and end of message; none before HELO without TLS, DATA, headers, end
//   of headers or body chunks, where Postfix sends them).
//   Each FILE is an RFC 5322 message; FILE.env, when present, gives its envelope, one key=value
//   a line: client_ip, client_name, helo, from, rcpt (repeatable).  The flags are the defaults
//   for messages without a .env (or keys it lacks).  Several --message files are used in turn.
// Build:
//   g++ -std=c++20 -O2 -Wall -Wextra -o milter_load tests/bench/milter_load.cpp -lpthread
// Used by tests/bench/protocol-bench.sh.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// The protocol's constants (libmilter/mfdef.h, protocol version 6).
constexpr uint32_t kProtocolVersion = 6;
constexpr uint32_t kAllActions = 0x1FF;      // SMFI_CURR_ACTS
constexpr uint32_t kAllProtocol = 0x1FFFFF;  // SMFI_CURR_PROT
constexpr size_t kChunk = 65535;             // MILTER_CHUNK_SIZE
constexpr uint32_t kMaxReply = 16u << 20;
constexpr long kMaxFailuresInARow = 50;  // then the worker gives up (a milter that is down)

constexpr uint32_t P_NOCONNECT = 0x1, P_NOHELO = 0x2, P_NOMAIL = 0x4, P_NORCPT = 0x8, P_NOBODY = 0x10,
                   P_NOHDRS = 0x20, P_NOEOH = 0x40, P_NR_HDR = 0x80, P_NODATA = 0x200, P_NR_CONN = 0x1000,
                   P_NR_HELO = 0x2000, P_NR_MAIL = 0x4000, P_NR_RCPT = 0x8000, P_NR_DATA = 0x10000,
                   P_NR_EOH = 0x40000, P_NR_BODY = 0x80000, P_HDR_LEADSPC = 0x100000;

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Options and messages

struct Envelope {
    std::string client_ip = "192.0.2.1";
    std::string client_name;  // empty: "[client_ip]", as Postfix names an unresolved client
    std::string helo = "client.bench.test";
    std::string from = "sender@bench.test";
    std::vector<std::string> rcpts;
};

struct Message {
    std::string path;
    Envelope envelope;
    std::vector<std::pair<std::string, std::string>> headers;  // name, value (after the colon)
    std::string body;                                          // CRLF line ends
};

struct Options {
    std::string socket;
    int connections = 10;
    double seconds = 0;
    long messages = 0;  // per connection
    long per_connection = 1;
    double warmup = 0;
    double timeout = 30;
    bool nagle = false;
    bool write_each = false;  // one writev() per command, as Sendmail's milter_write() does
    bool sendmail = false;    // --write-each, and macros only where Sendmail 8.14+ sends them by default
    bool verbose = false;
    Envelope defaults;
    std::vector<std::string> files;
};

[[noreturn]] void die(const std::string& what)
{
    std::fprintf(stderr, "milter_load: %s\n", what.c_str());
    std::exit(2);
}

std::string angle(std::string_view address)
{
    if (!address.empty() && address.front() == '<') return std::string(address);
    return "<" + std::string(address) + ">";
}

std::string bare(std::string_view address)
{
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
        return std::string(address.substr(1, address.size() - 2));
    return std::string(address);
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) die("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Splits a message into headers (folded lines joined with "\n", as Postfix passes them) and a
// CRLF body.
Message parse_message(const std::string& path, const Envelope& defaults)
{
    Message message;
    message.path = path;
    message.envelope = defaults;
    const std::string text = read_file(path);
    std::vector<std::string_view> lines;
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        size_t next = end == std::string::npos ? text.size() : end + 1;
        if (end == std::string::npos) end = text.size();
        size_t stop = end;
        if (stop > at && text[stop - 1] == '\r') --stop;
        lines.emplace_back(text.data() + at, stop - at);
        at = next;
    }
    size_t i = 0;
    for (; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        if (line.empty()) {
            ++i;
            break;
        }
        if ((line[0] == ' ' || line[0] == '\t') && !message.headers.empty()) {
            message.headers.back().second += "\n";
            message.headers.back().second += line;
            continue;
        }
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) die(path + ": not a header line: " + std::string(line));
        std::string name(line.substr(0, colon));
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
        message.headers.emplace_back(name, std::string(line.substr(colon + 1)));
    }
    for (; i < lines.size(); ++i) {
        message.body += lines[i];
        message.body += "\r\n";
    }
    if (message.headers.empty()) die(path + ": no headers");

    std::ifstream env(path + ".env");
    if (env) {
        std::vector<std::string> rcpts;
        std::string line;
        while (std::getline(env, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty() || line[0] == '#') continue;
            size_t eq = line.find('=');
            if (eq == std::string::npos) die(path + ".env: not key=value: " + line);
            std::string key = line.substr(0, eq), value = line.substr(eq + 1);
            if (key == "client_ip") message.envelope.client_ip = value;
            else if (key == "client_name") message.envelope.client_name = value;
            else if (key == "helo") message.envelope.helo = value;
            else if (key == "from") message.envelope.from = value;
            else if (key == "rcpt") rcpts.push_back(value);
            else die(path + ".env: unknown key " + key);
        }
        if (!rcpts.empty()) message.envelope.rcpts = rcpts;
    }
    if (message.envelope.rcpts.empty()) message.envelope.rcpts.push_back("student@example.edu");
    in_addr probe{};
    if (inet_pton(AF_INET, message.envelope.client_ip.c_str(), &probe) != 1)
        die(path + ": client ip " + message.envelope.client_ip + " is not IPv4");
    return message;
}

Options parse_options(int argc, char** argv)
{
    Options options;
    auto need = [&](int& i) -> std::string {
        if (i + 1 >= argc) die(std::string("missing value after ") + argv[i]);
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--socket") options.socket = need(i);
        else if (arg == "--connections") options.connections = std::atoi(need(i).c_str());
        else if (arg == "--seconds") options.seconds = std::atof(need(i).c_str());
        else if (arg == "--messages") options.messages = std::atol(need(i).c_str());
        else if (arg == "--messages-per-connection") options.per_connection = std::atol(need(i).c_str());
        else if (arg == "--warmup-seconds") options.warmup = std::atof(need(i).c_str());
        else if (arg == "--timeout") options.timeout = std::atof(need(i).c_str());
        else if (arg == "--nagle") options.nagle = true;
        else if (arg == "--write-each") options.write_each = true;
        else if (arg == "--sendmail") options.sendmail = options.write_each = true;
        else if (arg == "--verbose" || arg == "-v") options.verbose = true;
        else if (arg == "--message") options.files.push_back(need(i));
        else if (arg == "--client-ip") options.defaults.client_ip = need(i);
        else if (arg == "--client-name") options.defaults.client_name = need(i);
        else if (arg == "--helo") options.defaults.helo = need(i);
        else if (arg == "--from") options.defaults.from = need(i);
        else if (arg == "--rcpt") options.defaults.rcpts.push_back(need(i));
        else if (arg == "--help" || arg == "-h") {
            std::fputs("usage: milter_load --socket unix:/path|inet:PORT@HOST [--connections N] "
                       "[--seconds S | --messages M] [--messages-per-connection K] [--warmup-seconds W] "
                       "[--timeout S] [--nagle] [--write-each | --sendmail] [--client-ip IP] "
                       "[--client-name NAME] [--helo NAME] [--from ADDR] [--rcpt ADDR]... [--verbose] "
                       "--message FILE...\n",
                       stdout);
            std::exit(0);
        } else
            die("unknown option " + arg + " (see --help)");
    }
    if (options.socket.empty()) die("--socket is required");
    if (options.files.empty()) die("at least one --message FILE is required");
    if (options.connections < 1) die("--connections must be at least 1");
    if (options.per_connection < 1) die("--messages-per-connection must be at least 1");
    if (options.seconds <= 0 && options.messages <= 0) options.seconds = 5;
    if (options.timeout <= 0) die("--timeout must be positive");
    return options;
}

// ---------------------------------------------------------------------------------------------
// The socket

struct Target {
    int family = AF_UNIX;
    sockaddr_storage address{};
    socklen_t length = 0;
};

Target parse_socket(const std::string& spec)
{
    Target target;
    if (spec.rfind("unix:", 0) == 0 || spec.rfind("local:", 0) == 0 || spec[0] == '/') {
        std::string path = spec[0] == '/' ? spec : spec.substr(spec.find(':') + 1);
        auto* un = reinterpret_cast<sockaddr_un*>(&target.address);
        if (path.size() >= sizeof un->sun_path) die("socket path too long: " + path);
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
        target.length = sizeof(sockaddr_un);
        return target;
    }
    if (spec.rfind("inet:", 0) != 0) die("socket must be unix:/path or inet:PORT@HOST: " + spec);
    std::string rest = spec.substr(5), host, port;
    if (size_t at = rest.find('@'); at != std::string::npos) {
        port = rest.substr(0, at);  // libmilter's spelling: inet:PORT@HOST
        host = rest.substr(at + 1);
    } else if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
        host = rest.substr(0, colon);  // Postfix's spelling: inet:HOST:PORT
        port = rest.substr(colon + 1);
    } else {
        host = "127.0.0.1";
        port = rest;
    }
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &result) != 0 || result == nullptr)
        die("cannot resolve " + spec);
    std::memcpy(&target.address, result->ai_addr, result->ai_addrlen);
    target.length = result->ai_addrlen;
    target.family = AF_INET;
    freeaddrinfo(result);
    return target;
}

struct ProtocolError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Packet {
    char command = 0;
    std::string data;
};

// One milter connection: buffered writes (flushed when a reply is needed), packet reads.
class Connection {
public:
    Connection(const Target& target, const Options& options)
        : timeout_ms_(static_cast<int>(options.timeout * 1000)), write_each_(options.write_each)
    {
        fd_ = ::socket(target.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw ProtocolError(std::string("socket: ") + std::strerror(errno));
        // Blocking writes, bounded by the timeout (reads are bounded by poll).
        const auto whole = static_cast<time_t>(options.timeout);
        timeval limit{whole, static_cast<suseconds_t>((options.timeout - static_cast<double>(whole)) * 1e6)};
        setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
        if (target.family == AF_INET && !options.nagle) {
            int on = 1;
            setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        }
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&target.address), target.length) != 0) {
            std::string error = std::strerror(errno);
            ::close(fd_);
            fd_ = -1;
            throw ProtocolError("connect: " + error);
        }
    }
    ~Connection()
    {
        if (fd_ >= 0) ::close(fd_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Queues a packet; a large payload (a body chunk) is written from where it is.
    void queue(char command, std::string_view data)
    {
        append_header(command, data.size());
        if (data.size() > 4096) {
            flush_with(data);
        } else {
            out_.append(data);
            if (write_each_) flush();
        }
    }

    void flush() { flush_with({}); }

    Packet read_packet()
    {
        flush();
        fill(5);
        uint32_t length;
        std::memcpy(&length, in_.data() + in_pos_, 4);
        length = ntohl(length);
        if (length < 1 || length > kMaxReply) throw ProtocolError("bad reply length " + std::to_string(length));
        fill(4 + length);
        Packet packet;
        packet.command = in_[in_pos_ + 4];
        packet.data.assign(in_.data() + in_pos_ + 5, length - 1);
        in_pos_ += 4 + length;
        return packet;
    }

private:
    void append_header(char command, size_t length)
    {
        if (length + 1 > 0xFFFFFFFFu) throw ProtocolError("packet too large");
        uint32_t n = htonl(static_cast<uint32_t>(length + 1));
        out_.append(reinterpret_cast<const char*>(&n), 4);
        out_.push_back(command);
    }

    void flush_with(std::string_view extra)
    {
        size_t first = 0, second = 0;
        while (first < out_.size() || second < extra.size()) {
            iovec parts[2];
            int count = 0;
            if (first < out_.size()) parts[count++] = {out_.data() + first, out_.size() - first};
            if (second < extra.size())
                parts[count++] = {const_cast<char*>(extra.data() + second), extra.size() - second};
            ssize_t written = ::writev(fd_, parts, count);
            if (written < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) throw ProtocolError("timed out writing to the milter");
                throw ProtocolError(std::string("write: ") + std::strerror(errno));
            }
            size_t done = static_cast<size_t>(written);
            size_t from_first = std::min(done, out_.size() - first);
            first += from_first;
            second += done - from_first;
        }
        out_.clear();
    }

    void wait_for(short events)
    {
        pollfd p{fd_, events, 0};
        int ready;
        do ready = ::poll(&p, 1, timeout_ms_);
        while (ready < 0 && errno == EINTR);
        if (ready == 0) throw ProtocolError("timed out waiting for the milter");
        if (ready < 0) throw ProtocolError(std::string("poll: ") + std::strerror(errno));
    }

    // Makes at least `want` unread bytes available.
    void fill(size_t want)
    {
        if (in_pos_ > 0 && in_pos_ == in_.size()) {
            in_.clear();
            in_pos_ = 0;
        }
        while (in_.size() - in_pos_ < want) {
            if (in_pos_ > 65536) {
                in_.erase(in_.begin(), in_.begin() + static_cast<long>(in_pos_));
                in_pos_ = 0;
            }
            wait_for(POLLIN);
            char buffer[16384];
            ssize_t got = ::read(fd_, buffer, sizeof buffer);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw ProtocolError(std::string("read: ") + std::strerror(errno));
            if (got == 0) throw ProtocolError("the milter closed the connection");
            in_.insert(in_.end(), buffer, buffer + got);
        }
    }

    int fd_ = -1;
    int timeout_ms_;
    bool write_each_;
    std::string out_;
    std::vector<char> in_;
    size_t in_pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Results

struct Counts {
    std::map<std::string, long> values;
    void add(const std::string& key, long n = 1) { values[key] += n; }
};

struct ThreadResult {
    std::vector<double> latencies_ms;  // of messages started in the measured window
    Counts counts;                     // finals and modifications, measured window only
    long total_messages = 0;           // every completed message, warm-up included
    long errors = 0;
    std::string first_error;
    std::string first_refusal;
};

std::string printable(std::string_view data)
{
    std::string text;
    for (char c : data) {
        if (c == '\0') text += "\\0";
        else if (c == '\n') text += "\\n";
        else if (c == '\r') text += "\\r";
        else if (c == '\t') text += ' ';
        else if (static_cast<unsigned char>(c) < 32) text += '?';
        else text += c;
    }
    return text;
}

// A header edit as text: "[index] Name: value" ('i' and 'm' carry a 4-byte index first).
std::string describe_edit(const Packet& reply)
{
    std::string_view data = reply.data;
    std::string text;
    if ((reply.command == 'i' || reply.command == 'm') && data.size() >= 4) {
        uint32_t index;
        std::memcpy(&index, data.data(), 4);
        text = "[" + std::to_string(ntohl(index)) + "] ";
        data.remove_prefix(4);
    }
    if (reply.command != 'h' && reply.command != 'i' && reply.command != 'm') return printable(data);
    const size_t nul = data.find('\0');
    if (nul == std::string_view::npos) return text + printable(data);
    std::string_view value = data.substr(nul + 1);
    if (!value.empty() && value.back() == '\0') value.remove_suffix(1);
    return text + std::string(data.substr(0, nul)) + ":" + printable(value);
}

// ---------------------------------------------------------------------------------------------
// One worker: a connection at a time, messages one after another.

class Worker {
public:
    Worker(const Target& target, const Options& options, const std::vector<Message>& messages, int index,
           std::atomic<uint64_t>& queue_ids, bool verbose)
        : target_(target), options_(options), messages_(messages), next_(static_cast<size_t>(index)),
          queue_ids_(queue_ids), verbose_(verbose)
    {
    }

    void run(Clock::time_point start, Clock::time_point measure_from, std::optional<Clock::time_point> deadline)
    {
        long done = 0, failures_in_a_row = 0;
        while (failures_in_a_row < kMaxFailuresInARow) {
            if (deadline && Clock::now() >= *deadline) break;
            if (options_.messages > 0 && done >= options_.messages) break;
            const Message& message = messages_[next_++ % messages_.size()];
            const Clock::time_point began = Clock::now();
            try {
                std::string final_action = one_message(message);
                const double ms = std::chrono::duration<double, std::milli>(Clock::now() - began).count();
                ++done;
                ++result.total_messages;
                if (began >= measure_from) {
                    result.latencies_ms.push_back(ms);
                    result.counts.add(final_action);
                    for (auto& [key, n] : pending_mods_) result.counts.add(key, n);
                }
                pending_mods_.clear();
                failures_in_a_row = 0;
            } catch (const ProtocolError& e) {
                ++result.errors;
                ++failures_in_a_row;
                if (result.first_error.empty()) result.first_error = e.what();
                connection_.reset();
                pending_mods_.clear();
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            if (verbose_) verbose_ = false;  // only the first message of worker 0
        }
        if (connection_) {
            try {
                quit();
            } catch (const ProtocolError&) {
            }
        }
        (void)start;
    }

    ThreadResult result;

private:
    void say(const std::string& text)
    {
        if (verbose_) std::fprintf(stderr, "  %s\n", text.c_str());
    }

    // Sends macros (if any) for `stage` then the command; waits for the reply unless the milter
    // negotiated none for it. Returns the reply ('c' when none was due), progress read over.
    Packet stage(char command, std::string_view data, uint32_t no_reply_flag,
                 const std::vector<std::pair<std::string, std::string>>& macros, const char* name)
    {
        const bool sendmail_sends_macros = command == 'C' || command == 'M' || command == 'R';
        if (!macros.empty() && (!options_.sendmail || sendmail_sends_macros)) {
            std::string packet(1, command);
            for (const auto& [key, value] : macros) {
                if (value.empty()) continue;
                packet += key;
                packet.push_back('\0');
                packet += value;
                packet.push_back('\0');
            }
            connection_->queue('D', packet);
        }
        connection_->queue(command, data);
        if (no_reply_flag != 0 && (protocol_ & no_reply_flag) != 0) {
            say(std::string(name) + ": (no reply negotiated)");
            return Packet{'c', {}};
        }
        while (true) {
            Packet reply = connection_->read_packet();
            if (reply.command == 'p') {
                pending_mods_["progress"] += 1;
                continue;
            }
            say(std::string(name) + ": " + reply.command + (reply.data.empty() ? "" : " " + printable(reply.data)));
            return reply;
        }
    }

    void open_connection()
    {
        connection_ = std::make_unique<Connection>(target_, options_);
        std::string data(12, '\0');
        const uint32_t values[3] = {htonl(kProtocolVersion), htonl(kAllActions), htonl(kAllProtocol)};
        std::memcpy(data.data(), values, 12);
        connection_->queue('O', data);
        Packet reply = connection_->read_packet();
        if (reply.command != 'O' || reply.data.size() < 12)
            throw ProtocolError(std::string("bad negotiation reply '") + reply.command + "'");
        uint32_t got[3];
        std::memcpy(got, reply.data.data(), 12);
        version_ = ntohl(got[0]);
        actions_ = ntohl(got[1]);
        protocol_ = ntohl(got[2]);
        if (verbose_) {
            char line[160];
            std::snprintf(line, sizeof line, "negotiated: version %u actions 0x%x protocol 0x%x", version_, actions_,
                          protocol_);
            say(line);
        }
        connection_over_ = false;
        connection_final_.clear();
        on_connection_ = 0;
    }

    void quit()
    {
        connection_->queue('Q', {});
        connection_->flush();
        connection_.reset();
    }

    static bool is_final(char c) { return c != 'c' && c != 'p'; }

    static std::string final_name(char c)
    {
        switch (c) {
        case 'a': return "accept";
        case 'c': return "continue";
        case 'r': return "reject";
        case 't': return "tempfail";
        case 'y': return "replycode";
        case 'd': return "discard";
        default: return "other";
        }
    }

    void note_refusal(const Packet& reply)
    {
        if (!result.first_refusal.empty()) return;
        if (reply.command == 'r' || reply.command == 't' || reply.command == 'y')
            result.first_refusal = std::string(1, reply.command) + " " + printable(reply.data);
    }

    // The connection-level stages; sets connection_over_ when the milter is done with it.
    void connection_stages(const Envelope& envelope)
    {
        const std::string hostname =
            envelope.client_name.empty() ? "[" + envelope.client_ip + "]" : envelope.client_name;
        if (!(protocol_ & P_NOCONNECT)) {
            std::string data = hostname;
            data.push_back('\0');
            data.push_back('4');
            uint16_t port = htons(49152 + static_cast<uint16_t>(queue_ids_.load() % 16000));
            data.append(reinterpret_cast<const char*>(&port), 2);
            data += envelope.client_ip;
            data.push_back('\0');
            Packet reply = stage('C', data, P_NR_CONN,
                                 {{"j", "mx.bench.test"},
                                  {"{daemon_name}", "mx.bench.test"},
                                  {"{daemon_addr}", "127.0.0.1"},
                                  {"v", "Postfix 3.7.11"},
                                  {"_", hostname + " [" + envelope.client_ip + "]"}},
                                 "connect");
            if (is_final(reply.command)) {
                note_refusal(reply);
                connection_over_ = true;
                connection_final_ = final_name(reply.command);
                return;
            }
        }
        if (!(protocol_ & P_NOHELO)) {
            std::string data = envelope.helo;
            data.push_back('\0');
            Packet reply = stage('H', data, P_NR_HELO, {}, "helo");
            if (is_final(reply.command)) {
                note_refusal(reply);
                connection_over_ = true;
                connection_final_ = final_name(reply.command);
            }
        }
    }

    std::string one_message(const Message& message)
    {
        if (!connection_) {
            open_connection();
            connection_stages(message.envelope);
        }
        std::string final_action;
        if (connection_over_)
            final_action = connection_final_;
        else
            final_action = transaction(message);
        if (++on_connection_ >= options_.per_connection) quit();
        return final_action;
    }

    // MAIL .. end of message. Returns the name of the final reply.
    std::string transaction(const Message& message)
    {
        char qid[32];
        std::snprintf(qid, sizeof qid, "B%010llX", static_cast<unsigned long long>(++queue_ids_));
        const Envelope& envelope = message.envelope;
        auto ended = [&](const Packet& reply) {
            // Postfix resets the milter when a transaction ends before the end of message.
            note_refusal(reply);
            connection_->queue('A', {});
            return final_name(reply.command);
        };

        if (!(protocol_ & P_NOMAIL)) {
            std::string data = angle(envelope.from);
            data.push_back('\0');
            const std::string from = bare(envelope.from);
            const size_t at = from.rfind('@');
            Packet reply = stage('M', data, P_NR_MAIL,
                                 {{"i", qid},
                                  {"{mail_addr}", from},
                                  {"{mail_host}", at == std::string::npos ? "" : from.substr(at + 1)},
                                  {"{mail_mailer}", "smtp"}},
                                 "mail");
            if (is_final(reply.command)) return ended(reply);
        }
        if (!(protocol_ & P_NORCPT)) {
            size_t accepted = 0;
            bool verbose = verbose_;
            for (size_t i = 0; i < envelope.rcpts.size(); ++i) {
                const std::string& rcpt = envelope.rcpts[i];
                std::string data = angle(rcpt);
                data.push_back('\0');
                const std::string address = bare(rcpt);
                const size_t at = address.rfind('@');
                if (i > 0 && i + 1 < envelope.rcpts.size()) verbose_ = false;  // first and last only
                Packet reply = stage('R', data, P_NR_RCPT,
                                     {{"i", qid},
                                      {"{rcpt_addr}", address},
                                      {"{rcpt_host}", at == std::string::npos ? "" : address.substr(at + 1)},
                                      {"{rcpt_mailer}", "smtp"}},
                                     "rcpt");
                verbose_ = verbose;
                if (reply.command == 'c') {
                    ++accepted;
                } else if (reply.command == 'a' || reply.command == 'd') {
                    return ended(reply);  // the whole message: accepted or discarded
                } else {
                    note_refusal(reply);
                    pending_mods_["rcpt_rejected"] += 1;
                }
            }
            if (accepted == 0) {
                connection_->queue('A', {});
                return "reject";
            }
        }
        if (!(protocol_ & P_NODATA)) {
            Packet reply = stage('T', {}, P_NR_DATA, {{"i", qid}}, "data");
            if (is_final(reply.command)) return ended(reply);
        }
        const std::vector<std::pair<std::string, std::string>> eoh_macros = {{"i", qid}};
        if (!(protocol_ & P_NOHDRS)) {
            bool verbose = verbose_;
            size_t n = 0;
            for (const auto& [name, raw_value] : message.headers) {
                std::string data = name;
                data.push_back('\0');
                std::string_view value = raw_value;
                if (!(protocol_ & P_HDR_LEADSPC) && !value.empty() && value[0] == ' ') value.remove_prefix(1);
                data += value;
                data.push_back('\0');
                if (n++ > 0) verbose_ = false;
                Packet reply = stage('L', data, P_NR_HDR, eoh_macros, "header");
                if (is_final(reply.command)) {
                    verbose_ = verbose;
                    return ended(reply);
                }
            }
            verbose_ = verbose;
            if (n > 1) say("header: (" + std::to_string(n - 1) + " more)");
        }
        if (!(protocol_ & P_NOEOH)) {
            Packet reply = stage('N', {}, P_NR_EOH, eoh_macros, "eoh");
            if (is_final(reply.command)) return ended(reply);
        }
        if (!(protocol_ & P_NOBODY)) {
            bool verbose = verbose_;
            size_t n = 0;
            for (size_t at = 0; at < message.body.size(); at += kChunk) {
                std::string_view chunk(message.body.data() + at, std::min(kChunk, message.body.size() - at));
                if (n++ > 0) verbose_ = false;
                Packet reply = stage('B', chunk, P_NR_BODY, eoh_macros, "body");
                if (reply.command == 's') break;
                if (is_final(reply.command)) {
                    verbose_ = verbose;
                    return ended(reply);
                }
            }
            verbose_ = verbose;
            if (n > 1) say("body: (" + std::to_string(n - 1) + " more chunks)");
        }
        // End of message: modifications, then the final reply.
        std::string packet(1, 'E');
        packet += "i";
        packet.push_back('\0');
        packet += qid;
        packet.push_back('\0');
        connection_->queue('D', packet);
        connection_->queue('E', {});
        while (true) {
            Packet reply = connection_->read_packet();
            switch (reply.command) {
            case 'p': pending_mods_["progress"] += 1; continue;
            case 'h': pending_mods_["addheader"] += 1; break;
            case 'i': pending_mods_["insheader"] += 1; break;
            case 'm': pending_mods_["chgheader"] += 1; break;
            case 'q': pending_mods_["quarantine"] += 1; break;
            case '+': case '-': case '2': case 'e': case 'b': pending_mods_["othermods"] += 1; break;
            case 'a': case 'c': case 'r': case 't': case 'y': case 'd':
                say(std::string("eom: ") + reply.command + (reply.data.empty() ? "" : " " + printable(reply.data)));
                note_refusal(reply);
                connection_->queue('A', {});  // Postfix's reset after every transaction
                return final_name(reply.command);
            default:
                throw ProtocolError(std::string("unexpected reply '") + reply.command + "' to end of message");
            }
            say(std::string("eom: ") + reply.command + " " + describe_edit(reply));
        }
    }

    const Target& target_;
    const Options& options_;
    const std::vector<Message>& messages_;
    size_t next_;
    std::atomic<uint64_t>& queue_ids_;
    bool verbose_;
    std::unique_ptr<Connection> connection_;
    uint32_t version_ = 0, actions_ = 0, protocol_ = 0;
    bool connection_over_ = false;
    std::string connection_final_;
    long on_connection_ = 0;
    std::map<std::string, long> pending_mods_;
};

double percentile(std::vector<double>& values, double p)
{
    if (values.empty()) return 0;
    size_t k = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
    return values[k];
}

}  // namespace

int main(int argc, char** argv)
{
    const Options options = parse_options(argc, argv);
    const Target target = parse_socket(options.socket);
    std::vector<Message> messages;
    for (const auto& file : options.files) messages.push_back(parse_message(file, options.defaults));

    std::atomic<uint64_t> queue_ids{static_cast<uint64_t>(::getpid()) << 20};
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < options.connections; ++i)
        workers.push_back(std::make_unique<Worker>(target, options, messages, i, queue_ids, options.verbose && i == 0));
    if (options.verbose) std::fprintf(stderr, "milter_load: first message (%s):\n", messages[0].path.c_str());

    const Clock::time_point start = Clock::now();
    const Clock::time_point measure_from =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.warmup));
    std::optional<Clock::time_point> deadline;
    if (options.seconds > 0)
        deadline = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.seconds));
    std::vector<std::thread> threads;
    for (auto& worker : workers)
        threads.emplace_back([&worker, start, measure_from, deadline] { worker->run(start, measure_from, deadline); });
    for (auto& thread : threads) thread.join();
    const Clock::time_point end = Clock::now();

    std::vector<double> latencies;
    Counts counts;
    long total = 0, errors = 0;
    std::string first_error, first_refusal;
    for (auto& worker : workers) {
        ThreadResult& r = worker->result;
        latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
        for (auto& [key, n] : r.counts.values) counts.add(key, n);
        total += r.total_messages;
        errors += r.errors;
        if (first_error.empty()) first_error = r.first_error;
        if (first_refusal.empty()) first_refusal = r.first_refusal;
    }
    const double seconds = std::chrono::duration<double>(end - std::max(start, measure_from)).count();
    const size_t measured = latencies.size();
    const double max_ms = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
    const double p50 = percentile(latencies, 0.50), p99 = percentile(latencies, 0.99);

    std::printf("messages=%zu seconds=%.3f msg_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f", measured, seconds,
                seconds > 0 ? static_cast<double>(measured) / seconds : 0.0, p50, p99, max_ms);
    for (const char* key : {"accept", "continue", "reject", "tempfail", "replycode", "discard", "other",
                            "rcpt_rejected", "addheader", "insheader", "chgheader", "quarantine", "othermods", "progress"})
        std::printf(" %s=%ld", key, counts.values.count(key) ? counts.values[key] : 0L);
    std::printf(" errors=%ld total_messages=%ld\n", errors, total);
    if (!first_error.empty()) std::fprintf(stderr, "milter_load: first error: %s\n", first_error.c_str());
    if (!first_refusal.empty()) std::fprintf(stderr, "milter_load: first refusal: %s\n", first_refusal.c_str());
    return errors > 0 && measured == 0 ? 1 : 0;
}

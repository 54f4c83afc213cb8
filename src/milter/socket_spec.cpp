// Socket specification parsing and the stale unix socket check; see socket_spec.h.
#include "milter/socket_spec.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "util/file_descriptor.h"

namespace ecomm {

namespace {

SocketSpecResult bad(std::string_view text, const std::string& why)
{
    return SocketSpecResult{std::nullopt, "bad socket \"" + std::string(text) + "\": " + why};
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

bool is_ipv4_literal(const std::string& host)
{
    in_addr address{};
    return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

bool is_ipv6_literal(const std::string& host)
{
    in6_addr address{};
    return inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

// Host names are resolved by libmilter at bind time; here we only refuse what cannot be one.
bool is_host_name(std::string_view host)
{
    if (host.empty() || host.size() > 253) return false;
    // All digits and dots is a mistyped IPv4 address, not a name.
    if (host.find_first_not_of("0123456789.") == std::string_view::npos) return false;
    for (const char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

SocketSpecResult parse_unix(std::string_view text, std::string_view path)
{
    if (path.empty()) return bad(text, "the socket path is empty");
    if (path.front() != '/') return bad(text, "the socket path must be absolute");
    if (path.find('\0') != std::string_view::npos) return bad(text, "the socket path contains a NUL byte");
    // sun_path holds the path and its terminating NUL.
    constexpr std::size_t longest = sizeof(sockaddr_un{}.sun_path) - 1;
    if (path.size() > longest)
        return bad(text, "the socket path is longer than " + std::to_string(longest) + " bytes");
    SocketSpec spec;
    spec.family = SocketSpec::Family::unix_path;
    spec.path = std::string(path);
    return SocketSpecResult{spec, {}};
}

// "PORT" or "PORT@HOST" after "inet:" or "inet6:".
SocketSpecResult parse_inet(std::string_view text, std::string_view rest, SocketSpec::Family family)
{
    const auto at = rest.find('@');
    const std::string_view port_text = rest.substr(0, at);
    if (port_text.empty()) return bad(text, "the port is missing");
    // Digits only: libmilter would look a name up in /etc/services, which hides typos.
    if (port_text.find_first_not_of("0123456789") != std::string_view::npos)
        return bad(text, "the port must be a number");
    int port = 0;
    const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc{} || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
        return bad(text, "the port must be 1..65535");

    SocketSpec spec;
    spec.family = family;
    spec.port = port;
    if (at == std::string_view::npos) return SocketSpecResult{spec, {}};

    std::string host(rest.substr(at + 1));
    if (host.empty()) return bad(text, "the host after '@' is empty");
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);

    if (family == SocketSpec::Family::inet) {
        if (is_ipv6_literal(host)) return bad(text, "an IPv6 address needs inet6:");
        if (!is_ipv4_literal(host) && (bracketed || !is_host_name(host)))
            return bad(text, "\"" + host + "\" is not an IPv4 address or host name");
    } else if (bracketed ? !is_ipv6_literal(host) : !(is_ipv6_literal(host) || is_host_name(host))) {
        return bad(text, "\"" + host + "\" is not an IPv6 address or host name");
    }
    spec.host = std::move(host);
    return SocketSpecResult{spec, {}};
}

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

std::string SocketSpec::to_libmilter() const
{
    switch (family) {
    case Family::unix_path:
        return "unix:" + path;
    case Family::inet:
    case Family::inet6: {
        std::string text = (family == Family::inet ? "inet:" : "inet6:") + std::to_string(port);
        if (host.empty()) return text;
        // libmilter takes a bracketed host as a literal address and resolves anything else.
        const bool literal = family == Family::inet ? is_ipv4_literal(host) : is_ipv6_literal(host);
        return text + "@" + (literal ? "[" + host + "]" : host);
    }
    }
    return {};
}

SocketSpecResult parse_socket_spec(std::string_view text)
{
    if (text.empty()) return bad(text, "it is empty");
    if (text.front() == '/') return parse_unix(text, text);

    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return bad(text, "expected unix:/path, inet:PORT@HOST or inet6:PORT@HOST");
    const std::string_view type = text.substr(0, colon);
    const std::string_view rest = text.substr(colon + 1);
    if (iequals(type, "unix") || iequals(type, "local")) return parse_unix(text, rest);
    if (iequals(type, "inet")) return parse_inet(text, rest, SocketSpec::Family::inet);
    if (iequals(type, "inet6")) return parse_inet(text, rest, SocketSpec::Family::inet6);
    return bad(text, "unknown socket type \"" + std::string(type) + "\" (use unix:, inet: or inet6:)");
}

StaleSocketCheck clear_stale_unix_socket(const std::string& path)
{
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        if (errno != ENOENT) return {false, false, "cannot check " + path + ": " + errno_text(errno)};
        // Say which directory is missing rather than let bind() fail with a bare ENOENT.
        const std::string directory = std::filesystem::path(path).parent_path().string();
        std::error_code ignored;
        if (!std::filesystem::is_directory(directory, ignored))
            return {false, false, "the socket directory " + directory + " does not exist"};
        return {};
    }
    if (!S_ISSOCK(info.st_mode))
        return {false, false, path + " exists and is not a socket; refusing to replace it"};

    // Non-blocking, so that a live listener with a full backlog answers EAGAIN instead of
    // blocking the start.
    const FileDescriptor probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (probe.get() < 0) return {false, false, "cannot create a probe socket: " + errno_text(errno)};
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) return {false, false, "socket path too long: " + path};
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 ||
        errno == EAGAIN || errno == EINPROGRESS)
        return {false, false, "another process is listening on " + path};
    if (errno != ECONNREFUSED)
        return {false, false, "cannot tell whether " + path + " is in use: " + errno_text(errno)};
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return {false, false, "cannot remove stale socket " + path + ": " + errno_text(errno)};
    return {true, true, {}};
}

}  // namespace ecomm

// Where the milter listens: parsing and validating the socket specification (the config's
// socket key or -p), and clearing a stale unix socket left behind by a milter that died.
//
//   unix:/path  local:/path  /path      a unix socket (the path must be absolute)
//   inet:PORT@HOST  inet:PORT           IPv4; no host means every address
//   inet6:PORT@HOST  inet6:PORT         IPv6; HOST may be written [::1]
//
// Errors are one line that quotes the specification, e.g.
// "bad socket \"inet:0@localhost\": port must be 1..65535".
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ecomm {

struct SocketSpec {
    enum class Family { unix_path, inet, inet6 };
    Family family = Family::unix_path;
    std::string path;   // unix
    int port = 0;       // inet, inet6
    std::string host;   // inet, inet6; empty: any address

    // The form smfi_setconn expects: "unix:/path", "inet:PORT@HOST", "inet6:PORT".
    std::string to_libmilter() const;
    bool is_unix() const { return family == Family::unix_path; }
};

struct SocketSpecResult {
    std::optional<SocketSpec> spec;
    std::string error;  // set when spec is empty
};

SocketSpecResult parse_socket_spec(std::string_view text);

// Before binding a unix socket at path: nothing there is fine; a socket nobody answers on
// (ECONNREFUSED) is stale and removed; a socket with a listener, or anything that is not a
// socket, must stop the start.
struct StaleSocketCheck {
    bool ok = true;        // path is free to bind now
    bool removed = false;  // a stale socket was removed (worth a log line)
    std::string error;     // why not, when !ok
};

StaleSocketCheck clear_stale_unix_socket(const std::string& path);

}  // namespace ecomm

// Start-up and shutdown notices to systemd (Type=notify): sd_notify(3)'s protocol, one datagram
// of "KEY=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET. Written here rather than
// taken from libsystemd: systemd documents the protocol as stable and meant to be reimplemented,
// and the whole of libsystemd is not worth linking into a network daemon for one datagram.
#pragma once
#include <string_view>

namespace ecomm {

// Sends state ("READY=1", "STOPPING=1", ...) when $NOTIFY_SOCKET is set; true when it was
// sent. Without the variable (not started by systemd, or not Type=notify) nothing happens.
bool notify_service_manager(std::string_view state) noexcept;

}  // namespace ecomm

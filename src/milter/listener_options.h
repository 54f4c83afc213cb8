// Socket options for the MTA's connections over TCP. libmilter accepts them and hides its
// listening descriptor, so the options go on the listener, found among this process's open
// descriptors; on Linux an accepted connection inherits them (checked with getsockopt on an
// accepted socket: tests/unit/test_listener_options.cpp).
#pragma once
#include <cstddef>

namespace ecomm {

struct ListenerOptions {
    // At end of message the milter writes several small packets in a row (header edits, then
    // the reply) while the MTA reads without answering; under Nagle each would wait for the
    // MTA's delayed ACK (~40 ms).
    bool nodelay = true;
    // Bytes of receive buffer for each connection; 0 leaves the kernel's, which starts every new
    // connection at net.ipv4.tcp_rmem's middle value (128 KiB) and grows it only as the milter
    // keeps up. A 1 MB body then arrives a window at a time, each needing the milter to wake,
    // read and open the window again; a buffer the size of the body lets the MTA write it at
    // once (docs/BENCHMARKS.md, "Receive buffer over TCP").
    std::size_t receive_buffer = 0;
};

struct ListenerTuning {
    int listeners = 0;            // listening inet sockets found
    int nodelay_set = 0;          // of them, those given TCP_NODELAY
    int receive_buffer_set = 0;   // those given the receive buffer
    std::size_t receive_buffer = 0;  // the size the kernel reports for the last one (it doubles the request)
};

// Sets options on every listening inet (IPv4 or IPv6) socket of this process. The receive
// buffer is forced past net.core.rmem_max when the process may (CAP_NET_ADMIN, as root before
// dropping privileges), else capped by it.
ListenerTuning tune_inet_listeners(const ListenerOptions& options);

}  // namespace ecomm

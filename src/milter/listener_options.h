// Socket options for the MTA's connections over TCP. libmilter accepts them and hides its
// listening descriptor, so the options go on the listener, found among this process's open
// descriptors; on Linux an accepted connection inherits them (tests/unit/test_listener_options.cpp
// checks it on a real loopback connection).
#pragma once

namespace ecomm {

struct ListenerTuning {
    int listeners = 0;    // listening inet sockets found
    int nodelay_set = 0;  // of them, those given TCP_NODELAY
};

// Sets TCP_NODELAY on every listening inet (IPv4 or IPv6) socket of this process. At end of
// message the milter writes several small packets in a row (header edits, then the reply) while
// the MTA reads without answering; under Nagle each would wait for the MTA's delayed ACK
// (~40 ms).
ListenerTuning set_nodelay_on_inet_listeners();

}  // namespace ecomm

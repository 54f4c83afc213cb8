// One DNS query over TCP (RFC 1035 4.2.2: each message preceded by its two-byte length), for
// answers that came back truncated over UDP (RFC 7766). Every step (connect, send, each read)
// waits at most until the deadline: glibc's own TCP path (res_nsend's send_vc) blocks in
// connect() and read() without a timeout, so the system resolver does not use it.
#pragma once
#include <sys/socket.h>

#include <chrono>
#include <cstddef>

namespace ecomm {

// Sends query to server and reads the answer into answer (at most answer_size bytes). Returns its
// length, or -1 when the deadline passed, the server could not be reached or closed the
// connection, or the answer does not carry the query's id.
int tcp_exchange(const sockaddr* server, socklen_t server_length, const unsigned char* query, int query_length,
                 unsigned char* answer, std::size_t answer_size, std::chrono::steady_clock::time_point deadline);

}  // namespace ecomm

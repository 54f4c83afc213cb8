// IP addresses and CIDR networks for client matching (IPv4, IPv6, IPv4-mapped IPv6).
//
// Every address is held as 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so that a
// mapped client address matches the IPv4 range that covers it, and an IPv4 CIDR is a /96+N.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace ecomm {

class IpAddress {
public:
    // Accepts dotted IPv4, IPv6 text, an "IPv6:" prefix and surrounding [brackets].
    static std::optional<IpAddress> parse(std::string_view text);
    // From a sockaddr as libmilter hands it to xxfi_connect (AF_INET/AF_INET6, else nullopt).
    static std::optional<IpAddress> from_sockaddr(const sockaddr* sa);
    // From the 16-byte form (IPv4 as ::ffff:a.b.c.d), e.g. a network base with host bits cleared.
    static IpAddress from_bytes(const std::array<std::uint8_t, 16>& bytes);

    bool is_v4() const;                 // true also for IPv4-mapped IPv6 input
    std::string to_string() const;      // canonical text: dotted quad for IPv4
    const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
    bool operator==(const IpAddress&) const = default;

private:
    std::array<std::uint8_t, 16> bytes_{};
};

class Cidr {
public:
    // "192.0.2.0/24", "2001:db8::/32", or a bare address (a host route). Host bits set below
    // the prefix are cleared and reported through host_bits_warning (non-empty then).
    static std::optional<Cidr> parse(std::string_view text, std::string* host_bits_warning = nullptr);

    bool contains(const IpAddress& address) const;
    std::string to_string() const;      // canonical, e.g. "192.0.2.0/24"
    int prefix_length() const { return prefix_; }  // in 128-bit space

private:
    IpAddress base_;
    int prefix_ = 128;
};

class NetworkSet {
public:
    void add(const Cidr& cidr) { cidrs_.push_back(cidr); }
    bool contains(const IpAddress& address) const;
    bool empty() const { return cidrs_.empty(); }
    const std::vector<Cidr>& cidrs() const { return cidrs_; }

private:
    std::vector<Cidr> cidrs_;
};

}  // namespace ecomm

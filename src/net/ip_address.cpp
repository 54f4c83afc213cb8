// IP addresses and CIDR networks. Everything is 16 bytes with IPv4 held as ::ffff:a.b.c.d, so
// one comparison serves IPv4, IPv6 and the IPv4-mapped form a dual-stack MTA may hand us.
#include "net/ip_address.h"

#include "util/ascii.h"
#include "util/decimal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace ecomm {

namespace {

constexpr int kV4MappedPrefix = 96;  // the bits of ::ffff:0:0/96 in front of an IPv4 address
// Longer than any textual IPv6 address (45 characters): refuse before copying.
constexpr std::size_t kMaxAddressText = 64;

using Bytes = std::array<std::uint8_t, 16>;

Bytes mapped_v4(const std::uint8_t v4[4])
{
    Bytes bytes{};
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    std::memcpy(bytes.data() + 12, v4, 4);
    return bytes;
}

std::optional<Bytes> parse_v4(std::string_view text)
{
    if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
    const std::string copy(text);  // inet_pton wants a terminated string
    in_addr address{};
    if (inet_pton(AF_INET, copy.c_str(), &address) != 1) return std::nullopt;
    return mapped_v4(reinterpret_cast<const std::uint8_t*>(&address));
}

std::optional<Bytes> parse_v6(std::string_view text)
{
    if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
    const std::string copy(text);
    Bytes bytes{};
    if (inet_pton(AF_INET6, copy.c_str(), bytes.data()) != 1) return std::nullopt;
    return bytes;
}

// Plain text of either family, as written in config files (no brackets, no "IPv6:").
std::optional<Bytes> parse_plain(std::string_view text)
{
    if (auto v4 = parse_v4(text)) return v4;
    return parse_v6(text);
}

bool is_v4_mapped(const Bytes& bytes)
{
    return std::all_of(bytes.begin(), bytes.begin() + 10, [](std::uint8_t b) { return b == 0; }) &&
           bytes[10] == 0xff && bytes[11] == 0xff;
}

// Clears every bit after the first prefix bits; true when any was set.
bool clear_host_bits(Bytes& bytes, int prefix)
{
    bool any_set = false;
    for (int index = 0; index < 16; ++index) {
        const int bits_kept = std::clamp(prefix - index * 8, 0, 8);
        const auto mask = static_cast<std::uint8_t>(bits_kept == 0 ? 0 : 0xff << (8 - bits_kept));
        if (bytes[index] & ~mask) any_set = true;
        bytes[index] &= mask;
    }
    return any_set;
}

// A prefix length: decimal digits only, no sign, no leading zero, at most max.
std::optional<int> parse_prefix_length(std::string_view text, int max)
{
    if (text.size() > 3 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
    return parse_decimal(text, max);
}

bool has_space(std::string_view text)
{
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text)
{
    // SMTP writes address literals as [192.0.2.1] and [IPv6:2001:db8::1]; accept both, bare too.
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    std::optional<Bytes> bytes;
    if (istarts_with(text, "IPv6:"))
        bytes = parse_v6(text.substr(5));
    else
        bytes = parse_plain(text);
    if (!bytes) return std::nullopt;
    return from_bytes(*bytes);
}

IpAddress IpAddress::from_bytes(const std::array<std::uint8_t, 16>& bytes)
{
    IpAddress address;
    address.bytes_ = bytes;
    return address;
}

std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* sa)
{
    if (!sa) return std::nullopt;
    if (sa->sa_family == AF_INET) {
        sockaddr_in v4{};
        std::memcpy(&v4, sa, sizeof v4);  // copy: sa may not be aligned for sockaddr_in
        return from_bytes(mapped_v4(reinterpret_cast<const std::uint8_t*>(&v4.sin_addr)));
    }
    if (sa->sa_family == AF_INET6) {
        sockaddr_in6 v6{};
        std::memcpy(&v6, sa, sizeof v6);
        Bytes bytes{};
        std::memcpy(bytes.data(), &v6.sin6_addr, 16);
        return from_bytes(bytes);
    }
    return std::nullopt;
}

bool IpAddress::is_v4() const { return is_v4_mapped(bytes_); }

std::string IpAddress::to_string() const
{
    char buffer[INET6_ADDRSTRLEN] = {};
    if (is_v4()) {
        inet_ntop(AF_INET, bytes_.data() + 12, buffer, sizeof buffer);
    } else {
        inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof buffer);
    }
    return buffer;
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* host_bits_warning)
{
    if (host_bits_warning) host_bits_warning->clear();
    if (text.empty() || has_space(text)) return std::nullopt;

    const auto slash = text.find('/');
    const std::string_view address_text = text.substr(0, slash);
    const bool has_prefix = slash != std::string_view::npos;

    Bytes base{};
    int prefix = 128;
    if (auto v4 = parse_v4(address_text)) {
        base = *v4;
        if (has_prefix) {
            const auto length = parse_prefix_length(text.substr(slash + 1), 32);
            if (!length) return std::nullopt;
            prefix = kV4MappedPrefix + *length;
        }
    } else if (auto v6 = parse_v6(address_text)) {
        base = *v6;
        if (has_prefix) {
            const auto length = parse_prefix_length(text.substr(slash + 1), 128);
            if (!length) return std::nullopt;
            prefix = *length;
        }
    } else {
        return std::nullopt;
    }
    const bool had_host_bits = clear_host_bits(base, prefix);
    Cidr cidr;
    cidr.base_ = IpAddress::from_bytes(base);
    cidr.prefix_ = prefix;
    // A typo such as 192.0.2.7/24 usually means the network; say what we understood.
    if (had_host_bits && host_bits_warning)
        *host_bits_warning = std::string(text) + " has host bits set; using " + cidr.to_string();
    return cidr;
}

bool Cidr::contains(const IpAddress& address) const
{
    const auto& base = base_.bytes();
    const auto& candidate = address.bytes();
    const int whole_bytes = prefix_ / 8;
    if (!std::equal(base.begin(), base.begin() + whole_bytes, candidate.begin())) return false;
    const int remaining_bits = prefix_ % 8;
    if (remaining_bits == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - remaining_bits));
    return (base[whole_bytes] & mask) == (candidate[whole_bytes] & mask);
}

std::string Cidr::to_string() const
{
    if (base_.is_v4() && prefix_ >= kV4MappedPrefix)
        return base_.to_string() + "/" + std::to_string(prefix_ - kV4MappedPrefix);
    char buffer[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, base_.bytes().data(), buffer, sizeof buffer);
    return std::string(buffer) + "/" + std::to_string(prefix_);
}

bool NetworkSet::contains(const IpAddress& address) const
{
    return std::any_of(cidrs_.begin(), cidrs_.end(),
                       [&](const Cidr& cidr) { return cidr.contains(address); });
}

}  // namespace ecomm

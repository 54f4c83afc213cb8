// Unit tests for IP addresses and CIDR networks: IPv4, IPv6 and IPv4-mapped parsing and text,
// network edges, and every malformed network form the loaders must refuse.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cppunit/extensions/HelperMacros.h>

#include <cstring>

#include "net/ip_address.h"

namespace ecomm {
namespace {

IpAddress address(const char* text)
{
    const auto parsed = IpAddress::parse(text);
    CPPUNIT_ASSERT_MESSAGE(std::string("parse ") + text, parsed.has_value());
    return *parsed;
}

Cidr network(const char* text)
{
    const auto parsed = Cidr::parse(text);
    CPPUNIT_ASSERT_MESSAGE(std::string("parse ") + text, parsed.has_value());
    return *parsed;
}

}  // namespace

class IpAddressTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(IpAddressTest);
    CPPUNIT_TEST(parses_ipv4);
    CPPUNIT_TEST(parses_ipv6_in_rfc5952_form);
    CPPUNIT_TEST(mapped_ipv6_is_the_ipv4_address);
    CPPUNIT_TEST(accepts_smtp_address_literals);
    CPPUNIT_TEST(rejects_malformed_addresses);
    CPPUNIT_TEST(converts_sockaddrs);
    CPPUNIT_TEST(ipv4_network_edges);
    CPPUNIT_TEST(odd_prefix_edges);
    CPPUNIT_TEST(zero_prefix_networks);
    CPPUNIT_TEST(host_routes);
    CPPUNIT_TEST(ipv6_network_edges);
    CPPUNIT_TEST(mapped_client_matches_ipv4_network);
    CPPUNIT_TEST(ipv6_network_does_not_match_ipv4);
    CPPUNIT_TEST(network_text_is_canonical);
    CPPUNIT_TEST(host_bits_are_cleared_with_a_warning);
    CPPUNIT_TEST(rejects_malformed_networks);
    CPPUNIT_TEST(network_set_contains_any_member);
    CPPUNIT_TEST_SUITE_END();

public:
    void parses_ipv4()
    {
        const auto a = address("192.0.2.1");
        CPPUNIT_ASSERT(a.is_v4());
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.1"), a.to_string());
        const std::array<std::uint8_t, 16> expected{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
        CPPUNIT_ASSERT(a.bytes() == expected);
    }

    void parses_ipv6_in_rfc5952_form()
    {
        CPPUNIT_ASSERT(!address("2001:db8::1").is_v4());
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::1"), address("2001:0DB8:0000:0000:0000:0000:0000:0001").to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::1:0:0:1"), address("2001:db8:0:0:1:0:0:1").to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), address("::1").to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("::"), address("::").to_string());
    }

    void mapped_ipv6_is_the_ipv4_address()
    {
        const auto mapped = address("::ffff:192.0.2.1");
        CPPUNIT_ASSERT(mapped == address("192.0.2.1"));
        CPPUNIT_ASSERT(mapped.is_v4());
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.1"), mapped.to_string());
        CPPUNIT_ASSERT(address("::FFFF:c000:0201") == address("192.0.2.1"));
        // The IPv4-compatible form (deprecated) is an ordinary IPv6 address, not IPv4.
        CPPUNIT_ASSERT(!address("::192.0.2.1").is_v4());
    }

    void accepts_smtp_address_literals()
    {
        CPPUNIT_ASSERT(address("[192.0.2.1]") == address("192.0.2.1"));
        CPPUNIT_ASSERT(address("[IPv6:2001:db8::1]") == address("2001:db8::1"));
        CPPUNIT_ASSERT(address("IPv6:2001:db8::1") == address("2001:db8::1"));
        CPPUNIT_ASSERT(address("ipv6:2001:db8::1") == address("2001:db8::1"));
        CPPUNIT_ASSERT(address("[::ffff:192.0.2.1]") == address("192.0.2.1"));
    }

    void rejects_malformed_addresses()
    {
        for (const char* text : {"", "192.0.2", "192.0.2.256", "192.0.2.1 ", " 192.0.2.1", "[192.0.2.1",
                                 "192.0.2.1]", "IPv6:192.0.2.1", "2001:db8::1%eth0", "2001:db8:::1",
                                 "mail.example.edu", "01.2.3.4", "[]", "IPv6:", "192.0.2.1/32"}) {
            CPPUNIT_ASSERT_MESSAGE(std::string("accepted '") + text + "'", !IpAddress::parse(text));
        }
    }

    void converts_sockaddrs()
    {
        sockaddr_in v4{};
        v4.sin_family = AF_INET;
        inet_pton(AF_INET, "198.51.100.7", &v4.sin_addr);
        const auto from_v4 = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4));
        CPPUNIT_ASSERT(from_v4 && *from_v4 == address("198.51.100.7"));

        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        inet_pton(AF_INET6, "2001:db8::25", &v6.sin6_addr);
        const auto from_v6 = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6));
        CPPUNIT_ASSERT(from_v6 && *from_v6 == address("2001:db8::25"));

        inet_pton(AF_INET6, "::ffff:198.51.100.7", &v6.sin6_addr);
        const auto from_mapped = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6));
        CPPUNIT_ASSERT(from_mapped && *from_mapped == address("198.51.100.7"));

        sockaddr_un local{};
        local.sun_family = AF_UNIX;
        CPPUNIT_ASSERT(!IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&local)));
        CPPUNIT_ASSERT(!IpAddress::from_sockaddr(nullptr));
    }

    void ipv4_network_edges()
    {
        const auto net = network("192.0.2.0/24");
        CPPUNIT_ASSERT(net.contains(address("192.0.2.0")));
        CPPUNIT_ASSERT(net.contains(address("192.0.2.255")));
        CPPUNIT_ASSERT(!net.contains(address("192.0.1.255")));
        CPPUNIT_ASSERT(!net.contains(address("192.0.3.0")));
        CPPUNIT_ASSERT_EQUAL(120, net.prefix_length());
    }

    void odd_prefix_edges()
    {
        const auto net = network("10.0.0.0/9");
        CPPUNIT_ASSERT(net.contains(address("10.127.255.255")));
        CPPUNIT_ASSERT(!net.contains(address("10.128.0.0")));
        const auto v6 = network("2001:db8:8000::/33");
        CPPUNIT_ASSERT(v6.contains(address("2001:db8:ffff::1")));
        CPPUNIT_ASSERT(!v6.contains(address("2001:db8:7fff::1")));
    }

    void zero_prefix_networks()
    {
        const auto all_v4 = network("0.0.0.0/0");
        CPPUNIT_ASSERT(all_v4.contains(address("0.0.0.0")));
        CPPUNIT_ASSERT(all_v4.contains(address("255.255.255.255")));
        CPPUNIT_ASSERT(!all_v4.contains(address("2001:db8::1")));
        const auto everything = network("::/0");
        CPPUNIT_ASSERT(everything.contains(address("2001:db8::1")));
        CPPUNIT_ASSERT(everything.contains(address("192.0.2.1")));
        CPPUNIT_ASSERT_EQUAL(0, everything.prefix_length());
    }

    void host_routes()
    {
        const auto v4 = network("192.0.2.7/32");
        CPPUNIT_ASSERT(v4.contains(address("192.0.2.7")));
        CPPUNIT_ASSERT(!v4.contains(address("192.0.2.6")));
        CPPUNIT_ASSERT(!v4.contains(address("192.0.2.8")));
        CPPUNIT_ASSERT_EQUAL(128, v4.prefix_length());

        const auto bare = network("192.0.2.7");
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.7/32"), bare.to_string());
        CPPUNIT_ASSERT(bare.contains(address("192.0.2.7")));

        const auto v6 = network("2001:db8::7/128");
        CPPUNIT_ASSERT(v6.contains(address("2001:db8::7")));
        CPPUNIT_ASSERT(!v6.contains(address("2001:db8::6")));
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::7/128"), network("2001:db8::7").to_string());
    }

    void ipv6_network_edges()
    {
        const auto net = network("2001:db8::/32");
        CPPUNIT_ASSERT(net.contains(address("2001:db8::")));
        CPPUNIT_ASSERT(net.contains(address("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
        CPPUNIT_ASSERT(!net.contains(address("2001:db9::")));
        CPPUNIT_ASSERT(!net.contains(address("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));
    }

    void mapped_client_matches_ipv4_network()
    {
        CPPUNIT_ASSERT(network("192.0.2.0/24").contains(address("::ffff:192.0.2.7")));
        CPPUNIT_ASSERT(!network("192.0.2.0/24").contains(address("::ffff:192.0.3.7")));
        // A mapped network written in IPv6 form is the same network.
        CPPUNIT_ASSERT(network("::ffff:192.0.2.0/120").contains(address("192.0.2.9")));
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.0/24"), network("::ffff:192.0.2.0/120").to_string());
    }

    void ipv6_network_does_not_match_ipv4()
    {
        CPPUNIT_ASSERT(!network("2001:db8::/32").contains(address("192.0.2.1")));
        CPPUNIT_ASSERT(!network("2000::/3").contains(address("192.0.2.1")));
        CPPUNIT_ASSERT(!network("192.0.2.0/24").contains(address("2001:db8::c000:201")));
    }

    void network_text_is_canonical()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.0/24"), network("192.0.2.0/24").to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::/32"), network("2001:DB8:0:0::/32").to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("0.0.0.0/0"), network("0.0.0.0/0").to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("::/0"), network("::/0").to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("::1/128"), network("::1/128").to_string());
    }

    void host_bits_are_cleared_with_a_warning()
    {
        std::string warning = "stale";
        const auto net = Cidr::parse("192.0.2.7/24", &warning);
        CPPUNIT_ASSERT(net);
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.0/24"), net->to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.7/24 has host bits set; using 192.0.2.0/24"), warning);
        CPPUNIT_ASSERT(net->contains(address("192.0.2.200")));

        const auto v6 = Cidr::parse("2001:db8::1/32", &warning);
        CPPUNIT_ASSERT(v6);
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::1/32 has host bits set; using 2001:db8::/32"), warning);

        CPPUNIT_ASSERT(Cidr::parse("192.0.2.0/24", &warning));
        CPPUNIT_ASSERT_EQUAL(std::string(), warning);
        CPPUNIT_ASSERT(Cidr::parse("192.0.2.7/24"));  // no warning asked for: still parses
    }

    void rejects_malformed_networks()
    {
        for (const char* text : {"10.0.0.0/33", "10.0.0/8", "/8", "1.2.3.4/", "1.2.3.4/08x", " 10.0.0.0/8",
                                 "10.0.0.0/8 ", "10.0.0.0 /8", "10.0.0.0/ 8", "10.0.0.0/8/8", "10.0.0.0/-1",
                                 "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/1000", "2001:db8::/129", "",
                                 "[10.0.0.0]/8", "IPv6:2001:db8::/32", "2001:db8::/", "example.edu/24",
                                 "10.0.0.0/8,", "10.0.0.0\t/8"}) {
            CPPUNIT_ASSERT_MESSAGE(std::string("accepted '") + text + "'", !Cidr::parse(text));
        }
    }

    void network_set_contains_any_member()
    {
        NetworkSet set;
        CPPUNIT_ASSERT(set.empty());
        CPPUNIT_ASSERT(!set.contains(address("127.0.0.1")));
        set.add(network("127.0.0.0/8"));
        set.add(network("::1/128"));
        CPPUNIT_ASSERT(!set.empty());
        CPPUNIT_ASSERT(set.contains(address("127.1.2.3")));
        CPPUNIT_ASSERT(set.contains(address("::1")));
        CPPUNIT_ASSERT(set.contains(address("::ffff:127.0.0.1")));
        CPPUNIT_ASSERT(!set.contains(address("10.0.0.1")));
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, set.cidrs().size());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(IpAddressTest);

}  // namespace ecomm

// Address parsing: domains, subdomain matching, From: header address lists, identifier tokens.
#include <cppunit/extensions/HelperMacros.h>

#include "mail/address.h"

using namespace ecomm;

class AddressTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AddressTest);
    CPPUNIT_TEST(domainOfLowerCasesAndStripsTrailingDot);
    CPPUNIT_TEST(domainInMatchesSubdomainsOnly);
    CPPUNIT_TEST(headerAddressesSkipDisplayNamesAndComments);
    CPPUNIT_TEST(headerAddressesHandleGroupsAndQuotedCommas);
    CPPUNIT_TEST(headerAddressesAreBounded);
    CPPUNIT_TEST(tokensNeedBoundaries);
    CPPUNIT_TEST_SUITE_END();

public:
    void domainOfLowerCasesAndStripsTrailingDot()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("example.edu"), domain_of("Dean@Example.EDU."));
        CPPUNIT_ASSERT_EQUAL(std::string("b.c"), domain_of("\"a@x\"@b.c"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), domain_of("no-at-sign"));
        CPPUNIT_ASSERT_EQUAL(std::string("bounce-1"), std::string(local_part_of("bounce-1@e.example.edu")));
    }

    void domainInMatchesSubdomainsOnly()
    {
        const std::vector<std::string> university{"example.edu"};
        CPPUNIT_ASSERT(domain_in("example.edu", university));
        CPPUNIT_ASSERT(domain_in("E.Example.Edu", university));
        CPPUNIT_ASSERT(domain_in("a.b.example.edu", university));
        CPPUNIT_ASSERT(!domain_in("notexample.edu", university));
        CPPUNIT_ASSERT(!domain_in("example.edu.evil.test", university));
        CPPUNIT_ASSERT(!domain_in("", university));
    }

    void headerAddressesSkipDisplayNamesAndComments()
    {
        auto found = header_addresses("\"Dean, Office <x@evil.test>\" <dean@example.edu> (comment x@c.test)");
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, found.size());
        CPPUNIT_ASSERT_EQUAL(std::string("dean@example.edu"), found[0]);

        found = header_addresses("plain@outside.test");
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, found.size());
        CPPUNIT_ASSERT_EQUAL(std::string("plain@outside.test"), found[0]);

        found = header_addresses("Name <@route.test:user@example.edu>");
        CPPUNIT_ASSERT_EQUAL(std::string("user@example.edu"), found.at(0));

        found = header_addresses("=?UTF-8?B?RGVhbg==?= <dean@example.edu>");
        CPPUNIT_ASSERT_EQUAL(std::string("dean@example.edu"), found.at(0));
    }

    void headerAddressesHandleGroupsAndQuotedCommas()
    {
        auto found = header_addresses("Team: a@outside.test, \"B, b\" <b@example.edu>;, c@x.test");
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, found.size());
        CPPUNIT_ASSERT_EQUAL(std::string("a@outside.test"), found[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("b@example.edu"), found[1]);
        CPPUNIT_ASSERT_EQUAL(std::string("c@x.test"), found[2]);
        CPPUNIT_ASSERT(header_addresses("undisclosed-recipients:;").empty());
        CPPUNIT_ASSERT(header_addresses("<<<<\"\\").empty());
    }

    void headerAddressesAreBounded()
    {
        std::string many;
        for (int i = 0; i < 500; ++i) many += "a" + std::to_string(i) + "@x.test, ";
        CPPUNIT_ASSERT_EQUAL(std::size_t{64}, header_addresses(many).size());
    }

    void tokensNeedBoundaries()
    {
        CPPUNIT_ASSERT(contains_token("bounce-mc7f3a-42", "mc7f3a"));
        CPPUNIT_ASSERT(contains_token("MC7F3A", "mc7f3a"));
        CPPUNIT_ASSERT(contains_token("x.mc7f3a", "mc7f3a"));
        CPPUNIT_ASSERT(!contains_token("bounce-xmc7f3a-42", "mc7f3a"));
        CPPUNIT_ASSERT(!contains_token("bounce-mc7f3a42", "mc7f3a"));
        CPPUNIT_ASSERT(!contains_token("mc7f", "mc7f3a"));
        CPPUNIT_ASSERT(!contains_token("anything", ""));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AddressTest);

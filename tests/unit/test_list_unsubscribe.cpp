// List-Unsubscribe (RFC 2369) and one-click (RFC 8058): what counts as a mechanism.
#include <cppunit/extensions/HelperMacros.h>

#include "mail/list_unsubscribe.h"

using namespace ecomm;

class ListUnsubscribeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ListUnsubscribeTest);
    CPPUNIT_TEST(httpsAndMailtoAreMechanisms);
    CPPUNIT_TEST(httpIsReportedApart);
    CPPUNIT_TEST(mailtoOnly);
    CPPUNIT_TEST(commentsFoldingAndWhitespaceInsideBrackets);
    CPPUNIT_TEST(missingCommaStillSeparates);
    CPPUNIT_TEST(garbageDoesNotCount);
    CPPUNIT_TEST(garbageBesideAGoodUriLeavesItCounting);
    CPPUNIT_TEST(classifyIsStrict);
    CPPUNIT_TEST(urisAreBounded);
    CPPUNIT_TEST(severalFieldsMerge);
    CPPUNIT_TEST(oneClickNeedsHttpsAndTheExactValue);
    CPPUNIT_TEST_SUITE_END();

public:
    void httpsAndMailtoAreMechanisms()
    {
        const auto parsed = parse_list_unsubscribe(
            "<https://e.example.edu/u/42?t=a%2Fb>, <mailto:leave-42@e.example.edu?subject=unsubscribe>");
        CPPUNIT_ASSERT(parsed.https);
        CPPUNIT_ASSERT(parsed.mailto);
        CPPUNIT_ASSERT(!parsed.http);
        CPPUNIT_ASSERT(parsed.has_mechanism());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, parsed.uris.size());
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/u/42?t=a%2Fb"), parsed.uris[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("mailto:leave-42@e.example.edu?subject=unsubscribe"), parsed.uris[1]);
        CPPUNIT_ASSERT(parsed.ignored.empty());
    }

    void httpIsReportedApart()
    {
        const auto parsed = parse_list_unsubscribe("<http://www.host.com/list.cgi?cmd=unsub&lst=list>");
        CPPUNIT_ASSERT(parsed.http);
        CPPUNIT_ASSERT(!parsed.https);
        CPPUNIT_ASSERT(!parsed.mailto);
        CPPUNIT_ASSERT(parsed.has_mechanism());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, parsed.uris.size());
    }

    void mailtoOnly()
    {
        const auto parsed = parse_list_unsubscribe("<MAILTO:list-request@host.com?subject=unsubscribe>");
        CPPUNIT_ASSERT(parsed.mailto);
        CPPUNIT_ASSERT(!parsed.https && !parsed.http);
        CPPUNIT_ASSERT(parsed.has_mechanism());
        CPPUNIT_ASSERT(parse_list_unsubscribe("<mailto:a@x.example,b@y.example>").mailto);
    }

    void commentsFoldingAndWhitespaceInsideBrackets()
    {
        const auto parsed = parse_list_unsubscribe(
            "(web form (nested) \\) still comment) <https://e.example.edu/\r\n very/long\t/path>\r\n"
            " (mail, with a comma), (another) <mailto:\r\n\tu@e.example.edu>");
        CPPUNIT_ASSERT(parsed.https);
        CPPUNIT_ASSERT(parsed.mailto);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, parsed.uris.size());
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/very/long/path"), parsed.uris[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("mailto:u@e.example.edu"), parsed.uris[1]);
        CPPUNIT_ASSERT(parsed.ignored.empty());
        // Empty elements are harmless.
        CPPUNIT_ASSERT(parse_list_unsubscribe(" , ,<https://a.example/>,, ").https);
    }

    void missingCommaStillSeparates()
    {
        const auto parsed = parse_list_unsubscribe("<https://a.example/u> <mailto:u@a.example>");
        CPPUNIT_ASSERT(parsed.https && parsed.mailto);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, parsed.uris.size());
    }

    void garbageDoesNotCount()
    {
        for (const char* value : {"", "   ", "NO", "https://e.example.edu/u (not bracketed)",
                                  "<>", "< >", "<unsubscribe>", "<ftp://ftp.host.com/unsub>",
                                  "<javascript:alert(1)>", "<https://>", "<https:e.example.edu/u>",
                                  "<https://localhost/u>", "<https://{{unsubscribe_url}}>",
                                  "<https://e.example.edu/u/{{id}}>", "<https://e.example.edu/a\\b>",
                                  "<https://e.example.edu/%zz>", "<https://-bad-.example/>",
                                  "<https://e.example.edu:0/>", "<https://e.example.edu:99999/>",
                                  "<mailto:>", "<mailto:@e.example.edu>", "<mailto:nobody>",
                                  "<mailto:u@localhost>", "<mailto:?to=u@e.example.edu>",
                                  "<https://e.example.edu/u", "(only a comment)",
                                  "<https://\xc3\xa9.example/u>"}) {
            const auto parsed = parse_list_unsubscribe(value);
            CPPUNIT_ASSERT_MESSAGE(value, !parsed.https && !parsed.http && !parsed.mailto);
            CPPUNIT_ASSERT_MESSAGE(value, parsed.uris.empty());
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, parse_list_unsubscribe("<ftp://h.example/x>").ignored.size());
        CPPUNIT_ASSERT_EQUAL(std::string("'NO (no list)'"), parse_list_unsubscribe("NO (no list), <https://a.example/>").ignored.at(0));
    }

    void garbageBesideAGoodUriLeavesItCounting()
    {
        const auto parsed = parse_list_unsubscribe("junk, <{{unsub}}>, <https://e.example.edu/u>, trailing junk");
        CPPUNIT_ASSERT(parsed.https);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, parsed.uris.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, parsed.ignored.size());
    }

    void classifyIsStrict()
    {
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://e.example.edu") == UnsubscribeUri::https);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("HTTPS://E.EXAMPLE.EDU./u#x") == UnsubscribeUri::https);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://user@e.example.edu:8443/u") == UnsubscribeUri::https);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://192.0.2.7/u") == UnsubscribeUri::https);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://[2001:db8::1]:443/u") == UnsubscribeUri::https);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://xn--bcher-kva.example/u") == UnsubscribeUri::https);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("http://e.example.edu/u") == UnsubscribeUri::http);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("mailto:a+b@e.example.edu") == UnsubscribeUri::mailto);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://[zz]/u") == UnsubscribeUri::none);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://e..example/u") == UnsubscribeUri::none);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://e.example.edu:/u") == UnsubscribeUri::none);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://e.example.edu/\"x") == UnsubscribeUri::none);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("https://e.example.edu/%4") == UnsubscribeUri::none);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("#") == UnsubscribeUri::none);
        CPPUNIT_ASSERT(classify_unsubscribe_uri("") == UnsubscribeUri::none);
        CPPUNIT_ASSERT(classify_unsubscribe_uri(std::string("https://e.example.edu/\0x", 24)) == UnsubscribeUri::none);
    }

    void urisAreBounded()
    {
        std::string value;
        for (int i = 0; i < 50; ++i) value += "<https://e.example.edu/u" + std::to_string(i) + ">, <ftp://x/>, ";
        value += "<https://e.example.edu/" + std::string(5000, 'a') + ">";
        const auto parsed = parse_list_unsubscribe(value);
        CPPUNIT_ASSERT(parsed.https);
        CPPUNIT_ASSERT_EQUAL(std::size_t{8}, parsed.uris.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{8}, parsed.ignored.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, parse_list_unsubscribe(value, 2).uris.size());
        const auto longest = parse_list_unsubscribe("<https://e.example.edu/" + std::string(5000, 'a') + ">");
        CPPUNIT_ASSERT_EQUAL(max_uri_chars, longest.uris.at(0).size());
        for (const auto& ignored : parse_list_unsubscribe("<ftp://" + std::string(500, 'x') + ">").ignored)
            CPPUNIT_ASSERT(ignored.size() < 100);
    }

    void severalFieldsMerge()
    {
        const auto parsed = parse_list_unsubscribe(std::vector<std::string_view>{"<ftp://x.example/>", "<https://e.example.edu/u>"});
        CPPUNIT_ASSERT(parsed.https);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, parsed.ignored.size());
    }

    void oneClickNeedsHttpsAndTheExactValue()
    {
        const auto https = parse_list_unsubscribe("<mailto:u@e.example.edu>, <https://e.example.edu/u/42>");
        const auto http = parse_list_unsubscribe("<http://e.example.edu/u/42>");
        const auto mailto = parse_list_unsubscribe("<mailto:u@e.example.edu>");
        using Values = std::vector<std::string_view>;
        CPPUNIT_ASSERT(check_one_click(https, Values{"List-Unsubscribe=One-Click"}) == OneClick::valid);
        CPPUNIT_ASSERT(check_one_click(https, Values{" list-unsubscribe=one-click\r\n "}) == OneClick::valid);
        CPPUNIT_ASSERT(check_one_click(https, Values{}) == OneClick::absent);
        CPPUNIT_ASSERT(check_one_click(http, Values{"List-Unsubscribe=One-Click"}) == OneClick::without_https);
        CPPUNIT_ASSERT(check_one_click(mailto, Values{"List-Unsubscribe=One-Click"}) == OneClick::without_https);
        CPPUNIT_ASSERT(check_one_click(https, Values{"List-Unsubscribe=One-Click; x=y"}) == OneClick::malformed);
        CPPUNIT_ASSERT(check_one_click(https, Values{"One-Click"}) == OneClick::malformed);
        CPPUNIT_ASSERT(check_one_click(https, Values{""}) == OneClick::malformed);
        CPPUNIT_ASSERT(check_one_click(https, Values{"List-Unsubscribe=One-Click", "List-Unsubscribe=One-Click"})
                       == OneClick::malformed);
        CPPUNIT_ASSERT_EQUAL(std::string("without-https"), std::string(to_string(OneClick::without_https)));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ListUnsubscribeTest);

// The body search for an unsubscribe or preferences link: HTML anchors, plain-text URLs near
// the words, streaming across chunk boundaries, bounded memory, and no false positives.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "mail/unsubscribe_link_finder.h"
#include "vector_paths.h"

using namespace ecomm;

namespace {

// Feeds one text part in chunks of the given size (0: all at once) and returns the finder.
UnsubscribeLinkFinder scan(const std::string& text, bool html, std::size_t chunk = 0)
{
    UnsubscribeLinkFinder finder;
    finder.begin_text(html);
    if (chunk == 0) chunk = text.size() + 1;
    for (std::size_t at = 0; at < text.size(); at += chunk) finder.text(std::string_view(text).substr(at, chunk));
    finder.end_text();
    return finder;
}

// Naive reference for UnsubscribeLinkFinder::candidates.
std::vector<std::pair<std::size_t, unsigned>> reference_candidates(const std::string& text, bool html, std::size_t from,
                                                                   std::size_t stop)
{
    const std::vector<std::string> words = {"unsub", "opt", "preference", html ? "<a" : "http", html ? "</a" : "mailto:"};
    std::vector<std::pair<std::size_t, unsigned>> out;
    for (std::size_t pos = from; pos < std::min(stop, text.size()); ++pos)
        for (unsigned i = 0; i < words.size(); ++i) {
            if (pos + words[i].size() > text.size()) continue;
            bool same = true;
            for (std::size_t k = 0; k < words[i].size(); ++k) {
                const char c = text[pos + k];
                same = same && (c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c) == words[i][k];
            }
            if (same) out.emplace_back(pos, i);
        }
    return out;
}

bool found_html(const std::string& text) { return scan(text, true).found(); }
bool found_plain(const std::string& text) { return scan(text, false).found(); }

const std::string html_sample =
    "<html><head><style>p{color:red}</style></head><body><p>Dear student,</p>\r\n"
    "<p>Spring options are open. See <a href=\"https://www.example.edu/events\">events</a>.</p>\r\n"
    "<p style=\"font-size:9px\">You received this because you asked. "
    "<a class=\"footer\" href=\"https://e.example.edu/p?u=42&amp;l=7\">Unsubscribe</a></p></body></html>\r\n";

const std::string plain_sample =
    "Dear student,\r\nSpring options are open: https://www.example.edu/events\r\n\r\n"
    "To unsubscribe visit\r\nhttps://e.example.edu/p/42\r\nThanks.\r\n";

}  // namespace

class UnsubscribeLinkFinderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(UnsubscribeLinkFinderTest);
    CPPUNIT_TEST(anchorTextUnsubscribe);
    CPPUNIT_TEST(hrefContainsUnsubscribe);
    CPPUNIT_TEST(preferencesLinks);
    CPPUNIT_TEST(optOutVariants);
    CPPUNIT_TEST(keywordNextToAnchor);
    CPPUNIT_TEST(entityEncodedHrefs);
    CPPUNIT_TEST(deadLinksDoNotCount);
    CPPUNIT_TEST(plainUrlAfterWords);
    CPPUNIT_TEST(plainUrlContainingWord);
    CPPUNIT_TEST(plainFarOrUnrelatedUrlDoesNotCount);
    CPPUNIT_TEST(mentionWithoutLinkIsNotFound);
    CPPUNIT_TEST(everySplitOffset);
    CPPUNIT_TEST(everyChunkSize);
    CPPUNIT_TEST(longMessageWithoutLinkStaysBounded);
    CPPUNIT_TEST(linkAtTheEndOfALongMessage);
    CPPUNIT_TEST(hostileMarkupIsBounded);
    CPPUNIT_TEST(partsAreIndependentAndResetForgets);
    CPPUNIT_TEST(chunkingNeverChangesTheAnswer);
    CPPUNIT_TEST(everySearchPathFindsEveryCandidate);
    CPPUNIT_TEST(everySearchPathGivesTheSameAnswers);
    CPPUNIT_TEST_SUITE_END();

public:
    void anchorTextUnsubscribe()
    {
        const auto finder = scan(html_sample, true);
        CPPUNIT_ASSERT(finder.found());
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/p?u=42&l=7"), finder.evidence());
        CPPUNIT_ASSERT(found_html("<A HREF=https://e.example.edu/x>UNSUBSCRIBE</A>"));
        CPPUNIT_ASSERT(found_html("<a\nhref = 'https://e.example.edu/x'\n><span><b>Unsubscribe</b></span></a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"https://e.example.edu/x\"><img alt=\"Unsubscribe\" src=\"u.png\"></a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"mailto:leave@e.example.edu\">unsubscribe</a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"http://e.example.edu/x\">Unsubscribe</a>"));
    }

    void hrefContainsUnsubscribe()
    {
        const auto finder = scan("<p>Footer</p><a href=\"https://e.example.edu/unsubscribe?id=9\">here</a>", true);
        CPPUNIT_ASSERT(finder.found());
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/unsubscribe?id=9"), finder.evidence());
        CPPUNIT_ASSERT(found_html("<a title=x href='https://e.example.edu/Unsub/9'>x</a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"mailto:list@e.example.edu?subject=unsubscribe\">leave</a>"));
        // An unsubscribe word in another attribute does not make a dead href live.
        CPPUNIT_ASSERT(!found_html("<a data-href=\"https://e.example.edu/unsubscribe\" href=\"#\">x</a>"));
    }

    void preferencesLinks()
    {
        CPPUNIT_ASSERT(found_html("<a href=\"https://e.example.edu/p\">Manage email preferences</a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"https://e.example.edu/p\">Preferences</a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"https://e.example.edu/email-preferences?u=1\">Settings</a>"));
        CPPUNIT_ASSERT(found_html("Update your preferences: <a href=\"https://e.example.edu/p\">here</a>"));
        CPPUNIT_ASSERT(found_plain("Manage your subscription preferences at https://e.example.edu/p/1"));
        CPPUNIT_ASSERT(found_plain("Update your preferences:\nhttps://e.example.edu/p/1\n"));
        // "preferences" alone in running text is not enough.
        CPPUNIT_ASSERT(!found_plain("Tell us your dinner preferences at https://e.example.edu/rsvp\n"));
        CPPUNIT_ASSERT(!found_html("Tell us your dinner preferences: <a href=\"https://e.example.edu/rsvp\">RSVP</a>"));
    }

    void optOutVariants()
    {
        CPPUNIT_ASSERT(found_html("<a href=\"https://e.example.edu/x\">Opt out</a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"https://e.example.edu/x\">Opt-Out</a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"https://e.example.edu/x\">opt&nbsp;out</a>"));
        CPPUNIT_ASSERT(found_html("<a href=\"https://e.example.edu/optout?u=1\">here</a>"));
        CPPUNIT_ASSERT(found_plain("To opt out, visit https://e.example.edu/x"));
        CPPUNIT_ASSERT(!found_plain("Adopt outdoor habits: https://e.example.edu/x"));
        CPPUNIT_ASSERT(!found_plain("Options outlined at https://e.example.edu/x"));
    }

    void keywordNextToAnchor()
    {
        CPPUNIT_ASSERT(found_html("<p>To unsubscribe from these emails, <a href=\"https://e.example.edu/x\">click here</a>.</p>"));
        CPPUNIT_ASSERT(found_html("<p><a href=\"https://e.example.edu/x\">Click here</a> to unsubscribe.</p>"));
        // Too far apart.
        CPPUNIT_ASSERT(!found_html("<p>You may unsubscribe at any time.</p>" + std::string(400, ' ')
                                   + "<a href=\"https://e.example.edu/shop\">Shop</a>"));
        CPPUNIT_ASSERT(!found_html("<a href=\"https://e.example.edu/shop\">Shop</a>" + std::string(200, ' ')
                                   + "<p>You may unsubscribe by writing to us.</p>"));
    }

    void entityEncodedHrefs()
    {
        auto finder = scan("<a href=\"https&#58;//e.example.edu/&#117;nsubscribe?a=1&amp;b=2\">x</a>", true);
        CPPUNIT_ASSERT(finder.found());
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/unsubscribe?a=1&b=2"), finder.evidence());
        finder = scan("<a href=\"&#x68;ttps&colon;&sol;&sol;e.example.edu/x?a=1&amp;b=2\">Unsubscribe</a>", true);
        CPPUNIT_ASSERT(finder.found());
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/x?a=1&b=2"), finder.evidence());
        // Tabs and newlines inside the href are dropped, as browsers do.
        CPPUNIT_ASSERT(found_html("<a href=\" https://e.example.edu/un\r\n\tsubscribe \">x</a>"));
    }

    void deadLinksDoNotCount()
    {
        for (const char* html : {"<a href=\"#\">Unsubscribe</a>", "<a>Unsubscribe</a>",
                                 "<a href=\"javascript:void(0)\">Unsubscribe</a>",
                                 "<a href=\"{{unsubscribe_url}}\">Unsubscribe</a>",
                                 "<a href=\"https://{{host}}/u\">Unsubscribe</a>",
                                 "<a href=\"ftp://e.example.edu/unsubscribe\">Unsubscribe</a>",
                                 "<a href=\"https://localhost/unsubscribe\">Unsubscribe</a>",
                                 "<abbr title=\"https://e.example.edu/x\">Unsubscribe</abbr>",
                                 "<img src=\"https://e.example.edu/unsubscribe.png\">"})
            CPPUNIT_ASSERT_MESSAGE(html, !found_html(html));
    }

    void plainUrlAfterWords()
    {
        const auto finder = scan(plain_sample, false);
        CPPUNIT_ASSERT(finder.found());
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/p/42"), finder.evidence());
        CPPUNIT_ASSERT(found_plain("To unsubscribe visit https://e.example.edu/p/42."));
        CPPUNIT_ASSERT(found_plain("To unsubscribe visit:\n\n   \nhttps://e.example.edu/p/42\n"));
        CPPUNIT_ASSERT(found_plain("To unsubscribe, write to mailto:leave@e.example.edu"));
        CPPUNIT_ASSERT(found_plain("https://e.example.edu/p/42 (unsubscribe)\n"));
        CPPUNIT_ASSERT(found_plain("Unsubscribe: <HTTPS://E.EXAMPLE.EDU/P/42>\n"));
        // Plain text goes through the plain-text rules even when it carries markup.
        CPPUNIT_ASSERT(found_plain("To unsubscribe: <a href=\"https://e.example.edu/p\">x</a>"));
    }

    void plainUrlContainingWord()
    {
        const auto finder = scan("Stop these mails: https://e.example.edu/unsubscribe?u=1&l=2\n", false);
        CPPUNIT_ASSERT(finder.found());
        CPPUNIT_ASSERT_EQUAL(std::string("https://e.example.edu/unsubscribe?u=1&l=2"), finder.evidence());
        CPPUNIT_ASSERT(found_plain("x https://e.example.edu/email-preferences/9"));
    }

    void plainFarOrUnrelatedUrlDoesNotCount()
    {
        CPPUNIT_ASSERT(!found_plain("To unsubscribe reply STOP.\nOther news follows.\nhttps://e.example.edu/news\n"));
        CPPUNIT_ASSERT(!found_plain("https://e.example.edu/news\nYou can unsubscribe by replying STOP.\n"));
        CPPUNIT_ASSERT(!found_plain("Unsubscribe" + std::string(400, ' ') + "https://e.example.edu/news"));
        CPPUNIT_ASSERT(!found_plain("To unsubscribe visit https://localhost/x or ftp://e.example.edu/x"));
        CPPUNIT_ASSERT(!found_plain("To unsubscribe visit https://{{unsubscribe_url}}"));
    }

    void mentionWithoutLinkIsNotFound()
    {
        CPPUNIT_ASSERT(!found_plain("This notice is required; you cannot unsubscribe or opt out of it.\n"));
        CPPUNIT_ASSERT(!found_html("<p>This notice is required; you cannot unsubscribe or opt out of it.</p>"));
        const auto finder = scan("To unsubscribe, reply with the word STOP.", false);
        CPPUNIT_ASSERT(!finder.found());
        CPPUNIT_ASSERT_EQUAL(std::string(), finder.evidence());
    }

    void everySplitOffset()
    {
        const std::vector<std::pair<std::string, bool>> samples = {
            {html_sample, true},
            {plain_sample, false},
            {"<p>To unsubscribe, <a href=\"https://e.example.edu/x\">click</a></p>", true},
            {"<a href=\"https&#58;//e.example.edu/&#117;nsubscribe\">x</a>", true},
            {"Manage email preferences:\r\nhttps://e.example.edu/p", false},
        };
        for (const auto& [text, html] : samples) {
            const std::string expected = scan(text, html).evidence();
            CPPUNIT_ASSERT(!expected.empty());
            for (std::size_t split = 0; split <= text.size(); ++split) {
                UnsubscribeLinkFinder finder;
                finder.begin_text(html);
                finder.text(std::string_view(text).substr(0, split));
                finder.text(std::string_view(text).substr(split));
                finder.end_text();
                CPPUNIT_ASSERT_MESSAGE(text + " split at " + std::to_string(split), finder.found());
                CPPUNIT_ASSERT_EQUAL(expected, finder.evidence());
            }
        }
    }

    void everyChunkSize()
    {
        // Pad so that the interesting part crosses the internal block and look-ahead edges.
        const std::string padding(UnsubscribeLinkFinder::block_bytes - 37, 'x');
        for (std::size_t chunk = 1; chunk <= 64; ++chunk) {
            CPPUNIT_ASSERT(scan(padding + html_sample, true, chunk).found());
            CPPUNIT_ASSERT(scan(padding + plain_sample, false, chunk).found());
            CPPUNIT_ASSERT(!scan(padding + "To unsubscribe reply STOP.\n", false, chunk).found());
        }
        for (std::size_t offset = 0; offset < 300; ++offset) {
            const std::string text = std::string(UnsubscribeLinkFinder::block_bytes * 2 - offset, ' ') + html_sample;
            CPPUNIT_ASSERT(scan(text, true, 4096).found());
        }
    }

    void longMessageWithoutLinkStaysBounded()
    {
        const std::size_t bound = UnsubscribeLinkFinder::compact_bytes + 2 * (UnsubscribeLinkFinder::behind_bytes
                                       + UnsubscribeLinkFinder::lookahead_bytes + UnsubscribeLinkFinder::block_bytes);
        const std::string html_line =
            "<tr><td><a href=\"https://www.example.edu/news/1\">Options for optimal study</a> "
            "&amp; your dinner preferences. Adopt a plan.</td></tr>\r\n";
        const std::string plain_line = "Options for optimal study: https://www.example.edu/news/1 and more text.\r\n";
        for (bool html : {true, false}) {
            const std::string& line = html ? html_line : plain_line;
            std::string chunk;
            while (chunk.size() < 65536) chunk += line;
            UnsubscribeLinkFinder finder;
            finder.begin_text(html);
            std::size_t peak = 0;
            for (int i = 0; i < 320; ++i) {  // about 20 MB
                finder.text(chunk);
                peak = std::max(peak, finder.window_bytes());
            }
            // One 4 MB chunk in one call too.
            std::string big;
            while (big.size() < (4u << 20)) big += line;
            finder.text(big);
            peak = std::max(peak, finder.window_bytes());
            finder.end_text();
            CPPUNIT_ASSERT(!finder.found());
            CPPUNIT_ASSERT(peak <= bound);
        }
    }

    void linkAtTheEndOfALongMessage()
    {
        std::string text(3u << 20, 'a');
        for (std::size_t i = 80; i < text.size(); i += 81) text[i] = '\n';
        text += "\nTo unsubscribe visit https://e.example.edu/u/1\n";
        CPPUNIT_ASSERT(scan(text, false, 1000).found());
        CPPUNIT_ASSERT(scan(text, false).found());
    }

    void hostileMarkupIsBounded()
    {
        std::string tags;
        while (tags.size() < (1u << 20)) tags += "<a <a href='";
        CPPUNIT_ASSERT(!scan(tags, true).found());
        std::string urls;
        while (urls.size() < (1u << 20)) urls += "https://";
        CPPUNIT_ASSERT(!scan(urls, false).found());
        // An over-long href is cut at the look-ahead; the start still counts.
        const std::string long_href = "<a href=\"https://e.example.edu/unsubscribe/" + std::string(10000, 'z') + "\">x</a>";
        const auto finder = scan(long_href, true);
        CPPUNIT_ASSERT(finder.found());
        CPPUNIT_ASSERT_EQUAL(std::size_t{200}, finder.evidence().size());
        std::string binary;
        for (int i = 0; i < 70000; ++i) binary += static_cast<char>(i * 131 % 256);
        scan(binary, true, 333);
        scan(binary, false, 333);
    }

    void partsAreIndependentAndResetForgets()
    {
        UnsubscribeLinkFinder finder;
        finder.begin_text(false);
        finder.text("To unsubscribe visit");
        finder.end_text();
        finder.begin_text(false);
        finder.text("https://e.example.edu/news\n");
        finder.end_text();
        CPPUNIT_ASSERT(!finder.found());

        finder.begin_text(true);
        finder.text(html_sample);
        finder.end_text();
        CPPUNIT_ASSERT(finder.found());
        finder.begin_text(false);  // later parts do not undo a finding
        finder.text("nothing");
        finder.end_text();
        CPPUNIT_ASSERT(finder.found());

        finder.reset();
        CPPUNIT_ASSERT(!finder.found());
        CPPUNIT_ASSERT(finder.evidence().empty());
        finder.text("Unsubscribe: https://e.example.edu/x\n");  // no begin_text: plain text
        finder.end_text();
        CPPUNIT_ASSERT(finder.found());
    }

    void chunkingNeverChangesTheAnswer()
    {
        // Random texts from fragments that matter, fed whole and in random chunks: same answer.
        const std::vector<std::string> fragments = {
            "unsubscribe", "Unsub", "opt", " out", "-out", "preferences", "manage ", "email ",
            "<a href=\"https://e.example.edu/x\">", "<a href='#'>", "</a>", "<a ", "href=", "\"",
            "https://", "e.example.edu/n", "mailto:", "u@e.example.edu", "\r\n", "\n", " ",
            "text ", "&amp;", "&#117;", "<p>", "</p>", std::string(300, ' '), std::string(2100, 'y'), "<abbr>", "."};
        std::uint32_t state = 12345;
        const auto next = [&state](std::uint32_t bound) {
            state = state * 1103515245u + 12345u;
            return (state >> 8) % bound;
        };
        int found = 0;
        for (int round = 0; round < 400; ++round) {
            std::string text;
            const std::uint32_t pieces = 1 + next(40);
            for (std::uint32_t i = 0; i < pieces; ++i) text += fragments[next(static_cast<std::uint32_t>(fragments.size()))];
            const bool html = round % 2 == 0;
            const auto whole = scan(text, html);
            found += whole.found();
            for (int trial = 0; trial < 4; ++trial) {
                UnsubscribeLinkFinder finder;
                finder.begin_text(html);
                for (std::size_t at = 0; at < text.size();) {
                    const std::size_t n = 1 + next(trial == 0 ? 7 : 3000);
                    finder.text(std::string_view(text).substr(at, n));
                    at += n;
                }
                finder.end_text();
                CPPUNIT_ASSERT_EQUAL_MESSAGE(text, whole.found(), finder.found());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(text, whole.evidence(), finder.evidence());
            }
        }
        CPPUNIT_ASSERT(found > 20 && found < 380);  // the sample exercises both answers
    }

    // The scalar, SSE2 and AVX2 searches against a naive one: words in any case at every offset
    // across the 16- and 32-byte steps, cut off by the range's end or the text's, near misses,
    // and control bytes that the vector compare's case folding maps onto '<', '/' or ':'.
    void everySearchPathFindsEveryCandidate()
    {
        const auto paths = test::available_vector_paths();
        CPPUNIT_ASSERT(paths.size() >= 2);  // x86-64 has SSE2 at least
        const std::vector<std::string> fragments = {
            "unsub", "UNSUB", "uNsUbScRiBe", "uns", "unsu", "opt", "OPT", "op", "Opt", "preference", "PREFERENCE",
            "preferenc", "prefer", "http", "HTTP", "htt", "mailto:", "MAILTO:", "mailto", "mailto\x1a", "<a", "<A",
            "\x1c" "a", "</a", "</A", "<\x0f" "a", "\x1c/a", "<", "/", "x", " ", "\n", "e", "b", "t", ":", "\xff"};
        std::uint32_t state = 777;
        const auto next = [&state](std::uint32_t bound) {
            state = state * 1103515245u + 12345u;
            return (state >> 8) % bound;
        };
        int total = 0;
        for (int round = 0; round < 300; ++round) {
            std::string text;
            const std::uint32_t pieces = 1 + next(60);
            for (std::uint32_t i = 0; i < pieces; ++i) text += fragments[next(static_cast<std::uint32_t>(fragments.size()))];
            const bool html = round % 2 == 1;
            // Ranges starting and ending at every offset near the vector widths, and the whole text.
            std::vector<std::pair<std::size_t, std::size_t>> ranges = {{0, text.size()}, {0, text.size() + 5}};
            for (std::size_t cut : {1, 15, 16, 17, 31, 32, 33, 41, 47, 64, 65})
                if (cut <= text.size()) ranges.push_back({next(static_cast<std::uint32_t>(cut)), text.size() - cut + next(3)});
            for (const auto& [from, stop] : ranges) {
                const auto expected = reference_candidates(text, html, from, stop);
                total += static_cast<int>(expected.size());
                for (const auto path : paths) {
                    const test::ForcedVectorPath forced(path);
                    const auto got = UnsubscribeLinkFinder::candidates(text, html, from, stop);
                    CPPUNIT_ASSERT_MESSAGE("path " + test::vector_path_name(path) + " from " + std::to_string(from)
                                               + " stop " + std::to_string(stop) + ": " + text,
                                           got == expected);
                }
            }
        }
        CPPUNIT_ASSERT(total > 5000);  // the texts are full of candidates
        // A word at each offset of a long run: the first and last positions of each vector step.
        for (std::size_t offset = 0; offset < 80; ++offset) {
            const std::string text = std::string(offset, '.') + "Unsubscribe" + std::string(80 - offset, '.') + "MAILTO:";
            const auto expected = reference_candidates(text, false, 0, text.size());
            CPPUNIT_ASSERT_EQUAL(std::size_t{2}, expected.size());
            for (const auto path : paths) {
                const test::ForcedVectorPath forced(path);
                CPPUNIT_ASSERT(UnsubscribeLinkFinder::candidates(text, false, 0, text.size()) == expected);
                CPPUNIT_ASSERT(UnsubscribeLinkFinder::candidates(text, false, offset, offset + 1) ==
                               reference_candidates(text, false, offset, offset + 1));
            }
        }
        CPPUNIT_ASSERT(vector_path() == best_vector_path());
    }

    // The finder's answers do not depend on the search path, wherever the text falls against the
    // vector widths and the block and look-ahead edges.
    void everySearchPathGivesTheSameAnswers()
    {
        const std::vector<std::pair<std::string, bool>> samples = {
            {html_sample, true},
            {plain_sample, false},
            {"<p>To unsubscribe, <a href=\"https://e.example.edu/x\">click</a></p>", true},
            {"Manage email preferences:\r\nhttps://e.example.edu/p", false},
            {"To OPT-OUT write to MAILTO:leave@e.example.edu", false},
            {"Tell us your dinner preferences at https://e.example.edu/rsvp\n", false},  // not found
        };
        for (const auto& [sample, html] : samples) {
            const auto expected = scan(sample, html);  // on the default path
            for (const auto path : test::available_vector_paths()) {
                const test::ForcedVectorPath forced(path);
                for (std::size_t pad : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{31}, std::size_t{33},
                                        UnsubscribeLinkFinder::block_bytes - 20,
                                        UnsubscribeLinkFinder::block_bytes + UnsubscribeLinkFinder::lookahead_bytes - 7}) {
                    const std::string text = std::string(pad, ' ') + sample;
                    for (std::size_t chunk : {std::size_t{0}, std::size_t{13}, std::size_t{4096}}) {
                        const auto finder = scan(text, html, chunk);
                        const std::string label = "path " + test::vector_path_name(path) + " pad "
                                                  + std::to_string(pad) + ": " + sample;
                        CPPUNIT_ASSERT_EQUAL_MESSAGE(label, expected.found(), finder.found());
                        CPPUNIT_ASSERT_EQUAL_MESSAGE(label, expected.evidence(), finder.evidence());
                    }
                }
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(UnsubscribeLinkFinderTest);

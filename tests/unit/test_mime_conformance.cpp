// Conformance: every message of ../shared/corpora/mime/truth.tsv (715 messages from other
// projects' MIME test suites, with has_attachment computed by Python's email package and checked
// with Perl MIME-tools) run through MimeScanner the way the milter feeds it: header fields one by
// one (unfolded, a leading mbox "From " line dropped, the block ending at the first empty line or
// the first line that is no header, as Postfix does), then the body in chunks.
//
// No attachment may be missed: a message with an attachment that we pass is a failure unless
// listed in mime-deviations.txt. Every disagreement must be listed there with a reason, and a
// listed message that now agrees is a stale entry and fails the test too.
//
// The corpus is found through $ECOMM_CORPORA, else $top_srcdir/../shared/corpora, else
// ../shared/corpora from the working directory. Without it the test prints "SKIPPED: ..." and
// returns; the runner counts it as skipped, not passed.
#include <cppunit/extensions/HelperMacros.h>

#include "corpus.h"
#include "skip.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "mime/scanner.h"

namespace ecomm {
namespace {

namespace fs = std::filesystem;

std::string corpus_dir() { return test::corpus_dir("mime/truth.tsv"); }
std::string deviations_path() { return test::unit_test_file("mime-deviations.txt"); }
using test::load_deviations;

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

bool is_header_line(std::string_view line)
{
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    for (std::size_t i = 0; i < colon; ++i) {
        const auto byte = static_cast<unsigned char>(line[i]);
        if (byte <= ' ' || byte == 0x7f) return false;
    }
    return true;
}

// Feeds a raw message to the scanner as a milter would see it.
bool scan_message(const std::string& message)
{
    MimeScanner scanner;
    std::size_t pos = 0;
    std::string name, value;
    auto flush = [&] {
        if (!name.empty()) scanner.header(name, value);
        name.clear();
        value.clear();
    };
    bool first = true;
    while (pos < message.size()) {
        std::size_t end = message.find('\n', pos);
        const std::size_t next = end == std::string::npos ? message.size() : end + 1;
        std::string_view line(message.data() + pos, (end == std::string::npos ? message.size() : end) - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (first && line.substr(0, 5) == "From ") {
            first = false;
            pos = next;
            continue;
        }
        first = false;
        if (line.empty()) {
            pos = next;
            break;
        }
        if ((line[0] == ' ' || line[0] == '\t') && !name.empty()) {
            value += '\n';  // folded values reach the milter with their line breaks
            value += line;
        } else if (is_header_line(line)) {
            flush();
            const std::size_t colon = line.find(':');
            name = std::string(line.substr(0, colon));
            std::string_view rest = line.substr(colon + 1);
            while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t')) rest.remove_prefix(1);
            value = std::string(rest);
        } else if (line[0] != ' ' && line[0] != '\t') {
            break;  // no header: the body starts here
        }
        pos = next;
    }
    flush();
    scanner.end_of_headers();
    constexpr std::size_t kChunk = 1531;  // an odd size, so boundaries land across chunks
    for (; pos < message.size(); pos += kChunk) scanner.body(std::string_view(message).substr(pos, kChunk));
    scanner.finish();
    return scanner.has_attachment();
}

}  // namespace

class MimeConformanceTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MimeConformanceTest);
    CPPUNIT_TEST(corpus);
    CPPUNIT_TEST_SUITE_END();

public:
    void corpus()
    {
        const std::string dir = corpus_dir();
        if (dir.empty()) {
            test::skip("MIME corpus not found (set ECOMM_CORPORA)");
            return;
        }
        const auto deviations = load_deviations(deviations_path());
        std::ifstream truth(fs::path(dir) / "mime" / "truth.tsv");
        std::string line;
        std::getline(truth, line);  // column names
        int total = 0, agree = 0, listed = 0, false_positives = 0, missed = 0;
        std::string problems;
        std::map<std::string, bool> seen;
        while (std::getline(truth, line)) {
            std::istringstream fields(line);
            std::string path, expected;
            if (!std::getline(fields, path, '\t') || !std::getline(fields, expected, '\t')) continue;
            ++total;
            const bool want = expected == "1";
            const bool got = scan_message(read_file(fs::path(dir) / "mime" / path));
            const bool deviation = deviations.count(path) > 0;
            seen[path] = true;
            if (got == want) {
                ++agree;
                if (deviation) problems += "stale deviation (now agrees): " + path + "\n";
                continue;
            }
            if (!deviation) {
                problems += std::string(want ? "MISSED attachment: " : "unlisted false positive: ") + path + "\n";
                continue;
            }
            ++listed;
            (want ? missed : false_positives)++;
        }
        for (const auto& [path, reason] : deviations) {
            if (!seen.count(path)) problems += "deviation for a message not in the corpus: " + path + "\n";
        }
        std::cout << "\nMIME conformance: " << agree << "/" << total << " agree, " << listed << " listed deviations ("
                  << false_positives << " false positives, " << missed << " missed)" << std::endl;
        CPPUNIT_ASSERT_MESSAGE(problems, problems.empty());
        CPPUNIT_ASSERT(total > 0);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MimeConformanceTest);

}  // namespace ecomm

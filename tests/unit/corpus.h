// Test helper for the conformance tests: where the third-party corpora are ($ECOMM_CORPORA, else
// ../shared/corpora beside the source tree), where a file of this test folder is from a VPATH
// build, and the "ID reason..." deviation lists each conformance test keeps beside its source.
#pragma once
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace ecomm::test {

// The corpora folder that holds marker (e.g. "mime/truth.tsv"), or "" when none does.
inline std::string corpus_dir(const std::string& marker)
{
    namespace fs = std::filesystem;
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("ECOMM_CORPORA"); env && *env) candidates.emplace_back(env);
    if (const char* top = std::getenv("top_srcdir"); top && *top) candidates.push_back(fs::path(top) / ".." / "shared" / "corpora");
    candidates.emplace_back("../shared/corpora");
    for (const auto& candidate : candidates) {
        std::error_code ignored;
        if (fs::is_regular_file(candidate / marker, ignored)) return candidate.string();
    }
    return {};
}

// A file of tests/unit/ (found through $top_srcdir from an out-of-tree build).
inline std::string unit_test_file(const std::string& name)
{
    namespace fs = std::filesystem;
    if (const char* top = std::getenv("top_srcdir"); top && *top) {
        const fs::path path = fs::path(top) / "tests" / "unit" / name;
        if (fs::exists(path)) return path.string();
    }
    return (fs::path(__FILE__).parent_path() / name).string();
}

// "ID reason..." per line, '#' comments; every entry must give a reason.
inline std::map<std::string, std::string> load_deviations(const std::string& path)
{
    std::map<std::string, std::string> deviations;
    std::ifstream in(path);
    CPPUNIT_ASSERT_MESSAGE("cannot read " + path, in.good());
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id;
        if (!(fields >> id) || id[0] == '#') continue;
        std::string reason;
        std::getline(fields, reason);
        CPPUNIT_ASSERT_MESSAGE("deviation " + id + " has no reason", reason.find_first_not_of(" \t") != std::string::npos);
        deviations[id] = reason;
    }
    return deviations;
}

}  // namespace ecomm::test

// The man pages say what the programs accept. ecomm-milter.conf(5) documents every key of the
// main config table under its section, with its default, and every registry key; ecomm-milter(8)
// and ecomm-milter-stats(8) document every command-line option as an entry of OPTIONS, and the
// stats page every field of the --json output. The lists come from the code itself: the key
// table (main_config_keys()), the option tables of src/main.cpp and src/tools/stats_main.cpp and
// the registry's key table (registry_keys()), and a real format_stats_json() document, so an
// undocumented addition fails here.
//
// The pages are read as roff: ".TP" entries (the tag line's first word is what the entry
// documents) inside ".SH"/".SS" headings, with font and character escapes removed.
// GCC 12 reports std::regex's own std::function members as maybe-uninitialized at -O2 (a false
// positive in libstdc++'s regex compiler, fixed in later GCC); nothing here is uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "source_tree.h"
#include "config/config.h"
#include "counters/stats_report.h"

namespace ecomm {
namespace {

std::string read_source(const std::string& relative)
{
    const std::string path = test::source_file(relative);
    std::ifstream in(path, std::ios::binary);
    CPPUNIT_ASSERT_MESSAGE(relative + " is missing (looked at " + path + ")", in.good());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Roff text with its escapes resolved: \fB \fI \fR \fP \f(XX fonts and \& \% dropped, \- \e \~
// and the named characters used in the pages (\(dq \(aq ...) turned into plain characters.
std::string unescape(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 >= text.size()) {
            out += text[i];
            continue;
        }
        const char next = text[++i];
        if (next == 'f') {  // font: \fB, \f(CW, \f[CR]
            if (i + 1 < text.size() && text[i + 1] == '(') i += 3;
            else if (i + 1 < text.size() && text[i + 1] == '[') i = text.find(']', i);
            else ++i;
            if (i == std::string_view::npos) break;
        } else if (next == '(' && i + 2 < text.size()) {
            const std::string name(text.substr(i + 1, 2));
            i += 2;
            if (name == "dq") out += '"';
            else if (name == "aq") out += '\'';
            else if (name == "ga") out += '`';
            else if (name == "mu") out += 'x';
            else out += ' ';
        } else if (next == '-' || next == '\\') {
            out += next;
        } else if (next == 'e') {
            out += '\\';
        } else if (next == '~' || next == ' ') {
            out += ' ';
        } else if (next == '"') {
            break;  // a comment to the end of the line
        }
        // \& \% and anything else: nothing
    }
    return out;
}

// The arguments of a macro line, as roff splits them (blanks, "double quoted").
std::vector<std::string> macro_arguments(std::string_view rest)
{
    std::vector<std::string> arguments;
    std::size_t i = 0;
    while (i < rest.size()) {
        while (i < rest.size() && rest[i] == ' ') ++i;
        if (i >= rest.size()) break;
        std::string argument;
        if (rest[i] == '"') {
            for (++i; i < rest.size(); ++i) {
                if (rest[i] == '"' && i + 1 < rest.size() && rest[i + 1] == '"') argument += rest[i++];
                else if (rest[i] == '"') break;
                else argument += rest[i];
            }
            ++i;
        } else {
            while (i < rest.size() && rest[i] != ' ') argument += rest[i++];
        }
        arguments.push_back(argument);
    }
    return arguments;
}

// What a line prints: plain text, or the text of a font macro; other requests print nothing here.
std::string printed_text(const std::string& line)
{
    if (line.empty() || (line[0] != '.' && line[0] != '\'')) return unescape(line);
    const std::size_t blank = line.find(' ');
    const std::string macro = line.substr(1, blank == std::string::npos ? std::string::npos : blank - 1);
    const auto arguments = macro_arguments(blank == std::string::npos ? "" : std::string_view(line).substr(blank + 1));
    const bool alternating = macro.size() == 2 && std::string("BIR").find(macro[0]) != std::string::npos &&
                             std::string("BIR").find(macro[1]) != std::string::npos;
    if (!alternating && macro != "B" && macro != "I" && macro != "SH" && macro != "SS") return "";
    std::string text;
    for (const auto& argument : arguments) text += (text.empty() || alternating ? "" : " ") + argument;
    return unescape(text);
}

std::string first_word(const std::string& text)
{
    const auto start = text.find_first_not_of(' ');
    if (start == std::string::npos) return "";
    return text.substr(start, text.find(' ', start) - start);
}

// One ".TP" entry: the headings it is under, its tag line and its body (blanks collapsed).
struct Entry {
    std::string heading;     // .SH
    std::string subheading;  // .SS
    std::string tag;
    std::string body;
};

struct Page {
    std::string name;
    std::vector<std::string> headings;
    std::vector<Entry> entries;
    std::string text;  // everything printed, one line per input line

    // The entries under heading whose tag starts with word.
    std::vector<const Entry*> find(const std::string& heading, const std::string& word) const
    {
        std::vector<const Entry*> found;
        for (const auto& entry : entries)
            if (entry.heading == heading && first_word(entry.tag) == word) found.push_back(&entry);
        return found;
    }
};

std::string collapse_blanks(const std::string& text)
{
    std::string out;
    for (const char c : text) {
        if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
        out += c;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

Page read_page(const std::string& name)
{
    Page page;
    page.name = name;
    std::istringstream in(read_source("man/" + name));
    std::string line, heading, subheading;
    Entry* open = nullptr;
    bool tag_next = false;
    const auto starts = [&line](const char* macro) {
        const std::string prefix = std::string(".") + macro;
        return line == prefix || line.rfind(prefix + " ", 0) == 0;
    };
    while (std::getline(in, line)) {
        if (line.rfind(".\\\"", 0) == 0) continue;
        const std::string text = printed_text(line);
        page.text += text + "\n";
        if (starts("SH") || starts("SS")) {
            (starts("SH") ? heading : subheading) = text;
            if (starts("SH")) {
                subheading.clear();
                page.headings.push_back(text);
            }
            open = nullptr;
        } else if (starts("TP")) {
            open = nullptr;
            tag_next = true;
        } else if (starts("PP") || starts("LP") || starts("P") || starts("IP") || starts("RS") || starts("RE")) {
            open = nullptr;
        } else if (tag_next) {
            page.entries.push_back(Entry{heading, subheading, text, ""});
            open = &page.entries.back();
            tag_next = false;
        } else if (open && !text.empty()) {
            open->body = collapse_blanks(open->body + " " + text);
        }
    }
    CPPUNIT_ASSERT_MESSAGE(name + " has no .TP entries", !page.entries.empty());
    return page;
}

// Every match of pattern's first group in text.
std::vector<std::string> captures(const std::string& text, const std::string& pattern)
{
    std::vector<std::string> found;
    const std::regex expression(pattern);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), expression); it != std::sregex_iterator(); ++it)
        found.push_back((*it)[1].str());
    return found;
}

// The options a program's getopt_long() accepts: "-c" for each letter of its short option string,
// "--config" for each name in its struct option table.
std::vector<std::string> accepted_options(const std::string& source_path)
{
    const std::string source = read_source(source_path);
    std::vector<std::string> options;
    const auto short_strings = captures(source, R"re(getopt_long\(argc, argv, "([^"]*)")re");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(source_path + ": one getopt_long() call", std::size_t{1}, short_strings.size());
    for (const char letter : short_strings.front())
        if (letter != ':') options.push_back(std::string("-") + letter);
    for (const auto& name : captures(source, R"re(\{"([a-z0-9-]+)", (?:no|required|optional)_argument,)re"))
        options.push_back("--" + name);
    return options;
}

// The words of the tags of a page's OPTIONS entries ("-c, --config file": -c --config file).
std::set<std::string> option_tags(const Page& page)
{
    std::set<std::string> words;
    for (const auto& entry : page.entries) {
        if (entry.heading != "OPTIONS") continue;
        std::istringstream tag(entry.tag);
        for (std::string word; tag >> word;) {
            if (!word.empty() && word.back() == ',') word.pop_back();
            words.insert(word);
        }
    }
    return words;
}

void check_options_documented(const std::string& page_name, const std::string& source_path, std::size_t at_least)
{
    const Page page = read_page(page_name);
    const auto options = accepted_options(source_path);
    // Fewer than today's count means the source's layout changed and the parse above went blind.
    CPPUNIT_ASSERT_MESSAGE(source_path + ": option table not found", options.size() >= at_least);
    const auto documented = option_tags(page);
    for (const auto& option : options)
        CPPUNIT_ASSERT_MESSAGE(page_name + " has no OPTIONS entry for " + option + " (" + source_path + " accepts it)",
                               documented.count(option) == 1);
}

// The registry's keys, from the loader's own table.
std::vector<std::string> documented_registry_keys()
{
    std::vector<std::string> keys;
    for (const auto key : registry_keys()) keys.emplace_back(key);
    return keys;
}

class ManPagesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ManPagesTest);
    CPPUNIT_TEST(pages_have_their_sections);
    CPPUNIT_TEST(conf_page_documents_every_main_key_with_its_default);
    CPPUNIT_TEST(conf_page_documents_no_key_the_table_lacks);
    CPPUNIT_TEST(conf_page_documents_every_registry_key);
    CPPUNIT_TEST(example_registry_lists_every_registry_key);
    CPPUNIT_TEST(milter_page_documents_every_option);
    CPPUNIT_TEST(milter_page_names_every_rule);
    CPPUNIT_TEST(stats_page_documents_every_option);
    CPPUNIT_TEST(stats_page_documents_every_json_field);
    CPPUNIT_TEST_SUITE_END();

public:
    void pages_have_their_sections()
    {
        const std::vector<std::pair<std::string, std::vector<std::string>>> expected{
            {"ecomm-milter.8",
             {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "FILES", "LOGGING", "EXIT STATUS", "SEE ALSO"}},
            {"ecomm-milter.conf.5",
             {"NAME", "SYNOPSIS", "DESCRIPTION", "SYNTAX", "THE MAIN FILE", "ACTIONS", "THE REGISTRY FILE",
              "EXAMPLES", "SEE ALSO"}},
            {"ecomm-milter-stats.8",
             {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "OUTPUT", "JSON OUTPUT", "EXIT STATUS", "FILES",
              "SEE ALSO"}},
        };
        for (const auto& [name, headings] : expected) {
            const Page page = read_page(name);
            for (const auto& heading : headings)
                CPPUNIT_ASSERT_MESSAGE(name + " has no " + heading + " section",
                                       std::count(page.headings.begin(), page.headings.end(), heading) == 1);
        }
    }

    // Each key is a ".TP" entry under ".SS [section]" of THE MAIN FILE, saying "Default: VALUE"
    // (an empty default: "Default: empty", or "Required" for a key that must be set).
    void conf_page_documents_every_main_key_with_its_default()
    {
        const Page page = read_page("ecomm-milter.conf.5");
        const auto& keys = main_config_keys();
        CPPUNIT_ASSERT(keys.size() >= 28);
        for (const auto& key : keys) {
            const std::string name = std::string("[") + key.section + "] " + key.key;
            std::vector<const Entry*> under_section;
            for (const Entry* entry : page.find("THE MAIN FILE", key.key))
                if (entry->subheading == std::string("[") + key.section + "]") under_section.push_back(entry);
            CPPUNIT_ASSERT_MESSAGE("ecomm-milter.conf.5 does not document " + name + " under .SS [" + key.section + "]",
                                   under_section.size() == 1);
            const std::string& body = under_section.front()->body;
            const std::string default_value = key.default_value;
            const bool stated = default_value.empty()
                                    ? body.find("Default: empty") != std::string::npos ||
                                          body.find("Required") != std::string::npos
                                    : body.find("Default: " + default_value) != std::string::npos;
            CPPUNIT_ASSERT_MESSAGE("ecomm-milter.conf.5: " + name + " does not say \"Default: " +
                                       (default_value.empty() ? "empty" : default_value) + "\"",
                                   stated);
        }
    }

    // A key removed from the table must leave the page too.
    void conf_page_documents_no_key_the_table_lacks()
    {
        const Page page = read_page("ecomm-milter.conf.5");
        std::set<std::string> known;
        for (const auto& key : main_config_keys()) known.insert(std::string("[") + key.section + "] " + key.key);
        for (const auto& entry : page.entries) {
            if (entry.heading != "THE MAIN FILE") continue;
            const std::string name = entry.subheading + " " + first_word(entry.tag);
            CPPUNIT_ASSERT_MESSAGE("ecomm-milter.conf.5 documents " + name + ", which the key table lacks",
                                   known.count(name) == 1);
        }
    }

    void conf_page_documents_every_registry_key()
    {
        const Page page = read_page("ecomm-milter.conf.5");
        const auto keys = documented_registry_keys();
        std::set<std::string> documented;
        for (const auto& entry : page.entries)
            if (entry.heading == "THE REGISTRY FILE") documented.insert(first_word(entry.tag));
        for (const auto& key : keys)
            CPPUNIT_ASSERT_MESSAGE("ecomm-milter.conf.5 does not document registry key " + key,
                                   documented.count(key) == 1);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("registry keys in ecomm-milter.conf.5 that the loader lacks", keys.size(),
                                     documented.size());
    }

    // conf/registry.conf lists the keys in its opening comment, "#   key   what it is".
    void example_registry_lists_every_registry_key()
    {
        const auto listed = captures(read_source("conf/registry.conf"), R"re((?:^|\n)#   ([a-z_]+)  )re");
        const std::set<std::string> listed_set(listed.begin(), listed.end());
        const auto keys = documented_registry_keys();
        const std::set<std::string> key_set(keys.begin(), keys.end());
        for (const auto& key : key_set)
            CPPUNIT_ASSERT_MESSAGE("conf/registry.conf does not list registry key " + key, listed_set.count(key) == 1);
        for (const auto& key : listed_set)
            CPPUNIT_ASSERT_MESSAGE("conf/registry.conf lists " + key + ", which the loader lacks",
                                   key_set.count(key) == 1);
    }

    void milter_page_documents_every_option()
    {
        check_options_documented("ecomm-milter.8", "src/main.cpp", 15);
    }

    // DESCRIPTION explains every rule whose action [actions] sets.
    void milter_page_names_every_rule()
    {
        const Page page = read_page("ecomm-milter.8");
        for (const auto& key : main_config_keys()) {
            if (std::string(key.section) != "actions") continue;
            const std::regex word("(^|[^a-z-])" + std::string(key.key) + "([^a-z-]|$)");
            CPPUNIT_ASSERT_MESSAGE(std::string("ecomm-milter.8 does not name rule ") + key.key,
                                   std::regex_search(page.text, word));
        }
    }

    void stats_page_documents_every_option()
    {
        check_options_documented("ecomm-milter-stats.8", "src/tools/stats_main.cpp", 7);
    }

    // Every member name of a real --json document, with one sender and one campaign in it.
    void stats_page_documents_every_json_field()
    {
        CounterView view;
        view.rates.push_back(RateEntryView{"sender:a", 1, 0, 1, {}});
        CampaignEntryView campaign;
        campaign.key = "a|List-Id:x";
        campaign.sender = "a";
        view.campaigns.push_back(campaign);
        const StatsSettings settings;  // a named object: GCC 12 misreads a temporary's std::set
        const auto document = nlohmann::json::parse(format_stats_json(view, SystemTime{}, settings));
        std::set<std::string> fields;
        for (const auto& [name, value] : document.items()) fields.insert(name);
        for (const auto& part : {document["table"], document["senders"][0], document["campaigns"][0]})
            for (const auto& [name, value] : part.items()) fields.insert(name);
        CPPUNIT_ASSERT(fields.size() >= 20);

        const Page page = read_page("ecomm-milter-stats.8");
        std::string json_section;
        for (const auto& entry : page.entries)
            if (entry.heading == "JSON OUTPUT") json_section += entry.tag + " " + entry.body + " ";
        for (const auto& field : fields) {
            const std::regex word("(^|[^a-z_])" + field + "([^a-z_]|$)");
            CPPUNIT_ASSERT_MESSAGE("ecomm-milter-stats.8 JSON OUTPUT does not name " + field,
                                   std::regex_search(json_section, word));
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ManPagesTest);

}  // namespace
}  // namespace ecomm

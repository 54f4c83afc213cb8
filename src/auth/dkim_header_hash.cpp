// Header selection and canonicalisation for DKIM header hashes, as libopendkim 2.11 does them
// (dkim_canon_selecthdrs, dkim_canon_header_string), which departs from RFC 6376 in two small
// ways kept here on purpose: relaxed takes vertical tab, form feed and a lone CR or LF in a value
// for whitespace, and the b= removal also empties any tag whose name ends in "b".
#include "auth/dkim_header_hash.h"

#include <algorithm>
#include <unordered_map>

#include "util/ascii.h"

namespace ecomm {

namespace {

// libopendkim copies h= into a buffer of this size before splitting it.
constexpr std::size_t kMaxSignedHeaderList = 4096 - 1;

bool is_folding(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void append_relaxed(std::string_view field, std::string& out)
{
    const std::size_t colon = std::min(field.find(':'), field.size());
    for (char c : field.substr(0, colon))
        if (!is_folding(c)) out += ascii_lower(c);
    if (colon == field.size()) return;
    out += ':';
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && is_folding(value.front())) value.remove_prefix(1);
    // Runs of other characters are copied whole; a run of whitespace becomes one blank unless
    // it ends the value. A NUL ends the value, as it does libopendkim's C string.
    bool space_pending = false;
    std::size_t at = 0;
    while (at < value.size()) {
        std::size_t end = at;
        while (end < value.size() && !is_ascii_space(value[end]) && value[end] != '\0') ++end;
        if (end > at) {
            if (space_pending) out += ' ';
            space_pending = false;
            out.append(value.substr(at, end - at));
        }
        if (end == value.size() || value[end] == '\0') break;
        space_pending = true;
        at = end + 1;
    }
}

}  // namespace

std::string_view dkim_field_name(std::string_view field)
{
    std::string_view name = field.substr(0, std::min(field.find(':'), field.size()));
    while (!name.empty() && is_ascii_space(name.back())) name.remove_suffix(1);
    return name;
}

void append_canonical_header(DkimHeaderCanon canon, std::string_view field, std::string& out)
{
    out.reserve(out.size() + field.size() + 2);
    if (canon == DkimHeaderCanon::simple)
        out.append(field);
    else
        append_relaxed(field, out);
    out += "\r\n";
}

std::string without_signature_value(std::string_view signature_field)
{
    std::string out;
    out.reserve(signature_field.size());
    char tag_end = '\0';  // the last character of the current tag's name, once its '=' is seen
    char last = '\0';
    std::size_t copy_from = 0;  // the text from here on is kept, unless a b= value starts
    for (std::size_t i = 0; i < signature_field.size(); ++i) {
        const char c = signature_field[i];
        if (c == ';') {
            if (tag_end == 'b') copy_from = i;  // the emptied value ends here
            tag_end = '\0';
        }
        if (tag_end == 'b') {
            last = c;
            continue;
        }
        if (tag_end == '\0' && c == '=') {
            tag_end = last;
            if (tag_end == 'b') out.append(signature_field.substr(copy_from, i + 1 - copy_from));
        }
        last = c;
    }
    if (tag_end != 'b') out.append(signature_field.substr(copy_from));
    return out;
}

std::string dkim_signed_header_text(DkimHeaderCanon canon, const std::vector<std::string>& fields,
                                    std::string_view h_tag, std::string_view signature_field)
{
    // Each name's fields, top to bottom. A name takes its instances from the bottom up, so
    // those not yet taken are always a prefix: taking one is a pop_back. (Searching the fields
    // for every name of a hostile h= cost names x fields compares per signature.)
    std::unordered_map<std::string, std::vector<std::size_t>> by_name;
    for (std::size_t i = 0; i < fields.size(); ++i) by_name[to_lower(dkim_field_name(fields[i]))].push_back(i);

    std::string text;
    h_tag = h_tag.substr(0, std::min(h_tag.size(), kMaxSignedHeaderList));
    std::size_t start = 0;
    while (start <= h_tag.size()) {
        const std::size_t end = std::min(h_tag.find(':', start), h_tag.size());
        std::string_view name = h_tag.substr(start, end - start);
        start = end + 1;
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        if (name.empty()) continue;
        const auto instances = by_name.find(to_lower(name));
        if (instances == by_name.end() || instances->second.empty()) continue;
        append_canonical_header(canon, fields[instances->second.back()], text);
        instances->second.pop_back();
    }
    append_canonical_header(canon, without_signature_value(signature_field), text);
    text.resize(text.size() - 2);  // the signature field goes in without its CRLF
    return text;
}

}  // namespace ecomm

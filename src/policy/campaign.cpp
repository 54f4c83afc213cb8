// Campaign identity and audience for the bulk-hours rule (IV.B.3.c.iv): which campaign a message
// belongs to, which of its recipients are university addresses, and the audience it declares.
//
// Header values and subjects are used in their raw form; RFC 2047 encoded-words are not decoded.
// The key only has to be the same for every message of one campaign, and a mailing platform
// encodes one campaign's subject the same way each time, so the raw text is as stable as the
// decoded one, costs nothing, and cannot fail on a bad charset.
#include "policy/campaign.h"

#include <cstdio>
#include <string_view>
#include <unordered_set>

#include "mail/address.h"
#include "util/hash.h"

namespace ecomm {

namespace {

constexpr std::size_t kMaxKeyBytes = 200;
constexpr std::size_t kMaxAudienceDigits = 12;  // a trillion is past any real audience

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trimmed, with every run of blanks (folding CRLFs included) made one space.
std::string collapse_whitespace(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    bool pending_space = false;
    for (const char c : text) {
        if (is_blank(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

// Lower-cased, whitespace collapsed, and any number of leading "Re:", "Fw:", "Fwd:" removed, so
// that replies and forwards of a campaign message, and retyped copies, name the same campaign.
std::string normalise_subject(std::string_view subject)
{
    const std::string text = to_lower(collapse_whitespace(subject));
    std::string_view rest = text;
    for (bool stripped = true; stripped;) {
        stripped = false;
        for (const std::string_view prefix : {"re:", "fw:", "fwd:"}) {
            if (rest.starts_with(prefix)) {
                rest.remove_prefix(prefix.size());
                if (rest.starts_with(' ')) rest.remove_prefix(1);  // collapsed: at most one blank
                stripped = true;
            }
        }
    }
    return std::string(rest);
}

// At most kMaxKeyBytes. A longer key keeps its start, cut at a UTF-8 character boundary, and
// ends in "~" and the hash of the whole key: two long keys that differ only past the cut (a
// subject key's date is at its end) still name two campaigns.
std::string bounded_key(std::string key)
{
    if (key.size() <= kMaxKeyBytes) return key;
    char suffix[18];
    std::snprintf(suffix, sizeof suffix, "~%016llx", static_cast<unsigned long long>(stable_hash64(key)));
    std::size_t cut = kMaxKeyBytes - (sizeof suffix - 1);
    while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;  // not mid-character
    key.resize(cut);
    key += suffix;
    return key;
}

}  // namespace

CampaignId campaign_of(const MessageFacts& facts, std::string_view sender_id,
                       const std::vector<std::string>& campaign_headers, const Date& today)
{
    const std::string sender(sender_id);
    for (const auto& name : campaign_headers) {
        const Header* header = facts.first_header(name);
        if (!header) continue;
        const std::string value = collapse_whitespace(header->value);
        if (value.empty()) continue;  // an empty header identifies nothing; try the next one
        return {bounded_key(sender + "|" + name + ":" + value), name + " header"};
    }
    const Header* subject = facts.first_header("Subject");
    const std::string normalised = subject ? normalise_subject(subject->value) : std::string();
    return {bounded_key(sender + "|subject:" + normalised + "|" + today.to_string()), "subject and day"};
}

std::vector<std::uint64_t> university_recipient_hashes(const MessageFacts& facts,
                                                       const std::vector<std::string>& university_domains)
{
    std::vector<std::uint64_t> hashes;
    std::unordered_set<std::string> seen;
    for (const auto& recipient : facts.recipients) {
        if (!domain_in(domain_of(recipient), university_domains)) continue;
        std::string address = to_lower(recipient);
        const std::uint64_t hash = stable_hash64(address);
        if (seen.insert(std::move(address)).second) hashes.push_back(hash);
    }
    return hashes;
}

std::uint64_t declared_audience(const MessageFacts& facts, const std::string& header_name)
{
    if (header_name.empty()) return 0;
    const Header* header = facts.first_header(header_name);
    if (!header) return 0;
    std::string_view value = header->value;
    while (!value.empty() && is_blank(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_blank(value.back())) value.remove_suffix(1);
    if (value.empty() || value.size() > kMaxAudienceDigits) return 0;
    std::uint64_t audience = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return 0;
        audience = audience * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return audience;
}

}  // namespace ecomm

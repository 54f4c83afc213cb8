// Transactional vs promotional, from the registry entry or the per-message header.
#include "policy/message_category.h"

#include "mail/address.h"

namespace ecomm {

namespace {

std::string_view trim(std::string_view text)
{
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    return text;
}

// A header value fit for a log line: control characters replaced, cut to 40 characters.
std::string shown(std::string_view value)
{
    constexpr std::size_t limit = 40;
    std::string out;
    for (char c : value.substr(0, limit)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (value.size() > limit) out += "...";
    return out;
}

CategoryDecision promotional(std::string reason) { return {MessageCategory::promotional, std::move(reason)}; }

}  // namespace

CategoryDecision decide_category(Category registered, const MessageFacts& facts, std::string_view header_name)
{
    switch (registered) {
    case Category::transactional:
        return {MessageCategory::transactional, "registry entry is transactional"};
    case Category::promotional:
        return promotional("registry entry is promotional");
    case Category::per_message:
        break;
    }
    // Strict default: without a clear "transactional" the message is promotional.
    if (header_name.empty()) return promotional("per-message category, but no category header is configured");
    const std::string name(header_name);
    const auto headers = facts.find_headers(header_name);
    if (headers.empty()) return promotional("no " + name + " header (promotional by default)");

    const std::string_view first = trim(headers.front()->value);
    for (const Header* header : headers) {
        const std::string_view value = trim(header->value);
        if (!iequals(value, first))
            return promotional(name + " headers disagree: '" + shown(first) + "' and '" + shown(value) + "'");
    }
    if (iequals(first, "transactional")) return {MessageCategory::transactional, name + ": transactional"};
    if (iequals(first, "promotional")) return promotional(name + ": promotional");
    return promotional(name + ": '" + shown(first) + "' is neither transactional nor promotional (promotional by default)");
}

CategoryDecision decide_category(const RegistryEntry* entry, const MessageFacts& facts, std::string_view header_name)
{
    if (!entry) return promotional("no registry entry");
    return decide_category(entry->category, facts, header_name);
}

std::string_view to_string(MessageCategory category)
{
    return category == MessageCategory::transactional ? "transactional" : "promotional";
}

}  // namespace ecomm

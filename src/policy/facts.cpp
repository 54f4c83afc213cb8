// Header look-ups over the facts of one message.
#include "policy/facts.h"

#include "mail/address.h"

namespace ecomm {

std::vector<const Header*> MessageFacts::find_headers(std::string_view name) const
{
    std::vector<const Header*> found;
    for (const auto& header : headers)
        if (iequals(header.name, name)) found.push_back(&header);
    return found;
}

std::vector<std::string_view> MessageFacts::header_values(std::string_view name) const
{
    std::vector<std::string_view> values;
    for (const auto& header : headers)
        if (iequals(header.name, name)) values.emplace_back(header.value);
    return values;
}

const Header* MessageFacts::first_header(std::string_view name) const
{
    for (const auto& header : headers)
        if (iequals(header.name, name)) return &header;
    return nullptr;
}

}  // namespace ecomm

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

const Header* MessageFacts::first_header(std::string_view name) const
{
    for (const auto& header : headers)
        if (iequals(header.name, name)) return &header;
    return nullptr;
}

}  // namespace ecomm

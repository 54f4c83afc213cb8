// Names of actions as written in config files, logs and the -t JSON.
#include "policy/action.h"

#include <array>
#include <utility>

namespace ecomm {

namespace {
constexpr std::array<std::pair<Action, std::string_view>, 8> kNames{{
    {Action::accept, "accept"},         {Action::log, "log"},
    {Action::tag, "tag"},               {Action::junk, "junk"},
    {Action::quarantine, "quarantine"}, {Action::discard, "discard"},
    {Action::tempfail, "tempfail"},     {Action::reject, "reject"},
}};
}  // namespace

std::optional<Action> parse_action(std::string_view name)
{
    for (const auto& [action, text] : kNames)
        if (text == name) return action;
    return std::nullopt;
}

std::string_view to_string(Action action)
{
    for (const auto& [candidate, text] : kNames)
        if (candidate == action) return text;
    return "accept";
}

}  // namespace ecomm

// Actions a rule may take, ordered by severity, and their names in config, logs and JSON.
#pragma once
#include <optional>
#include <string_view>

namespace ecomm {

// Declared from least to most severe: the verdict takes the most severe triggered action.
enum class Action { accept, log, tag, junk, quarantine, discard, tempfail, reject };

std::optional<Action> parse_action(std::string_view name);
std::string_view to_string(Action action);

// True for the actions that change what happens to the message (not accept/log).
inline bool more_severe(Action a, Action b) { return static_cast<int>(a) > static_cast<int>(b); }

}  // namespace ecomm

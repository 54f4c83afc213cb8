// The name of the option getopt_long complained about, for error messages: "-x" for a short
// option, else the argument as typed. Shared by ecomm-milter and ecomm-milter-stats.
#pragma once
#include <string>

namespace ecomm {

inline std::string rejected_option_name(int optopt_value, const char* argument)
{
    if (optopt_value > 0 && optopt_value < 256) return std::string("-") + static_cast<char>(optopt_value);
    return argument != nullptr ? argument : "?";
}

}  // namespace ecomm

// Logging to syslog (facility mail), and to stderr as well when running in the foreground.
#pragma once
#include <string>

namespace ecomm::log {

// Opens syslog as "ecomm-milter" with facility LOG_MAIL; also_stderr adds LOG_PERROR.
void open(bool also_stderr);

void info(const std::string& line);
void notice(const std::string& line);
void warning(const std::string& line);
void error(const std::string& line);

}  // namespace ecomm::log

// Logging to syslog (facility mail), and to stderr as well when running in the foreground.
#pragma once
#include <string>

namespace ecomm::log {

// Opens syslog as "ecomm-milter" with facility LOG_MAIL; also_stderr adds a copy of each line on
// stderr, as LOG_PERROR would ("ecomm-milter[PID]: line"), unless systemd's journal takes stderr.
void open(bool also_stderr);

void info(const std::string& line);
void notice(const std::string& line);
void warning(const std::string& line);
void error(const std::string& line);

}  // namespace ecomm::log

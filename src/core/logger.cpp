#include "core/logger.h"

#include <syslog.h>

#include <cstdlib>

namespace ecomm::log {

void open(bool also_stderr)
{
    // Under systemd, stderr goes to the journal, which also receives syslog: one copy is enough.
    if (std::getenv("JOURNAL_STREAM") != nullptr) also_stderr = false;
    openlog("ecomm-milter", LOG_PID | LOG_NDELAY | (also_stderr ? LOG_PERROR : 0), LOG_MAIL);
}

// "%s" keeps a '%' in mail data from being read as a format directive.
void info(const std::string& line) { syslog(LOG_INFO, "%s", line.c_str()); }
void notice(const std::string& line) { syslog(LOG_NOTICE, "%s", line.c_str()); }
void warning(const std::string& line) { syslog(LOG_WARNING, "%s", line.c_str()); }
void error(const std::string& line) { syslog(LOG_ERR, "%s", line.c_str()); }

}  // namespace ecomm::log

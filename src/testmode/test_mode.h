// -t: run one message from a file through the same Session and pipeline the milter uses, with
// no MTA, and print the verdict as one JSON object (the interface in DESIGN.md).
#pragma once
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "config/snapshot.h"

namespace ecomm {

struct TestModeOptions {
    std::string message_path;
    std::string client_ip;                 // required
    std::string client_hostname = "unknown";
    std::string helo;
    std::optional<std::string> mail_from;  // default: the message's Return-Path, else From
    std::vector<std::string> recipients;   // default: the message's To/Cc addresses
    std::string auth_user;
    std::optional<std::string> time;       // ISO 8601; default: now
    std::string dns_file;                  // answer DNS from this static file (overrides the config)
};

// Returns the process exit code: 0 when a verdict was printed, 2 on bad input (told on err).
int run_test_mode(std::shared_ptr<const Snapshot> snapshot, const TestModeOptions& options,
                  std::ostream& out, std::ostream& err);

}  // namespace ecomm

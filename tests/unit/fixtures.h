// Test helper: snapshots built in code (no files), so rule and classification tests state
// exactly the configuration they depend on.
#pragma once
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "config/snapshot.h"
#include "policy/facts.h"

namespace ecomm::test {

inline Cidr cidr(const std::string& text)
{
    auto parsed = Cidr::parse(text);
    if (!parsed) throw std::runtime_error("bad test CIDR " + text);
    return *parsed;
}

inline IpAddress ip(const std::string& text)
{
    auto parsed = IpAddress::parse(text);
    if (!parsed) throw std::runtime_error("bad test IP " + text);
    return *parsed;
}

inline RegistryEntry entry(const std::string& id, const std::string& network, const std::string& domain,
                           const std::string& identifier, const std::string& return_path = "")
{
    RegistryEntry e;
    e.id = id;
    e.unit = "Test Unit";
    e.networks.add(cidr(network));
    e.domains.push_back(domain);
    e.identifier = identifier;
    if (!return_path.empty()) {
        std::string error;
        e.return_path = Regex::compile(return_path, true, &error);
        if (!e.return_path) throw std::runtime_error("bad test regex: " + error);
    }
    return e;
}

// example.edu university; internal 10.0.0.0/8; registry: mc (192.0.2.0/25, identifier mc7f3a,
// exempt from the tag), cvent (198.51.100.0/24, identifier cv91), shared (192.0.2.0/25 too,
// identifier sh55) — so the classifier has to choose between two entries on one network.
inline Snapshot base_snapshot()
{
    Snapshot s;
    s.config.university_domains = {"example.edu"};
    s.config.internal_networks.add(cidr("10.0.0.0/8"));
    s.config.policy_url = "https://www.example.edu/policy";
    s.config.time_zone = "America/Denver";
    s.config.subject_prefix = "[EXTERNAL]";
    s.config.actions = {{"registration", Action::reject},   {"return-path", Action::reject},
                        {"authentication", Action::reject}, {"authentication-temperror", Action::tempfail},
                        {"authentication-permerror", Action::reject},
                        {"attachments", Action::reject},    {"unsubscribe", Action::reject},
                        {"external-tag", Action::tag}};
    auto mc = entry("mc", "192.0.2.0/25", "e.example.edu", "mc7f3a", "^bounce-mc7f3a-[0-9a-z]+@e\\.example\\.edu$");
    mc.external_tag_exempt = true;
    s.registry.entries.push_back(std::move(mc));
    s.registry.entries.push_back(entry("cvent", "198.51.100.0/24", "events.example.edu", "cv91"));
    s.registry.entries.push_back(entry("shared", "192.0.2.0/25", "news.example.edu", "sh55"));
    return s;
}

inline std::shared_ptr<const Snapshot> share(Snapshot s) { return std::make_shared<const Snapshot>(std::move(s)); }

// 2026-11-29 12:00 UTC, a fixed "now" for expiry tests.
inline std::chrono::system_clock::time_point test_now()
{
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795953600));
}

inline MessageFacts facts(const std::string& client, const std::string& mail_from, const std::string& header_from = "")
{
    MessageFacts f;
    f.client_hostname = "client.test";
    f.client_ip = ip(client);
    f.mail_from = mail_from;
    f.recipients = {"someone@example.edu"};
    if (!header_from.empty()) f.headers.push_back({"From", header_from});
    f.headers.push_back({"Subject", "Hello"});
    f.now = test_now();
    return f;
}

}  // namespace ecomm::test

// The sender registry (INI, one section per official sender) kept by the communications office.
//
//   [marketing-cloud]
//   unit = Strategic Relations and Communications
//   networks = 192.0.2.0/24, 2001:db8:10::/48
//   domains = e.example.edu
//   signing_domains = e.example.edu
//   identifier = mc7f3a
//   return_path = ^bounce-mc7f3a-[0-9]+@e\.example\.edu$
//   category = promotional
//   external_tag_exempt = no
//   expires = 2027-06-30
//   rate = 30
//   rate_burst = 10
//
// The loader refuses two entries with the same return-path identifier and never half-loads.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/regex.h"
#include "net/ip_address.h"

namespace ecomm {

struct Date {
    int year = 0, month = 0, day = 0;
    auto operator<=>(const Date&) const = default;
    std::string to_string() const;  // YYYY-MM-DD
    static std::optional<Date> parse(std::string_view text);  // strict YYYY-MM-DD, real dates only
};

enum class Category { promotional, transactional, per_message };
enum class AuthRequirement { spf, dkim, spf_or_dkim, spf_and_dkim };

struct RegistryEntry {
    std::string id;
    int line = 0;                        // where its section starts, for diagnostics
    std::string unit;
    NetworkSet networks;
    std::vector<std::string> domains;    // lower case; subdomains match
    std::vector<std::string> signing_domains;  // DKIM d= that count for this sender; empty: domains
    std::string identifier;              // unique return-path identifier (empty: not a vendor)
    std::optional<Regex> return_path;    // the MAIL FROM address must match (when set)
    Category category = Category::promotional;

    // The DKIM signing domains that count for this sender (signing_domains, else domains).
    const std::vector<std::string>& dkim_domains() const { return signing_domains.empty() ? domains : signing_domains; }
    AuthRequirement authentication = AuthRequirement::spf_or_dkim;
    bool external_tag_exempt = false;
    std::optional<Date> expires;         // last valid day, in the configured time zone
    std::optional<int> rate_limit;       // messages a minute; absent: [rate] limit
    std::optional<int> rate_burst;       // absent: [rate] burst
};

struct Registry {
    std::vector<RegistryEntry> entries;

    // Entries whose networks contain address, in file order.
    std::vector<const RegistryEntry*> by_network(const IpAddress& address) const;
    const RegistryEntry* by_id(std::string_view id) const;
};

Registry load_registry(const std::string& path, Diagnostics& diagnostics);

// Every key an entry may have, in the loader's order (for the docs checks).
std::vector<std::string_view> registry_keys();

std::string_view to_string(Category category);
std::string_view to_string(AuthRequirement requirement);

}  // namespace ecomm

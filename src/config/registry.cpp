// Loads the sender registry: one INI section per official sender. Every problem is a
// "FILE:LINE: message" diagnostic, and a registry with any error is returned empty: the caller
// keeps the registry it had rather than run with half of a new one.
#include "config/registry.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include "config/ini_reader.h"
#include "util/ascii.h"
#include "util/decimal.h"

namespace ecomm {

namespace {

bool all_of_chars(std::string_view text, std::string_view extra)
{
    return std::all_of(text.begin(), text.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || extra.find(c) != std::string_view::npos;
    });
}

bool is_valid_entry_id(std::string_view id) { return !id.empty() && all_of_chars(id, "._-"); }

bool is_valid_identifier(std::string_view identifier)
{
    return identifier.size() >= 2 && identifier.size() <= 64 && all_of_chars(identifier, "._=+-");
}

bool is_leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month)
{
    static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

std::optional<int> digits(std::string_view text)
{
    int value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

std::string two_digits(int value) { return (value < 10 ? "0" : "") + std::to_string(value); }

std::string four_digits(int value)
{
    std::string text = std::to_string(value);
    return std::string(text.size() < 4 ? 4 - text.size() : 0, '0') + text;
}

// What the loader knows about the entry being read, beyond the entry itself.
struct EntryProgress {
    bool address_error = false;  // a networks/domains value was refused (don't also say "neither")
};

// One load of one registry file.
class RegistryLoad {
public:
    RegistryLoad(const std::string& path, Diagnostics& diagnostics) : path_(path), diagnostics_(diagnostics) {}

    // False when the file could not be read at all.
    bool read()
    {
        IniCallbacks callbacks;
        callbacks.on_section = [this](const IniSection& section) { on_section(section); };
        callbacks.on_value = [this](const IniValue& value) { on_value(value); };
        return read_ini_file(path_, callbacks, diagnostics_);
    }

    void check_entries()
    {
        for (std::size_t i = 0; i < registry_.entries.size(); ++i) {
            const auto& entry = registry_.entries[i];
            if (entry.networks.empty() && entry.domains.empty() && !progress_[i].address_error)
                error(entry.line, "entry '" + entry.id + "' has neither networks nor domains");
        }
        if (registry_.entries.empty()) warning(0, "no entries: every sender counts as unregistered");
    }

    Registry take() { return std::move(registry_); }

private:
    using Setter = void (RegistryLoad::*)(RegistryEntry&, const IniValue&);
    struct KeySpec {
        std::string_view key;
        bool is_list;
        Setter set;
    };
public:
    // The registry's keys. A function-local table: the setters are members of this class.
    static const auto& key_table()
    {
        static constexpr std::array<KeySpec, 12> kKeys{{
            {"unit", false, &RegistryLoad::set_unit},
            {"networks", true, &RegistryLoad::add_networks},
            {"domains", true, &RegistryLoad::add_domains},
            {"signing_domains", true, &RegistryLoad::add_signing_domains},
            {"identifier", false, &RegistryLoad::set_identifier},
            {"return_path", false, &RegistryLoad::set_return_path},
            {"category", false, &RegistryLoad::set_category},
            {"authentication", false, &RegistryLoad::set_authentication},
            {"external_tag_exempt", false, &RegistryLoad::set_external_tag_exempt},
            {"expires", false, &RegistryLoad::set_expires},
            {"rate", false, &RegistryLoad::set_rate},
            {"rate_burst", false, &RegistryLoad::set_rate_burst},
        }};
        return kKeys;
    }

private:
    static const KeySpec* find_key(std::string_view key)
    {
        const auto& keys = key_table();
        const auto found = std::find_if(keys.begin(), keys.end(), [&](const KeySpec& spec) { return spec.key == key; });
        return found == keys.end() ? nullptr : &*found;
    }

    void on_section(const IniSection& section)
    {
        reading_entry_ = false;
        const std::string id(section.name);
        if (section.first_line != 0) {
            error(section.line, "duplicate entry '" + id + "' (first at line " + std::to_string(section.first_line) +
                                    ")");
            return;
        }
        if (!is_valid_entry_id(id))
            error(section.line, "invalid entry id '" + id + "' (use letters, digits, '.', '_' and '-')");
        RegistryEntry entry;
        entry.id = id;
        entry.line = section.line;
        registry_.entries.push_back(std::move(entry));
        progress_.emplace_back();
        reading_entry_ = true;
    }

    void on_value(const IniValue& value)
    {
        if (!reading_entry_) return;
        const KeySpec* spec = find_key(value.key);
        if (!spec) {
            if (!value.continuation)
                error(value.line, "unknown key '" + std::string(value.key) + "' in section [" +
                                      std::string(value.section) + "]");
            return;
        }
        if (value.continuation && !spec->is_list) {
            error(value.line, "'" + std::string(value.key) + "' takes a single value; only lists go on over indented lines");
            return;
        }
        (this->*spec->set)(registry_.entries.back(), value);
    }

    // ---- setters: one per key; list setters are called for the key line and each continuation ----

    void set_unit(RegistryEntry& entry, const IniValue& value) { entry.unit = std::string(value.value); }

    void add_networks(RegistryEntry& entry, const IniValue& value)
    {
        for (auto item : split_ini_list(value.value)) {
            std::string host_bits_warning;
            const auto cidr = Cidr::parse(item, &host_bits_warning);
            if (!cidr) {
                progress_.back().address_error = true;
                invalid_item(value, item, "an IPv4 or IPv6 network such as 192.0.2.0/24");
                continue;
            }
            if (!host_bits_warning.empty()) warning(value.line, host_bits_warning);
            entry.networks.add(*cidr);
        }
    }

    void add_domains(RegistryEntry& entry, const IniValue& value)
    {
        if (!add_domain_list(entry.domains, value)) progress_.back().address_error = true;
    }

    void add_signing_domains(RegistryEntry& entry, const IniValue& value)
    {
        add_domain_list(entry.signing_domains, value);
    }

    // False when an item was refused.
    bool add_domain_list(std::vector<std::string>& domains, const IniValue& value)
    {
        bool all_valid = true;
        for (auto item : split_ini_list(value.value)) {
            auto domain = normalize_domain(item);
            if (!domain) {
                all_valid = false;
                invalid_item(value, item, "a domain name such as e.example.edu");
                continue;
            }
            if (std::find(domains.begin(), domains.end(), *domain) == domains.end())
                domains.push_back(std::move(*domain));
        }
        return all_valid;
    }

    void set_identifier(RegistryEntry& entry, const IniValue& value)
    {
        if (!is_valid_identifier(value.value))
            return invalid(value, "2 to 64 letters, digits or . _ = + -");
        // Identifiers tell senders apart in MAIL FROM, case-insensitively: they must be unique.
        const auto [other, inserted] = identifiers_.emplace(to_lower(value.value), IdentifierUse{entry.id, value.line});
        if (!inserted) {
            error(value.line, "identifier '" + std::string(value.value) + "' is already used by entry '" +
                                  other->second.entry_id + "' (line " + std::to_string(other->second.line) + ")");
            return;
        }
        entry.identifier = std::string(value.value);
    }

    void set_return_path(RegistryEntry& entry, const IniValue& value)
    {
        std::string message;
        auto regex = Regex::compile(value.value, /*caseless=*/true, &message);
        if (!regex) return error(value.line, "return_path: " + message);
        entry.return_path = std::move(regex);
    }

    void set_category(RegistryEntry& entry, const IniValue& value)
    {
        const auto name = to_lower(value.value);
        if (name == "promotional")
            entry.category = Category::promotional;
        else if (name == "transactional")
            entry.category = Category::transactional;
        else if (name == "message")
            entry.category = Category::per_message;
        else
            invalid(value, "promotional, transactional or message");
    }

    void set_authentication(RegistryEntry& entry, const IniValue& value)
    {
        const auto name = to_lower(value.value);
        for (auto requirement : {AuthRequirement::spf, AuthRequirement::dkim, AuthRequirement::spf_or_dkim,
                                 AuthRequirement::spf_and_dkim}) {
            if (name == to_string(requirement)) {
                entry.authentication = requirement;
                return;
            }
        }
        invalid(value, "spf, dkim, spf-or-dkim or spf-and-dkim");
    }

    void set_external_tag_exempt(RegistryEntry& entry, const IniValue& value)
    {
        const auto flag = parse_ini_boolean(value.value);
        if (!flag) return invalid(value, "yes or no");
        entry.external_tag_exempt = *flag;
    }

    void set_expires(RegistryEntry& entry, const IniValue& value)
    {
        if (value.value.empty()) {  // documented: empty means no expiry
            entry.expires.reset();
            return;
        }
        const auto date = Date::parse(value.value);
        if (!date) return invalid(value, "a real date as YYYY-MM-DD");
        entry.expires = date;
    }

    void set_rate(RegistryEntry& entry, const IniValue& value)
    {
        const auto rate = parse_decimal(value.value, 60000);
        if (!rate) return invalid(value, "messages a minute, 0 to 60000 (0: no limit)");
        entry.rate_limit = *rate;
    }

    void set_rate_burst(RegistryEntry& entry, const IniValue& value)
    {
        const auto burst = parse_decimal(value.value, 60000);
        if (!burst) return invalid(value, "a number of messages, 0 to 60000 (0: the whole minute's allowance)");
        entry.rate_burst = *burst;
    }

    // ---- diagnostics ----

    void invalid(const IniValue& value, std::string_view expected)
    {
        error(value.line, "invalid " + std::string(value.key) + " '" + std::string(value.value) + "' (expected " +
                              std::string(expected) + ")");
    }

    void invalid_item(const IniValue& value, std::string_view item, std::string_view expected)
    {
        error(value.line, "invalid " + std::string(value.key) + " entry '" + std::string(item) + "' (expected " +
                              std::string(expected) + ")");
    }

    void error(int line, std::string message)
    {
        diagnostics_.push_back(Diagnostic{Diagnostic::Severity::error, path_, line, std::move(message)});
    }

    void warning(int line, std::string message)
    {
        diagnostics_.push_back(Diagnostic{Diagnostic::Severity::warning, path_, line, std::move(message)});
    }

    struct IdentifierUse {
        std::string entry_id;
        int line = 0;
    };

    const std::string& path_;
    Diagnostics& diagnostics_;
    Registry registry_;
    std::vector<EntryProgress> progress_;  // parallel to registry_.entries
    bool reading_entry_ = false;           // false after a repeated header: its values are skipped
    std::map<std::string, IdentifierUse, std::less<>> identifiers_;  // lower-cased identifier -> owner
};

}  // namespace

std::string Date::to_string() const { return four_digits(year) + "-" + two_digits(month) + "-" + two_digits(day); }

std::optional<Date> Date::parse(std::string_view text)
{
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    const auto year = digits(text.substr(0, 4));
    const auto month = digits(text.substr(5, 2));
    const auto day = digits(text.substr(8, 2));
    if (!year || !month || !day) return std::nullopt;
    if (*year < 1 || *month < 1 || *month > 12) return std::nullopt;
    if (*day < 1 || *day > days_in_month(*year, *month)) return std::nullopt;
    return Date{*year, *month, *day};
}

std::vector<const RegistryEntry*> Registry::by_network(const IpAddress& address) const
{
    std::vector<const RegistryEntry*> found;
    for (const auto& entry : entries)
        if (entry.networks.contains(address)) found.push_back(&entry);
    return found;
}

const RegistryEntry* Registry::by_id(std::string_view id) const
{
    const auto found = std::find_if(entries.begin(), entries.end(), [&](const RegistryEntry& e) { return e.id == id; });
    return found == entries.end() ? nullptr : &*found;
}

Registry load_registry(const std::string& path, Diagnostics& diagnostics)
{
    const std::size_t first = diagnostics.size();
    Registry registry;
    try {
        RegistryLoad load(path, diagnostics);
        if (load.read()) load.check_entries();
        registry = load.take();
    } catch (const std::exception& exception) {
        diagnostics.push_back(Diagnostic{Diagnostic::Severity::error, path, 0,
                                         std::string("internal error: ") + exception.what()});
    }
    // The entry checks run after the whole file; report everything in file order.
    std::stable_sort(diagnostics.begin() + static_cast<std::ptrdiff_t>(first), diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    const Diagnostics mine(diagnostics.begin() + static_cast<std::ptrdiff_t>(first), diagnostics.end());
    if (has_errors(mine)) return Registry{};  // never half-loaded
    return registry;
}

std::string_view to_string(Category category)
{
    switch (category) {
    case Category::promotional: return "promotional";
    case Category::transactional: return "transactional";
    case Category::per_message: return "message";
    }
    return "promotional";
}

std::string_view to_string(AuthRequirement requirement)
{
    switch (requirement) {
    case AuthRequirement::spf: return "spf";
    case AuthRequirement::dkim: return "dkim";
    case AuthRequirement::spf_or_dkim: return "spf-or-dkim";
    case AuthRequirement::spf_and_dkim: return "spf-and-dkim";
    }
    return "spf-or-dkim";
}

std::vector<std::string_view> registry_keys()
{
    std::vector<std::string_view> keys;
    for (const auto& spec : RegistryLoad::key_table()) keys.push_back(spec.key);
    return keys;
}

}  // namespace ecomm

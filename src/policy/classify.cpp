// Sender classification (DESIGN.md "Who is sending"). Order matters: internal first (SMTP AUTH or
// an internal network), then a registry entry by client network (an expired entry does not
// count) or a passing DKIM signature from an entry's signing domains, then university-domain
// addresses that nobody registered (impersonation; not when a passing signature from a
// university domain shows the mail was relayed by a forwarder or list), else external.
#include "policy/classify.h"

#include <algorithm>

#include "mail/address.h"
#include "policy/calendar.h"

namespace ecomm {

namespace {

bool is_expired(const RegistryEntry& entry, const Date& today)
{
    return entry.expires && *entry.expires < today;
}

// Several entries may share a platform's networks: prefer the one whose identifier the MAIL FROM
// carries, then the one whose domain it uses, then the first in the file.
const RegistryEntry* pick_entry(const std::vector<const RegistryEntry*>& candidates,
                                std::string_view mail_from)
{
    const std::string_view local = local_part_of(mail_from);
    for (const auto* entry : candidates)
        if (!entry->identifier.empty() && contains_token(local, entry->identifier)) return entry;
    const std::string domain = domain_of(mail_from);
    for (const auto* entry : candidates)
        if (domain_in(domain, entry->domains)) return entry;
    return candidates.empty() ? nullptr : candidates.front();
}

// The first university address the sender used: envelope first, then every From: header.
std::string university_address(const MessageFacts& facts, const std::vector<std::string>& domains,
                               std::string* where)
{
    if (domain_in(domain_of(facts.mail_from), domains)) {
        *where = "envelope sender";
        return facts.mail_from;
    }
    for (const Header* from : facts.find_headers("From"))
        for (const auto& address : header_addresses(from->value))
            if (domain_in(domain_of(address), domains)) {
                *where = "header From:";
                return address;
            }
    return {};
}

// A passing DKIM signature whose d= is one of domains (or a subdomain) and none of except's: its
// d=, else "".
std::string passing_signature_in(const MessageFacts& facts, const std::vector<std::string>& domains,
                                 const std::vector<std::string>& except = {})
{
    for (const auto& signature : facts.dkim)
        if (signature.counts_as_pass() && domain_in(signature.domain, domains) &&
            !domain_in(signature.domain, except))
            return signature.domain;
    return {};
}

// Cloud platforms send from networks nobody can list: a passing signature from one of an
// entry's signing domains registers the message too (DESIGN.md, class 2).
// Entries may share a signing domain (two units on one platform): among those a passing signature
// registers, the MAIL FROM's identifier, then its domain, picks one, as for shared networks.
const RegistryEntry* entry_by_signature(const MessageFacts& facts, const Registry& registry, const Date& today,
                                        std::string* signer)
{
    std::vector<const RegistryEntry*> signed_for;
    std::vector<std::string> signers;
    for (const auto& entry : registry.entries) {
        if (is_expired(entry, today)) continue;
        std::string domain = passing_signature_in(facts, entry.dkim_domains());
        if (domain.empty()) continue;
        signed_for.push_back(&entry);
        signers.push_back(std::move(domain));
    }
    const RegistryEntry* chosen = pick_entry(signed_for, facts.mail_from);
    if (chosen == nullptr) return nullptr;
    const auto at = std::find(signed_for.begin(), signed_for.end(), chosen) - signed_for.begin();
    *signer = signers[static_cast<std::size_t>(at)];
    return chosen;
}

// An expired entry whose signing domains gave the message a passing signature: the sender whose
// registration lapsed, from wherever it sends (a cloud platform's networks are not its own).
const RegistryEntry* expired_signer(const MessageFacts& facts, const Registry& registry, const Date& today)
{
    for (const auto& entry : registry.entries)
        if (is_expired(entry, today) && !passing_signature_in(facts, entry.dkim_domains()).empty()) return &entry;
    return nullptr;
}

// The signing domains of every expired entry: their signatures are no forwarder's evidence.
std::vector<std::string> expired_signing_domains(const Registry& registry, const Date& today)
{
    std::vector<std::string> domains;
    for (const auto& entry : registry.entries)
        if (is_expired(entry, today))
            for (const auto& domain : entry.dkim_domains()) domains.push_back(domain);
    return domains;
}

}  // namespace

std::string_view to_string(SenderClass sender_class)
{
    switch (sender_class) {
    case SenderClass::internal: return "internal";
    case SenderClass::registered: return "registered";
    case SenderClass::impersonation: return "impersonation";
    case SenderClass::external: return "external";
    }
    return "external";
}

bool is_internal_sender(const MessageFacts& facts, const MainConfig& config)
{
    return !facts.auth_user.empty() || (facts.client_ip && config.internal_networks.contains(*facts.client_ip));
}

std::vector<const RegistryEntry*> possible_entries(const MessageFacts& facts, const Snapshot& snapshot,
                                                   const std::vector<std::string>& signing_domains)
{
    std::vector<const RegistryEntry*> network;
    if (facts.client_ip) network = snapshot.registry.by_network(*facts.client_ip);
    // pick_entry's choice among all of them is its choice among those still valid at the end of
    // the message, as long as the chosen one cannot expire.
    if (const RegistryEntry* sure = pick_entry(network, facts.mail_from); sure && !sure->expires) return {sure};
    std::vector<const RegistryEntry*> entries = network;
    for (const RegistryEntry& entry : snapshot.registry.entries) {
        const auto signs_for_entry = [&](const std::string& domain) { return domain_in(domain, entry.dkim_domains()); };
        if (std::any_of(signing_domains.begin(), signing_domains.end(), signs_for_entry)) entries.push_back(&entry);
    }
    return entries;
}

Classification classify(const MessageFacts& facts, const Snapshot& snapshot)
{
    const MainConfig& config = snapshot.config;
    Classification result;

    if (is_internal_sender(facts, config)) {
        result.sender_class = SenderClass::internal;
        result.reason = !facts.auth_user.empty()
                            ? "authenticated as " + facts.auth_user
                            : "client " + facts.client_ip->to_string() + " is in internal_networks";
        return result;
    }

    const Date today = local_date(facts.now, config.time_zone);
    if (facts.client_ip) {
        std::vector<const RegistryEntry*> active;
        for (const auto* entry : snapshot.registry.by_network(*facts.client_ip)) {
            if (!is_expired(*entry, today)) active.push_back(entry);
            else if (!result.expired_entry) result.expired_entry = entry;
        }
        if (const RegistryEntry* entry = pick_entry(active, facts.mail_from)) {
            result.sender_class = SenderClass::registered;
            result.entry = entry;
            result.reason = "client " + facts.client_ip->to_string() + " is in the networks of '"
                            + entry->id + "'";
            return result;
        }
    }
    std::string signer;
    if (const RegistryEntry* entry = entry_by_signature(facts, snapshot.registry, today, &signer)) {
        result.sender_class = SenderClass::registered;
        result.entry = entry;
        result.reason = "a DKIM signature from d=" + signer + " passes for '" + entry->id + "'";
        return result;
    }

    if (!result.expired_entry) result.expired_entry = expired_signer(facts, snapshot.registry, today);

    std::string where;
    const std::string address = university_address(facts, config.university_domains, &where);
    if (!address.empty()) {
        // Forwarders and mailing lists relay university mail from unregistered hosts; a passing
        // signature from a university domain shows the message itself is genuine. Not the
        // signature of an expired entry, from any network: that is the unregistered sender
        // itself, not a forwarder.
        signer = passing_signature_in(facts, config.university_domains,
                                      expired_signing_domains(snapshot.registry, today));
        if (!signer.empty()) {
            result.reason = where + " <" + address + "> is in a university domain, relayed with a passing "
                            "DKIM signature from d=" + signer;
            return result;  // external
        }
        result.sender_class = SenderClass::impersonation;
        result.reason = where + " <" + address + "> is in a university domain";
        if (result.expired_entry)
            result.reason += ", but the registration of '" + result.expired_entry->id + "' expired on "
                             + result.expired_entry->expires->to_string();
        else
            result.reason += " and the client is not a registered sender";
        return result;
    }
    result.sender_class = SenderClass::external;
    result.reason = "no university address and no registration";
    if (result.expired_entry)
        result.reason += " (the registration of '" + result.expired_entry->id + "' expired on "
                         + result.expired_entry->expires->to_string() + ")";
    return result;
}

}  // namespace ecomm

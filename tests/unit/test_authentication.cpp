// The authentication rule, DKIM-based registration, the forwarder exception, and the
// Authentication-Results header (built and forged copies found) — on facts set by hand, so
// every SPF/DKIM outcome is covered without DNS.
#include <cppunit/extensions/HelperMacros.h>

#include "fixtures.h"
#include "policy/authentication_results.h"
#include "policy/classify.h"
#include "policy/pipeline.h"

using namespace ecomm;
using namespace ecomm::test;

namespace {

using Spf = SpfResult::Code;
using Dkim = DkimSignatureResult::Code;

MessageFacts authenticated(MessageFacts f, Spf spf, std::vector<std::pair<Dkim, std::string>> signatures = {})
{
    f.authenticated = true;
    f.spf = SpfResult{spf, "events.example.edu", false, "", ""};
    for (const auto& [code, domain] : signatures) {
        DkimSignatureResult s;
        s.code = code;
        s.domain = domain;
        s.selector = "s1";
        s.algorithm = "rsa-sha256";
        if (code == Dkim::fail) s.reason = "body hash mismatch";
        f.dkim.push_back(s);
    }
    return f;
}

const RuleResult& auth_result(const Verdict& v)
{
    for (const auto& r : v.results)
        if (r.rule == "authentication") return r;
    throw std::runtime_error("no authentication result");
}

MessageFacts cvent() { return facts("198.51.100.20", "cv91-1@events.example.edu", "n@events.example.edu"); }

Snapshot with_requirement(AuthRequirement requirement)
{
    Snapshot s = base_snapshot();
    s.config.authserv_id = "mx.example.edu";
    s.config.actions["authentication"] = Action::reject;
    s.config.actions["authentication-temperror"] = Action::tempfail;
    s.config.actions["authentication-permerror"] = Action::quarantine;
    s.registry.entries[1].authentication = requirement;
    return s;
}

}  // namespace

class AuthenticationTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuthenticationTest);
    CPPUNIT_TEST(spfOrDkimPassesOnEither);
    CPPUNIT_TEST(spfAndDkimNeedsBoth);
    CPPUNIT_TEST(dkimFromAnotherDomainDoesNotCount);
    CPPUNIT_TEST(failureIsRejectedWithRfc7372Code);
    CPPUNIT_TEST(temperrorTakesItsOwnAction);
    CPPUNIT_TEST(permerrorTakesItsOwnAction);
    CPPUNIT_TEST(errorInACheckThatPassedDoesNotCount);
    CPPUNIT_TEST(unregisteredSendersAreNotJudged);
    CPPUNIT_TEST(passingSignatureRegistersCloudSender);
    CPPUNIT_TEST(testingKeyPassRegistersNothing);
    CPPUNIT_TEST(expiredEntrysSignatureIsNoForwarderFromAnyNetwork);
    CPPUNIT_TEST(sharedSigningDomainIsSettledByTheIdentifier);
    CPPUNIT_TEST(forwardedUniversityMailIsNotImpersonation);
    CPPUNIT_TEST(failingUniversitySignatureIsStillImpersonation);
    CPPUNIT_TEST(authenticationResultsHeaderIsAddedAtTop);
    CPPUNIT_TEST(forgedCopiesAreRemovedHighestFirst);
    CPPUNIT_TEST(forgedCopiesAreRemovedForInternalSenders);
    CPPUNIT_TEST(noHeaderForInternalOrRejectedOrMonitor);
    CPPUNIT_TEST(propertyValuesAreQuotedWhenNeeded);
    CPPUNIT_TEST_SUITE_END();

public:
    void spfOrDkimPassesOnEither()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf_or_dkim);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), auth_result(run_pipeline(authenticated(cvent(), Spf::pass), s)).result);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"),
                             auth_result(run_pipeline(authenticated(cvent(), Spf::fail, {{Dkim::pass, "events.example.edu"}}), s)).result);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), auth_result(run_pipeline(authenticated(cvent(), Spf::softfail), s)).result);
    }

    void spfAndDkimNeedsBoth()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf_and_dkim);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), auth_result(run_pipeline(authenticated(cvent(), Spf::pass), s)).result);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"),
                             auth_result(run_pipeline(authenticated(cvent(), Spf::pass, {{Dkim::pass, "events.example.edu"}}), s)).result);
        const Snapshot dkim_only = with_requirement(AuthRequirement::dkim);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), auth_result(run_pipeline(authenticated(cvent(), Spf::pass), dkim_only)).result);
        const Snapshot spf_only = with_requirement(AuthRequirement::spf);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), auth_result(run_pipeline(authenticated(cvent(), Spf::pass), spf_only)).result);
    }

    void dkimFromAnotherDomainDoesNotCount()
    {
        const Snapshot s = with_requirement(AuthRequirement::dkim);
        const Verdict v = run_pipeline(authenticated(cvent(), Spf::none, {{Dkim::pass, "vendor.test"}}), s);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), auth_result(v).result);
        // A subdomain of a signing domain counts.
        const Verdict sub = run_pipeline(authenticated(cvent(), Spf::none, {{Dkim::pass, "mail.events.example.edu"}}), s);
        CPPUNIT_ASSERT_EQUAL(std::string("pass"), auth_result(sub).result);
    }

    void failureIsRejectedWithRfc7372Code()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf_or_dkim);
        const Verdict v = run_pipeline(authenticated(cvent(), Spf::fail, {{Dkim::fail, "events.example.edu"}}), s);
        CPPUNIT_ASSERT(v.action == Action::reject);
        CPPUNIT_ASSERT_EQUAL(std::string("authentication"), v.deciding_rule);
        CPPUNIT_ASSERT_EQUAL(std::string("5.7.26"), v.reply->enhanced);
        CPPUNIT_ASSERT(v.reply->text.find("IV.B.3.c.iii") != std::string::npos);
        CPPUNIT_ASSERT(auth_result(v).detail.find("spf=fail (events.example.edu) dkim=fail (d=events.example.edu, body hash mismatch)")
                       != std::string::npos);
        const Verdict spf_only = run_pipeline(authenticated(cvent(), Spf::fail), with_requirement(AuthRequirement::spf));
        CPPUNIT_ASSERT_EQUAL(std::string("5.7.23"), spf_only.reply->enhanced);
        // RFC 7372 3.2: an SPF record in error is 5.7.24, not 5.7.23.
        const Verdict broken = run_pipeline(authenticated(cvent(), Spf::permerror), with_requirement(AuthRequirement::spf));
        CPPUNIT_ASSERT_EQUAL(std::string("5.7.24"), auth_result(broken).enhanced_status);  // quarantined here
        // spf-and-dkim with SPF passing: only DKIM failed, 5.7.20, not "multiple checks" 5.7.26.
        const Verdict dkim_only = run_pipeline(authenticated(cvent(), Spf::pass, {{Dkim::fail, "events.example.edu"}}),
                                               with_requirement(AuthRequirement::spf_and_dkim));
        CPPUNIT_ASSERT_EQUAL(std::string("5.7.20"), dkim_only.reply->enhanced);
    }

    void temperrorTakesItsOwnAction()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf_or_dkim);
        const Verdict v = run_pipeline(authenticated(cvent(), Spf::temperror), s);
        CPPUNIT_ASSERT(v.action == Action::tempfail);
        CPPUNIT_ASSERT_EQUAL(std::string("temperror"), auth_result(v).result);
        CPPUNIT_ASSERT_EQUAL(std::string("451 4.4.3"), v.reply->to_string().substr(0, 9));
    }

    void permerrorTakesItsOwnAction()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf);
        const Verdict v = run_pipeline(authenticated(cvent(), Spf::permerror), s);
        CPPUNIT_ASSERT(v.action == Action::quarantine);
        CPPUNIT_ASSERT_EQUAL(std::string("permerror"), auth_result(v).result);
    }

    void errorInACheckThatPassedDoesNotCount()
    {
        // spf-and-dkim: SPF passed, DKIM plainly failed; an unrelated temperror signature from
        // another domain must not turn a failure into "try again later".
        const Snapshot s = with_requirement(AuthRequirement::spf_and_dkim);
        const Verdict v = run_pipeline(
            authenticated(cvent(), Spf::pass, {{Dkim::fail, "events.example.edu"}, {Dkim::temperror, "other.test"}}), s);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), auth_result(v).result);
        CPPUNIT_ASSERT(v.action == Action::reject);
    }

    void unregisteredSendersAreNotJudged()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf);
        const Verdict v = run_pipeline(authenticated(facts("203.0.113.9", "a@outside.test"), Spf::fail), s);
        CPPUNIT_ASSERT_EQUAL(std::string("none"), auth_result(v).result);
        CPPUNIT_ASSERT(!auth_result(v).triggered);
    }

    void passingSignatureRegistersCloudSender()
    {
        const Snapshot s = with_requirement(AuthRequirement::dkim);
        // Not in any registered network, but signed by cvent's domain.
        const auto f = authenticated(facts("203.0.113.50", "cv91-9@events.example.edu", "n@events.example.edu"), Spf::none,
                                     {{Dkim::pass, "events.example.edu"}});
        const auto c = classify(f, s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::registered);
        CPPUNIT_ASSERT_EQUAL(std::string("cvent"), c.entry->id);
        CPPUNIT_ASSERT(c.reason.find("d=events.example.edu") != std::string::npos);
        CPPUNIT_ASSERT(run_pipeline(f, s).action != Action::reject);
        // A failing signature registers nothing: this is impersonation.
        const auto forged = authenticated(facts("203.0.113.50", "cv91-9@events.example.edu"), Spf::none,
                                          {{Dkim::fail, "events.example.edu"}});
        CPPUNIT_ASSERT(classify(forged, s).sender_class == SenderClass::impersonation);
    }

    // A pass under a testing key (t=y) is treated as no signature (RFC 6376 3.6.1): it neither
    // registers a cloud sender nor meets a dkim requirement.
    void testingKeyPassRegistersNothing()
    {
        Snapshot s = with_requirement(AuthRequirement::dkim);
        auto f = authenticated(facts("203.0.113.50", "cv91-9@events.example.edu"), Spf::none,
                               {{Dkim::pass, "events.example.edu"}});
        CPPUNIT_ASSERT(classify(f, s).sender_class == SenderClass::registered);
        f.dkim[0].testing = true;
        CPPUNIT_ASSERT(classify(f, s).sender_class == SenderClass::impersonation);
        const auto own_network = [&] {
            auto g = authenticated(cvent(), Spf::none, {{Dkim::pass, "events.example.edu"}});
            g.dkim[0].testing = true;
            return g;
        }();
        CPPUNIT_ASSERT(run_pipeline(own_network, s).action == Action::reject);
        CPPUNIT_ASSERT_EQUAL(std::string("fail"), auth_result(run_pipeline(own_network, s)).result);
    }

    // An expired entry's own signature, from its own networks or from a cloud platform's (as
    // for the entries registered by signature), is the sender whose registration lapsed, not a
    // forwarder relaying university mail: impersonation (IV.B.3.c.i), logged as expired.
    void expiredEntrysSignatureIsNoForwarderFromAnyNetwork()
    {
        Snapshot s = with_requirement(AuthRequirement::dkim);
        s.registry.entries[1].expires = Date{2026, 1, 1};
        for (const char* client : {"198.51.100.20", "203.0.113.50"}) {
            const auto f = authenticated(facts(client, "cv91-9@events.example.edu"), Spf::pass,
                                         {{Dkim::pass, "events.example.edu"}});
            const auto c = classify(f, s);
            CPPUNIT_ASSERT_MESSAGE(client, c.sender_class == SenderClass::impersonation);
            CPPUNIT_ASSERT_MESSAGE(client, c.expired_entry != nullptr && c.expired_entry->id == "cvent");
            CPPUNIT_ASSERT_MESSAGE(client, c.reason.find("registration of 'cvent' expired") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(client, run_pipeline(f, s).action == Action::reject);
            // Another university signature on the same message still shows relayed university mail.
            auto listed = f;
            listed.dkim.push_back(DkimSignatureResult{});
            listed.dkim.back().code = DkimSignatureResult::Code::pass;
            listed.dkim.back().domain = "lists.example.edu";
            CPPUNIT_ASSERT_MESSAGE(client, classify(listed, s).sender_class == SenderClass::external);
        }
    }

    // Two units on one platform, signing with the same domain: the MAIL FROM's identifier picks
    // the entry, as it does for entries that share networks.
    void sharedSigningDomainIsSettledByTheIdentifier()
    {
        Snapshot s = with_requirement(AuthRequirement::dkim);
        RegistryEntry second = s.registry.entries[1];  // cvent
        second.id = "cvent-two";
        second.identifier = "cv92";
        second.networks = {};
        s.registry.entries.push_back(second);
        const auto f = authenticated(facts("203.0.113.50", "cv92-1@events.example.edu"), Spf::none,
                                     {{Dkim::pass, "events.example.edu"}});
        const auto c = classify(f, s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::registered);
        CPPUNIT_ASSERT_EQUAL(std::string("cvent-two"), c.entry->id);
        CPPUNIT_ASSERT(c.reason.find("d=events.example.edu") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("cvent"),
                             classify(authenticated(facts("203.0.113.50", "cv91-1@events.example.edu"), Spf::none,
                                                    {{Dkim::pass, "events.example.edu"}}),
                                      s)
                                 .entry->id);
    }

    void forwardedUniversityMailIsNotImpersonation()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf);
        const auto f = authenticated(facts("203.0.113.9", "list-bounces@lists.outside.test", "Dean <dean@example.edu>"),
                                     Spf::pass, {{Dkim::pass, "example.edu"}});
        const auto c = classify(f, s);
        CPPUNIT_ASSERT(c.sender_class == SenderClass::external);
        CPPUNIT_ASSERT(c.reason.find("relayed with a passing DKIM signature from d=example.edu") != std::string::npos);
        CPPUNIT_ASSERT(run_pipeline(f, s).action == Action::tag);
    }

    void failingUniversitySignatureIsStillImpersonation()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf);
        const auto f = authenticated(facts("203.0.113.9", "x@outside.test", "dean@example.edu"), Spf::none,
                                     {{Dkim::fail, "example.edu"}, {Dkim::pass, "outside.test"}});
        CPPUNIT_ASSERT(classify(f, s).sender_class == SenderClass::impersonation);
    }

    void authenticationResultsHeaderIsAddedAtTop()
    {
        const Snapshot s = with_requirement(AuthRequirement::spf_or_dkim);
        const Verdict v = run_pipeline(authenticated(cvent(), Spf::pass, {{Dkim::pass, "events.example.edu"}}), s);
        const HeaderEdit* ar = nullptr;
        for (const auto& e : v.edits)
            if (e.name == "Authentication-Results") ar = &e;
        CPPUNIT_ASSERT(ar != nullptr);
        CPPUNIT_ASSERT(ar->kind == HeaderEdit::Kind::insert);
        CPPUNIT_ASSERT_EQUAL(0, ar->index);
        CPPUNIT_ASSERT_EQUAL(std::string("mx.example.edu;\n\tspf=pass smtp.mailfrom=cv91-1@events.example.edu;\n\t"
                                         "dkim=pass header.d=events.example.edu header.s=s1 header.a=rsa-sha256"),
                             ar->value);
    }

    void forgedCopiesAreRemovedHighestFirst()
    {
        const std::vector<std::string> incoming{"MX.Example.EDU; spf=pass", "other.example; dkim=pass",
                                                "(comment) mx.example.edu; dkim=pass", "mx.example.edu.evil; x=y",
                                                "\"mx.example.edu\"; spf=pass"};
        std::vector<int> claiming;
        for (std::size_t i = 0; i < incoming.size(); ++i)
            if (claims_authserv_id(incoming[i], "mx.example.edu")) claiming.push_back(static_cast<int>(i + 1));
        CPPUNIT_ASSERT(claiming == (std::vector<int>{1, 3, 5}));

        Snapshot s = with_requirement(AuthRequirement::spf);
        auto f = authenticated(cvent(), Spf::pass);
        f.forged_authentication_results = claiming;
        const Verdict v = run_pipeline(f, s);
        std::vector<int> removed;
        for (const auto& e : v.edits)
            if (e.kind == HeaderEdit::Kind::remove) removed.push_back(e.index);
        CPPUNIT_ASSERT(removed == (std::vector<int>{5, 3, 1}));
        // Removals come before our own header is inserted, so they never hit it.
        CPPUNIT_ASSERT(v.edits.at(3).kind == HeaderEdit::Kind::insert);
    }

    // An internal sender gets no Authentication-Results of ours, but forged copies still go.
    void forgedCopiesAreRemovedForInternalSenders()
    {
        Snapshot s = with_requirement(AuthRequirement::spf);
        auto internal = facts("10.1.1.1", "a@example.edu");
        internal.forged_authentication_results = {2};
        const Verdict v = run_pipeline(internal, s);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, v.edits.size());
        CPPUNIT_ASSERT(v.edits[0].kind == HeaderEdit::Kind::remove);
        CPPUNIT_ASSERT_EQUAL(std::string("Authentication-Results"), v.edits[0].name);
        CPPUNIT_ASSERT_EQUAL(2, v.edits[0].index);
    }

    void noHeaderForInternalOrRejectedOrMonitor()
    {
        Snapshot s = with_requirement(AuthRequirement::spf);
        auto internal = facts("10.1.1.1", "a@example.edu");  // not authenticated: internal
        CPPUNIT_ASSERT(run_pipeline(internal, s).edits.empty());
        const Verdict rejected = run_pipeline(authenticated(cvent(), Spf::fail), s);
        CPPUNIT_ASSERT(rejected.action == Action::reject);
        CPPUNIT_ASSERT(rejected.edits.empty());
        s.config.monitor = true;
        CPPUNIT_ASSERT(run_pipeline(authenticated(cvent(), Spf::pass), s).edits.empty());
    }

    void propertyValuesAreQuotedWhenNeeded()
    {
        MessageFacts f = authenticated(cvent(), Spf::pass);
        f.mail_from = "\"odd user\"@events.example.edu";
        const std::string value = authentication_results_value("mx", f);
        CPPUNIT_ASSERT(value.find("smtp.mailfrom=\"\\\"odd user\\\"@events.example.edu\"") != std::string::npos);
        f.mail_from.clear();
        f.spf->helo_identity = true;
        f.helo = "mta.vendor.test";
        CPPUNIT_ASSERT(authentication_results_value("mx", f).find("spf=pass smtp.helo=mta.vendor.test") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuthenticationTest);

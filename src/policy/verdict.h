// The outcome of the rule pipeline for one message: what each rule found, the action taken, the
// SMTP reply and the header edits to make at end of message.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "policy/action.h"
#include "policy/classify.h"

namespace ecomm {

struct HeaderEdit {
    enum class Kind { add, change, insert, remove };
    Kind kind = Kind::add;
    std::string name;
    std::string value;
    int index = 1;             // change/remove: which occurrence (1-based); insert: position (0: top)
};

struct RuleResult {
    std::string rule;          // rule id as in DESIGN.md: registration, return-path, external-tag, ...
    std::string action_key;    // the [actions] key that decides the action; empty: the rule id
    std::string result;        // rule-specific word: pass, fail, skip, warn, tagged, exempt, ...
    bool triggered = false;    // the rule's configured action applies
    Action action = Action::accept;  // the configured action when triggered, else accept
    std::string detail;        // plain words for logs and JSON
    // For the SMTP reply when this rule decides a reject or tempfail:
    std::string reply_text;    // what failed and what to do, in plain words
    std::string policy_section;       // e.g. "IV.B.3.c.i"
    std::string enhanced_status = "5.7.1";  // class digit adjusted to the action (4.x.x / 5.x.x)
    // What the tag action means for this rule; empty: the generic report header.
    std::vector<HeaderEdit> tag_edits;
    std::optional<std::string> tag_subject;
};

struct Reply {
    std::string code;          // "550" or "451"
    std::string enhanced;      // "5.7.1"
    std::string text;          // single line, sanitised, without code
    std::string to_string() const { return code + " " + enhanced + " " + text; }
};

struct Verdict {
    Action action = Action::accept;     // what the MTA is told (accept in monitor mode)
    Action would_be = Action::accept;   // what enforce mode would have done
    std::string deciding_rule;          // empty when nothing triggered
    std::optional<Reply> reply;         // for reject and tempfail
    std::vector<RuleResult> results;
    std::vector<HeaderEdit> edits;      // empty unless action is accept/tag/junk/quarantine
    std::optional<std::string> new_subject;
    std::string quarantine_reason;
    Classification classification;
};

}  // namespace ecomm

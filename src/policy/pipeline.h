// The rule pipeline: classify the sender, run every rule in order, and turn the triggered
// rules' configured actions into one verdict (the most severe action wins; monitor mode keeps
// the verdict but changes nothing).
#pragma once
#include "config/snapshot.h"
#include "policy/classify.h"
#include "policy/facts.h"
#include "policy/verdict.h"

namespace ecomm {

Verdict run_pipeline(const MessageFacts& facts, const Snapshot& snapshot);

// The same with the sender already classified from these facts (classify(facts, snapshot)),
// for a caller that needed the class first: classification is not free (the header From: is
// parsed, the registry searched).
Verdict run_pipeline(const MessageFacts& facts, const Snapshot& snapshot, Classification classification);

}  // namespace ecomm

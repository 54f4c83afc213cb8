#!/usr/bin/env python3
"""Turns the raw results of the end-to-end benchmark into its Markdown report.

Why a separate file: tests/bench/e2e-bench.sh measures; this only computes medians and shares
and words the table in the shape of issue 7 (absolute msg/s for no milter, shares for the rest),
then the absolute figures, the milters' CPU per message, the targets and the proof lines.

Input: RESULTS.tsv with a header line and the columns round, setup, type, count, delivered,
seconds, msg_per_s, milter_cpu_ms, proof, decisions, dns_queries, status, redis_counted,
redis_cpu_ms (one line a cell; the last two only for ecomm-redis).  Only cells with
status "ok" count towards the medians; the others are listed.  Shares are ratios of medians.

Usage:  report.py RESULTS.tsv "MACHINE AND RUN DESCRIPTION"
Run by: tests/bench/e2e-bench.sh
"""
import csv
import statistics
import sys

TYPE_NAMES = {"5k": "5 KB signed", "60k": "60 KB HTML signed", "1m": "1 MB signed",
              "5k-unsigned": "5 KB unsigned"}
SETUP_NAMES = {"none": "no milter", "null-unix": "do-nothing milter, unix",
               "null-inet": "do-nothing milter, inet (TCP_NODELAY)",
               "null-body-unix": "do-nothing milter that takes the body, no replies before "
                                 "end of message, unix",
               "null-body-inet": "do-nothing milter that takes the body, no replies before "
                                 "end of message, inet",
               "null-hash-unix": "do-nothing milter that takes the body and its SHA-256, no "
                                 "replies before end of message, unix",
               "null-hash-inet": "do-nothing milter that takes the body and its SHA-256, no "
                                 "replies before end of message, inet",
               "ecomm-unix": "ecomm-milter, unix", "ecomm-unix-b": "ecomm-milter B build, unix",
               "ecomm-inet": "ecomm-milter, inet", "ecomm-inet-b": "ecomm-milter B build, inet",
               "ecomm-inet-rp": "ecomm-milter, inet, no_reply = unix (every stage replies)",
               "ecomm-redis": "ecomm-milter with Redis counters, unix",
               "odkim-unix": "OpenDKIM verify, unix", "odkim-inet": "OpenDKIM verify, inet"}
PROOF = {"ecomm": "Authentication-Results: mx.bench.test; ... dkim=%s, and one accept/tag "
                  "decision line each",
         "odkim": "Authentication-Results: odkim.bench.test; dkim=%s"}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    types = [t for t in TYPE_NAMES if any(r["type"] == t for r in rows)]
    setups = [s for s in SETUP_NAMES if any(r["setup"] == s for r in rows)]
    rounds = len({r["round"] for r in rows})

    def cells(setup, kind, key):
        return [float(r[key]) for r in rows
                if r["setup"] == setup and r["type"] == kind and r["status"] == "ok"
                and r[key] not in ("", "-")]

    def median(setup, kind, key="msg_per_s"):
        values = cells(setup, kind, key)
        return statistics.median(values) if values else None

    def share(a, b, kind):
        x, y = median(a, kind), median(b, kind)
        return x / y if x is not None and y else None

    def fmt(x, digits=2):
        return "n/a" if x is None else "%.*f" % (digits, x)

    def table_head(first_column):
        say("| %s | " % first_column + " | ".join(TYPE_NAMES[t] for t in types) + " |")
        say("|---" * (len(types) + 1) + "|")

    out = []
    say = out.append
    say("## End to end (smtp-source -> Postfix -> smtp-sink)")
    say("")
    say("%s; medians of %d alternating rounds." % (sys.argv[2], rounds))
    say("")
    table_head("end to end (smtp-source -> Postfix -> smtp-sink)")
    if "none" not in setups:
        say("| (no shares: the setup without a milter was not run) |" + " |" * len(types))
    else:
        say("| no milter (msg/s) | " + " | ".join(fmt(median("none", t), 0) for t in types) + " |")
    labels = {"null-unix": "do-nothing milter, unix socket (share of no milter)",
              "null-inet": "do-nothing milter, inet socket with TCP_NODELAY",
              "null-body-unix": "do-nothing milter that takes the body and negotiates no reply "
                                "for the stages before end of message, as ecomm-milter does, unix "
                                "socket (share of no milter)",
              "null-body-inet": "do-nothing milter that takes the body, no replies before end of "
                                "message, inet socket with TCP_NODELAY (share of no milter)",
              "null-hash-unix": "do-nothing milter that takes the body and its SHA-256 (the least "
                                "a DKIM verifier pays), no replies before end of message, unix "
                                "socket (share of no milter)",
              "null-hash-inet": "do-nothing milter that takes the body and its SHA-256, no "
                                "replies before end of message, inet socket (share of no milter)",
              "ecomm-unix": "ecomm-milter, unix socket (share of no milter; of the do-nothing milter)",
              "ecomm-unix-b": "ecomm-milter B build (ECOMM_MILTER_B), unix socket (share of no "
                              "milter; of the do-nothing milter)",
              "ecomm-inet": "ecomm-milter, inet socket (share of no milter; of the do-nothing milter)",
              "ecomm-inet-b": "ecomm-milter B build (ECOMM_MILTER_B), inet socket (share of no "
                              "milter; of the do-nothing milter)",
              "ecomm-inet-rp": "ecomm-milter, inet socket with no_reply = unix, every stage "
                               "replying (share of no milter; of the do-nothing milter over inet)",
              "ecomm-redis": "ecomm-milter with Redis counters, unix socket (share of no milter; "
                             "of the do-nothing milter; of ecomm-milter with the table)",
              "odkim-unix": "OpenDKIM verify, unix",
              "odkim-inet": "OpenDKIM verify, inet"}
    for setup in setups:
        if setup == "none" or "none" not in setups:
            continue
        figures = []
        for t in types:
            text = fmt(share(setup, "none", t))
            # The do-nothing milter on the same socket kind (ecomm-inet-rp: null-inet).
            null = "null-unix" if setup == "ecomm-redis" else "null-" + setup.split("-")[1]
            if setup.startswith("ecomm") and null in setups:
                text += "; " + fmt(share(setup, null, t))
            if setup == "ecomm-redis" and "ecomm-unix" in setups:
                text += "; " + fmt(share(setup, "ecomm-unix", t))
            figures.append(text)
        say("| %s | %s |" % (labels[setup], " | ".join(figures)))
    say("")

    # The floor of a milter that must read the body (as any DKIM verifier must): the do-nothing
    # milter taking the body with no replies before end of message, as ecomm-milter negotiates
    # (null-milter -b -r), and the same taking the body's SHA-256 (-s), against the one that
    # waits for every reply and never takes the body, and how much of each floor ecomm-milter
    # keeps.
    pairs = []
    for kind in ("unix", "inet"):
        for base in ("null-body", "null-hash"):
            pairs += [(base + "-" + kind, "null-" + kind), ("ecomm-" + kind, base + "-" + kind)]
    floor = [(a, b) for a, b in pairs if a in setups and b in setups]
    if floor:
        say("Floors: the do-nothing milter that takes the body and negotiates no reply before "
            "end of message, as ecomm-milter does, and the same taking the body's SHA-256 "
            "(msg/s, ratio of medians):")
        say("")
        table_head("ratio")
        for a, b in floor:
            say("| %s as a share of %s | %s |" % (a, b, " | ".join(
                fmt(share(a, b, t)) for t in types)))
        say("")

    # A/B: a second build against the first on the same socket. A cell's rate moves by a fifth
    # between rounds; the two of a round ran one after the other, so the round pairs are the
    # comparison to trust.
    ab = [(b, a) for a, b in (("ecomm-unix", "ecomm-unix-b"), ("ecomm-inet", "ecomm-inet-b"))
          if a in setups and b in setups]
    if ab:
        def round_pairs(b, a, kind):
            by_round = {}
            for r in rows:
                if r["type"] == kind and r["status"] == "ok" and r["setup"] in (a, b):
                    by_round.setdefault(r["round"], {})[r["setup"]] = float(r["msg_per_s"])
            ratios = [p[b] / p[a] for p in by_round.values() if a in p and b in p and p[a] > 0]
            return "%.2f-%.2f" % (min(ratios), max(ratios)) if ratios else "n/a"

        say("A/B: the B build (ECOMM_MILTER_B) against ecomm-milter on the same socket: ratio of "
            "the medians (lowest-highest ratio of a round's pair):")
        say("")
        table_head("ratio")
        for b, a in ab:
            say("| %s / %s, msg/s | %s |" % (b, a, " | ".join(
                "%s (%s)" % (fmt(share(b, a, t)), round_pairs(b, a, t)) for t in types)))
            cpu = []
            for t in types:
                x, y = median(b, t, "milter_cpu_ms"), median(a, t, "milter_cpu_ms")
                cpu.append(fmt(x / y if x is not None and y else None))
            say("| %s / %s, milter CPU a message | %s |" % (b, a, " | ".join(cpu)))
        say("")

    say("Absolute msg/s, median (lowest-highest) over the rounds:")
    say("")
    table_head("setup")
    for setup in setups:
        figures = []
        for t in types:
            values = cells(setup, t, "msg_per_s")
            figures.append("n/a" if not values else "%.0f (%.0f-%.0f)" % (
                statistics.median(values), min(values), max(values)))
        say("| %s | %s |" % (SETUP_NAMES[setup], " | ".join(figures)))
    say("")

    milters = [s for s in setups if s != "none"]
    if milters:
        say("Milter CPU per message (ms, user + system, all threads; median):")
        say("")
        table_head("setup")
        for setup in milters:
            say("| %s | %s |" % (SETUP_NAMES[setup], " | ".join(
                fmt(median(setup, t, "milter_cpu_ms")) for t in types)))
        if "ecomm-redis" in setups:
            say("| redis-server, for ecomm-milter with Redis counters | %s |" % " | ".join(
                fmt(median("ecomm-redis", t, "redis_cpu_ms")) for t in types))
        say("")
        say("DNS queries that reached the DNS server, per message (median):")
        say("")
        table_head("setup")
        for setup in milters:
            say("| %s | %s |" % (SETUP_NAMES[setup], " | ".join(
                fmt(median(setup, t, "dns_queries")) for t in types)))
        say("")

    say("Targets (issue 7; issue 8 for the Redis counters):")
    # Each ecomm-milter setup against the do-nothing milter and OpenDKIM on the same socket kind.
    for ecomm, sock, wording in (("ecomm-unix", "unix", "unix socket"),
                                 ("ecomm-inet", "inet", "inet socket"),
                                 ("ecomm-inet-rp", "inet", "inet socket with no_reply = unix")):
        null, odkim = "null-" + sock, "odkim-" + sock
        if ecomm not in setups:
            continue
        if null in setups:
            shares = [share(ecomm, null, t) for t in types]
            met = all(x is not None and x >= 0.90 for x in shares)
            say("- ecomm-milter / do-nothing milter, %s (at least 0.90): %s -- %s" % (
                wording, ", ".join("%s %s" % (TYPE_NAMES[t], fmt(x)) for t, x in zip(types, shares)),
                "met" if met else "NOT MET"))
        if odkim in setups:
            shares = [share(ecomm, odkim, t) for t in types]
            met = all(x is not None and x > 1.0 for x in shares)
            say("- ecomm-milter / OpenDKIM, %s (above 1.00): %s -- %s" % (
                wording, ", ".join("%s %s" % (TYPE_NAMES[t], fmt(x)) for t, x in zip(types, shares)),
                "met" if met else "NOT MET"))
    if "ecomm-redis" in setups and "none" in setups:
        shares = [share("ecomm-redis", "none", t) for t in types]
        met = all(x is not None and x >= 0.90 for x in shares)
        say("- ecomm-milter with Redis counters / no milter, unix socket (at least 0.90, issue 8): "
            "%s -- %s" % (", ".join("%s %s" % (TYPE_NAMES[t], fmt(x)) for t, x in zip(types, shares)),
                          "met" if met else "NOT MET"))
    say("")

    say("Proof that each milter was in the path (all cells):")
    for setup in setups:
        mine = [r for r in rows if r["setup"] == setup]
        sent = sum(int(r["count"]) for r in mine)
        delivered = sum(int(r["delivered"]) for r in mine)
        kind = setup.split("-")[0]
        line = "- %s: %d/%d delivered" % (SETUP_NAMES[setup], delivered, sent)
        if kind in PROOF:
            for dkim, which in (("pass", [r for r in mine if r["type"] != "5k-unsigned"]),
                                ("none", [r for r in mine if r["type"] == "5k-unsigned"])):
                if which:
                    line += "; %d/%d with %s" % (sum(int(r["proof"]) for r in which),
                                                 sum(int(r["count"]) for r in which),
                                                 PROOF[kind] % dkim)
            if setup == "ecomm-redis":
                signed = [r for r in mine if r["type"] != "5k-unsigned"]
                line += ("; %d/%d signed messages counted in Redis (the sender's rate entry's total)"
                         % (sum(int(r["redis_counted"]) for r in signed
                                if r.get("redis_counted", "-").lstrip("-").isdigit()),
                            sum(int(r["count"]) for r in signed)))
        elif kind == "null":
            used = [float(r["milter_cpu_ms"]) for r in mine if r["milter_cpu_ms"] not in ("", "-")]
            line += ("; it adds no header: it used CPU in every cell (%.3f-%.3f ms a message) and "
                     "Postfix tempfails without it" % (min(used), max(used))) if used else ""
        else:
            line += "; no milter header on any"
        say(line)
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        say("")
        say("Cells left out (not every message delivered with its proof):")
        for r in failed:
            say("- round %s %s %s: %s (%s/%s delivered)" % (r["round"], r["setup"], r["type"],
                                                           r["status"], r["delivered"], r["count"]))
    print("\n".join(out))


if __name__ == "__main__":
    main()

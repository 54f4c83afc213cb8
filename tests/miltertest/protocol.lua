-- ecomm-milter over the milter protocol itself, with miltertest(8) playing the MTA.
--
-- Run by tests/miltertest/run.sh:
--   miltertest -s protocol.lua -D socket=unix:/path [-D reject_reply="550 5.7.1 ..."]
-- socket        where the milter listens (it is already running with the test config)
-- reject_reply  optional: the exact reply "ecomm-milter -t" gives for transaction 1; the milter
--               must send the same one
--
-- miltertest loses the text of error(), so failures go to stderr and exit 1.

local passed = 0

local function fail(message)
    io.stderr:write("protocol.lua: FAIL: " .. message .. "\n")
    os.exit(1)
end

local function ok(message)
    passed = passed + 1
    io.stdout:write("ok " .. passed .. " - " .. message .. "\n")
end

-- A reply code (a character) in words, for failure messages.
local function reply_name(code)
    local names = {
        [SMFIR_CONTINUE] = "SMFIR_CONTINUE", [SMFIR_ACCEPT] = "SMFIR_ACCEPT",
        [SMFIR_REJECT] = "SMFIR_REJECT", [SMFIR_TEMPFAIL] = "SMFIR_TEMPFAIL",
        [SMFIR_DISCARD] = "SMFIR_DISCARD", [SMFIR_REPLYCODE] = "SMFIR_REPLYCODE",
    }
    if SMFIR_SKIP ~= nil then names[SMFIR_SKIP] = "SMFIR_SKIP" end
    if code == nil then return "nothing" end
    return names[code] or ("'" .. string.char(code) .. "'")
end

-- Every mt.* step returns nil on success or an error string.
local function step(what, err)
    if err ~= nil then fail(what .. ": " .. tostring(err)) end
end

-- Before end of message a stage may only say "go on" (SMFIR_CONTINUE) or "accept, no need to
-- see more" (SMFIR_ACCEPT, e.g. for an internal client). Returns true to go on.
local function expect_continue(conn, what)
    local reply = mt.getreply(conn)
    if reply == SMFIR_CONTINUE then return true end
    if reply == SMFIR_ACCEPT then return false end
    fail(what .. ": expected SMFIR_CONTINUE (or SMFIR_ACCEPT), got " .. reply_name(reply))
end

if socket == nil then fail("no socket: run with -D socket=unix:/path") end
mt.set_timeout(10)

-- Header values as written after the colon (libmilter's mfdef.h; miltertest offers it by
-- default, as Postfix and Sendmail do). The milter asks for it, for DKIM: the MTA then sends each
-- value with its leading space, and takes the values of header edits the same way.
local HDR_LEADSPC = SMFIP_HDR_LEADSPC or 0x00100000
local CURR_PROT = 0x001FFFFF  -- SMFI_CURR_PROT: every protocol option of version 6
local as_written = {}  -- conn -> true when SMFIP_HDR_LEADSPC was negotiated

-- A header edit's value as the milter must send it on conn: " value" when header values go as
-- written, else value (the MTA inserts the one space itself). mt.header() already writes the
-- space before the values it sends when the option was negotiated, as an MTA does.
local function wire(conn, value)
    if as_written[conn] then return " " .. value end
    return value
end

-- Opens a connection from ip (host name host) and says HELO. Also returns false when the
-- milter accepted the whole connection already. protocol: the options the MTA offers (nil: all).
local function open(ip, host, protocol)
    local conn = mt.connect(socket, 40, 0.25)
    if conn == nil then fail("cannot connect to " .. socket) end
    step("negotiate", mt.negotiate(conn, nil, protocol, nil))
    as_written[conn] = mt.test_option(conn, HDR_LEADSPC)
    if protocol ~= nil and protocol & HDR_LEADSPC == 0 and as_written[conn] then
        fail("the milter asked for SMFIP_HDR_LEADSPC, which the MTA did not offer")
    end
    step("macro", mt.macro(conn, SMFIC_CONNECT, "j", "mx.test.example", "{daemon_name}", "miltertest"))
    step("conninfo", mt.conninfo(conn, host, ip))
    if not expect_continue(conn, "connect from " .. ip) then return conn, false end
    if not mt.test_option(conn, SMFIP_NOHELO) then
        step("helo", mt.helo(conn, host))
        if not expect_continue(conn, "HELO " .. host) then return conn, false end
    end
    return conn, true
end

-- Runs one message through conn up to end of message and returns the last reply: the EOM reply,
-- or SMFIR_ACCEPT when an earlier stage accepted the message. Rejects happen at end of message.
-- auth, when given, is the SMTP AUTH login the MTA reports ({auth_authen}, as Postfix does).
local function transaction(conn, queue_id, mail_from, headers, body, auth)
    if auth ~= nil then
        step("macro", mt.macro(conn, SMFIC_MAIL, "i", queue_id, "{mail_addr}", mail_from,
            "{auth_type}", "PLAIN", "{auth_authen}", auth))
    else
        step("macro", mt.macro(conn, SMFIC_MAIL, "i", queue_id, "{mail_addr}", mail_from))
    end
    step("mailfrom", mt.mailfrom(conn, "<" .. mail_from .. ">"))
    if not expect_continue(conn, queue_id .. " MAIL FROM:<" .. mail_from .. ">") then return SMFIR_ACCEPT end
    if not mt.test_option(conn, SMFIP_NORCPT) then
        step("rcptto", mt.rcptto(conn, "<student@example.edu>"))
        if not expect_continue(conn, queue_id .. " RCPT TO") then return SMFIR_ACCEPT end
    end
    if not mt.test_option(conn, SMFIP_NOHDRS) then
        for _, h in ipairs(headers) do
            step("header", mt.header(conn, h[1], h[2]))
            if not expect_continue(conn, queue_id .. " header " .. h[1]) then return SMFIR_ACCEPT end
        end
    end
    if not mt.test_option(conn, SMFIP_NOEOH) then
        step("eoh", mt.eoh(conn))
        if not expect_continue(conn, queue_id .. " end of headers") then return SMFIR_ACCEPT end
    end
    if not mt.test_option(conn, SMFIP_NOBODY) then
        step("body", mt.bodystring(conn, body))
        local reply = mt.getreply(conn)
        if reply == SMFIR_ACCEPT then return reply end
        if reply ~= SMFIR_CONTINUE and (SMFIR_SKIP == nil or reply ~= SMFIR_SKIP) then
            fail(queue_id .. " body: expected SMFIR_CONTINUE or SMFIR_SKIP, got " .. reply_name(reply))
        end
    end
    step("eom", mt.eom(conn))
    return mt.getreply(conn)
end

local function headers_from(from, subject)
    return {
        { "From", from },
        { "To", "student@example.edu" },
        { "Subject", subject },
        { "Date", "Tue, 22 Dec 2009 13:04:12 -0700" },
        { "Message-ID", "<" .. subject:gsub("%W", "") .. "@miltertest.test>" },
    }
end

local function expect_accept(conn, reply, what)
    if reply ~= SMFIR_ACCEPT and reply ~= SMFIR_CONTINUE then
        fail(what .. ": expected SMFIR_ACCEPT or SMFIR_CONTINUE at EOM, got " .. reply_name(reply))
    end
    ok(what .. ": accepted at end of message")
end

local function expect_reject(conn, reply, what)
    if reply ~= SMFIR_REPLYCODE and reply ~= SMFIR_REJECT then
        fail(what .. ": expected a reject (SMFIR_REPLYCODE) at EOM, got " .. reply_name(reply))
    end
    if reply ~= SMFIR_REPLYCODE then
        fail(what .. ": rejected without a reply text (SMFIR_REJECT instead of SMFIR_REPLYCODE)")
    end
    ok(what .. ": rejected with SMFIR_REPLYCODE at end of message")
end

-- The external tag: X-Ecomm-External added (smfi_addheader or smfi_insheader).
local function tagged(conn)
    return mt.eom_check(conn, MT_HDRADD, "X-Ecomm-External", wire(conn, "yes"))
        or mt.eom_check(conn, MT_HDRINSERT, "X-Ecomm-External", wire(conn, "yes"))
end

local function any_tag(conn)
    return mt.eom_check(conn, MT_HDRADD, "X-Ecomm-External")
        or mt.eom_check(conn, MT_HDRINSERT, "X-Ecomm-External")
end

-- The Authentication-Results header (RFC 8601), added to every message that is not internal.
-- (Its value is checked end to end, tests/e2e; the test config answers DNS from a static zone.)
local function authentication_results(conn)
    return mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results")
        or mt.eom_check(conn, MT_HDRADD, "Authentication-Results")
end

local function main()

-- 1. Impersonation: an outside client using a university address in MAIL FROM.
local conn, open_ok = open("203.0.113.9", "mx.outside.test")
if not open_ok then fail("the milter accepted a connection from 203.0.113.9 without looking at it") end
if not as_written[conn] then fail("the milter did not ask for SMFIP_HDR_LEADSPC, which the MTA offered") end
ok("header values as written (SMFIP_HDR_LEADSPC) negotiated")
local reply = transaction(conn, "MT0001", "dean@example.edu",
    headers_from("Dean <dean@example.edu>", "Urgent payroll"), "Please update your details.\r\n")
expect_reject(conn, reply, "impersonating MAIL FROM")
if reject_reply ~= nil and reject_reply ~= "" then
    local code, esc, text = reject_reply:match("^(%d%d%d) (%d%.%d+%.%d+) (.*)$")
    if code == nil then fail("bad -D reject_reply: " .. reject_reply) end
    if not mt.eom_check(conn, MT_SMTPREPLY, code, esc, text) then
        fail("impersonating MAIL FROM: the milter's reply differs from -t's: expected \"" .. reject_reply .. "\"")
    end
    ok("impersonating MAIL FROM: reply is \"" .. reject_reply .. "\"")
else
    -- mt.eom_check can only compare the whole reply, so without the expected text there is
    -- nothing to compare with.
    ok("impersonating MAIL FROM: reply text not checked (no -D reject_reply)")
end
if any_tag(conn) then fail("impersonating MAIL FROM: a rejected message was tagged") end

-- 2. The same connection, a second transaction from an external sender: tagged.
reply = transaction(conn, "MT0002", "someone@outside.test",
    headers_from("Someone <someone@outside.test>", "Hello"), "Hi there.\r\n")
expect_accept(conn, reply, "external sender (second transaction on the connection)")
if not tagged(conn) then fail("external sender: no X-Ecomm-External: yes header added") end
ok("external sender: X-Ecomm-External: yes added")
if not mt.eom_check(conn, MT_HDRCHANGE, "Subject", wire(conn, "[EXTERNAL] Hello")) then
    fail("external sender: Subject not changed to \" [EXTERNAL] Hello\" (with its leading space)")
end
ok("external sender: Subject changed to \" [EXTERNAL] Hello\" (with its leading space)")
if not authentication_results(conn) then fail("external sender: no Authentication-Results header added") end
ok("external sender: Authentication-Results added")

-- 3. Impersonation through the header From: only.
reply = transaction(conn, "MT0003", "someone@outside.test",
    headers_from("President <president@example.edu>", "A message from the president"), "Hello.\r\n")
expect_reject(conn, reply, "impersonating header From")
mt.disconnect(conn)

-- 4. A registered sender (exempt from the tag) with its identifier in the return path.
conn, open_ok = open("192.0.2.7", "mta1.example.net")
if not open_ok then fail("the milter accepted a connection from 192.0.2.7 without looking at it") end
reply = transaction(conn, "MT0004", "bounce-mc7f3a-42@e.example.edu",
    { { "From", "News <news@e.example.edu>" }, { "To", "student@example.edu" },
      { "Subject", "Campus news" }, { "Date", "Tue, 22 Dec 2009 13:04:12 -0700" },
      { "List-Unsubscribe", "<mailto:unsubscribe-mc7f3a@e.example.edu>" } },
    "News.\r\n")
expect_accept(conn, reply, "registered sender")
if any_tag(conn) then fail("registered sender: tagged although its entry is exempt") end
ok("registered sender: not tagged")
if not authentication_results(conn) then fail("registered sender: no Authentication-Results header added") end
ok("registered sender: Authentication-Results added")

-- 5. Same network, return path without the identifier.
reply = transaction(conn, "MT0005", "noreply@e.example.edu",
    headers_from("News <news@e.example.edu>", "Campus news again"), "News.\r\n")
expect_reject(conn, reply, "registered network, return path without identifier")
mt.disconnect(conn)

-- 6. Internal client: accepted, not tagged.
conn, open_ok = open("10.99.1.2", "desk.example.edu")
reply = SMFIR_ACCEPT
if open_ok then
    reply = transaction(conn, "MT0006", "a@example.edu",
        headers_from("A <a@example.edu>", "Staff meeting"), "Tomorrow.\r\n")
end
expect_accept(conn, reply, "internal client")
if any_tag(conn) then fail("internal client: tagged") end
ok("internal client: not tagged")
if authentication_results(conn) then fail("internal client: Authentication-Results added") end
ok("internal client: no Authentication-Results")
mt.disconnect(conn)

-- 7. An outside address, but authenticated with SMTP AUTH: internal, not tagged.
conn, open_ok = open("203.0.113.9", "laptop.outside.test")
reply = SMFIR_ACCEPT
if open_ok then
    reply = transaction(conn, "MT0007", "b@example.edu",
        headers_from("B <b@example.edu>", "Travel plans"), "From the road.\r\n", "alice")
end
expect_accept(conn, reply, "authenticated client")
if any_tag(conn) then fail("authenticated client: tagged") end
ok("authenticated client: not tagged")
mt.disconnect(conn)

-- 8. An MTA that does not offer SMFIP_HDR_LEADSPC: it strips the space from the values it sends
--    and inserts one before the values it gets, so the edits go without.
conn, open_ok = open("203.0.113.9", "old-mta.outside.test", CURR_PROT & ~HDR_LEADSPC)
if not open_ok then fail("the milter accepted a connection from 203.0.113.9 without looking at it") end
ok("SMFIP_HDR_LEADSPC not asked for when the MTA does not offer it")
reply = transaction(conn, "MT0008", "someone@outside.test",
    headers_from("Someone <someone@outside.test>", "Hello"), "Hi there.\r\n")
expect_accept(conn, reply, "external sender, MTA without SMFIP_HDR_LEADSPC")
if not mt.eom_check(conn, MT_HDRCHANGE, "Subject", "[EXTERNAL] Hello") then
    fail("MTA without SMFIP_HDR_LEADSPC: Subject not changed to \"[EXTERNAL] Hello\"")
end
if not mt.eom_check(conn, MT_HDRADD, "X-Ecomm-External", "yes")
    and not mt.eom_check(conn, MT_HDRINSERT, "X-Ecomm-External", "yes") then
    fail("MTA without SMFIP_HDR_LEADSPC: no X-Ecomm-External: yes header added")
end
ok("MTA without SMFIP_HDR_LEADSPC: edits without a leading space")
mt.disconnect(conn)

end

-- A Lua error inside mt.* (e.g. a step the milter negotiated away) would otherwise end the
-- script without a word.
local done, err = pcall(main)
if not done then fail("script error: " .. tostring(err)) end
io.stdout:write(passed .. " miltertest checks passed\n")

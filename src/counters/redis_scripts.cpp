// The Lua scripts (redis_scripts.h). The rate scripts share kWindowFunctions, a port of
// sliding_window.cpp: keep the two in step (the RedisStoreTest differential test compares them).
#include "counters/redis_scripts.h"

#include <array>
#include <stdexcept>

namespace ecomm {

namespace {

// The clock every script reads first: the caller's milliseconds, or the server's TIME for "".
constexpr std::string_view kClock = R"lua(
local function clock_ms(argument)
  if argument == '' then
    local time = redis.call('TIME')
    return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  local ms = tonumber(argument)
  if not ms then error('ecomm-milter: the clock argument is not a number') end
  return ms
end

-- Integers as Redis stores them (Lua's own tostring switches to exponents past 14 digits).
local function text(number) return string.format('%d', number) end
)lua";

// sliding_window.cpp in Lua: the rate hash loaded into a table, the same pure functions on it,
// and only the changed buckets written back (a zero bucket's fields are deleted).
constexpr std::string_view kWindowFunctions = R"lua(
local WINDOW = 60
local BUCKET_MAX = 65535
-- A rate entry is live for 60 s after its last use (view hides it then, as the table does) but
-- kept for 10 minutes, so that the commit of a message that took longer than the window (Postfix
-- gives a milter 5 minutes at most) still finds it and counts it again, as the table's does.
local RATE_KEPT_MS = 600000

local function unix_second(ms) return (ms - ms % 1000) / 1000 end
-- Lua's % is a floored modulo: non-negative for negative seconds too.
local function bucket(second) return second % WINDOW end

local function load_window(key)
  local w = {exists = false, newest = 0, total = 0, last_used = 0, counted = {}, pending = {}, dirty = {}}
  for i = 0, WINDOW - 1 do w.counted[i] = 0; w.pending[i] = 0 end
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    local field, value = flat[i], tonumber(flat[i + 1]) or 0
    w.exists = true
    if field == 'newest' then w.newest = value
    elseif field == 'total' then w.total = value
    elseif field == 'last_used' then w.last_used = value
    else
      local kind, index = string.sub(field, 1, 1), tonumber(string.sub(field, 2))
      if index and index >= 0 and index < WINDOW then
        if kind == 'c' then w.counted[index] = value elseif kind == 'p' then w.pending[index] = value end
      end
    end
  end
  return w
end

local function save_window(key, w)
  local set = {'newest', text(w.newest), 'total', text(w.total), 'last_used', text(w.last_used)}
  local unset = {}
  for index in pairs(w.dirty) do
    for _, part in ipairs({{'c', w.counted[index]}, {'p', w.pending[index]}}) do
      local field = part[1] .. index
      if part[2] > 0 then
        set[#set + 1] = field; set[#set + 1] = text(part[2])
      else
        unset[#unset + 1] = field
      end
    end
  end
  redis.call('HSET', key, unpack(set))
  if #unset > 0 then redis.call('HDEL', key, unpack(unset)) end
end

local function clear_bucket(w, index)
  if w.counted[index] ~= 0 or w.pending[index] ~= 0 then
    w.counted[index] = 0; w.pending[index] = 0; w.dirty[index] = true
  end
end

-- Whether second still has a live bucket (it has not slid out and is not in the future).
local function is_live(w, second) return second <= w.newest and second > w.newest - WINDOW end

-- Moves the window forward to now_second; returns the second this call counts in (a clock that
-- went back by less than the window counts in the newest bucket; one that stepped back further
-- starts the window again at now, as sliding_window.cpp does).
local function advance(w, now_second)
  local stepped_back = now_second <= w.newest - WINDOW
  if not stepped_back and now_second <= w.newest then return w.newest end
  if stepped_back or now_second - w.newest >= WINDOW then
    for index = 0, WINDOW - 1 do clear_bucket(w, index) end
  else
    for second = w.newest + 1, now_second do clear_bucket(w, bucket(second)) end
  end
  w.newest = now_second
  return now_second
end

local function sum_counted(w, at_second, span)
  span = math.min(math.max(span, 1), WINDOW)
  local total = 0
  for second = at_second - span + 1, at_second do
    if is_live(w, second) then total = total + w.counted[bucket(second)] end
  end
  return total
end

local function count_in_window(w, now_second) return sum_counted(w, math.max(now_second, w.newest), WINDOW) end

-- burst messages are allowed within ceil(burst * 60 / per_minute) seconds, 1..60.
local function burst_span(limit)
  local span = math.floor((limit.burst * WINDOW + limit.per_minute - 1) / limit.per_minute)
  return math.min(math.max(span, 1), WINDOW)
end

local function within_limit(w, limit, at_second)
  if sum_counted(w, at_second, WINDOW) >= limit.per_minute then return false end
  if limit.burst <= 0 then return true end
  return sum_counted(w, at_second, burst_span(limit)) < limit.burst
end

-- within_limit for a second after newest, in O(1) from tail: tail[d] holds the messages of the
-- last d seconds up to newest (d = 0..60). Nothing is counted after newest, so the span ending
-- at a later second holds just the last (newest - later + span) of them: the same sums as
-- sum_counted's, without its 60 steps for each of the 60 seconds searched.
local function window_tail(w)
  local tail = {[0] = 0}
  for d = 1, WINDOW do tail[d] = tail[d - 1] + w.counted[bucket(w.newest - d + 1)] end
  return tail
end

local function within_limit_later(w, tail, limit, later)
  local function sum(span) return tail[math.max(0, w.newest - later + span)] end
  if sum(WINDOW) >= limit.per_minute then return false end
  if limit.burst <= 0 then return true end
  return sum(burst_span(limit)) < limit.burst
end

-- Milliseconds from now_ms until the start of second (now_ms is whole: no rounding needed).
local function wait_until(second, now_ms) return math.max(0, second * 1000 - now_ms) end
)lua";

// Counts one message when the limit allows it, else says how long until it would.
constexpr std::string_view kReserveBody = R"lua(
local now = clock_ms(ARGV[1])
local limit = {per_minute = tonumber(ARGV[2]), burst = tonumber(ARGV[3])}
local w = load_window(KEYS[1])
local second = advance(w, unix_second(now))
local index = bucket(second)
local reserved, wait = 0, 0
local unlimited = limit.per_minute <= 0
if unlimited or within_limit(w, limit, second) then
  if w.counted[index] < BUCKET_MAX then
    w.counted[index] = w.counted[index] + 1
    if w.pending[index] < BUCKET_MAX then w.pending[index] = w.pending[index] + 1 end
    w.dirty[index] = true
    reserved = 1
  elseif unlimited then
    reserved = 1  -- no limit to enforce: a full bucket only makes the figures shown low
  else
    wait = wait_until(second + 1, now)  -- the bucket is full: the next one is not
  end
else
  -- The first later second at which enough buckets have expired (at second + 60 all have).
  local tail = window_tail(w)  -- second is newest here
  for later = second + 1, second + WINDOW do
    if within_limit_later(w, tail, limit, later) then
      wait = wait_until(later, now)
      break
    end
  end
end
local in_window = count_in_window(w, second)
w.last_used = now
save_window(KEYS[1], w)
redis.call('PEXPIRE', KEYS[1], RATE_KEPT_MS)
return {reserved, second, wait, in_window}
)lua";

// Makes a reservation permanent; one that slid out of the window counts again at now.
constexpr std::string_view kCommitBody = R"lua(
local now = clock_ms(ARGV[1])
local reserved_second = tonumber(ARGV[2])
local w = load_window(KEYS[1])
if not w.exists then return 0 end
local second = advance(w, unix_second(now))
if is_live(w, reserved_second) then
  local index = bucket(reserved_second)
  if w.pending[index] > 0 then w.pending[index] = w.pending[index] - 1; w.dirty[index] = true end
else
  local index = bucket(second)
  if w.counted[index] < BUCKET_MAX then w.counted[index] = w.counted[index] + 1; w.dirty[index] = true end
end
w.total = w.total + 1
w.last_used = now
save_window(KEYS[1], w)
redis.call('PEXPIRE', KEYS[1], RATE_KEPT_MS)
return 1
)lua";

// Takes a reservation back (no-op once its second has left the window). Not a use: the key's
// TTL stays as it is, as the table's last use does.
constexpr std::string_view kReleaseBody = R"lua(
local now = clock_ms(ARGV[1])
local reserved_second = tonumber(ARGV[2])
local w = load_window(KEYS[1])
if not w.exists then return 0 end
advance(w, unix_second(now))
if is_live(w, reserved_second) then
  local index = bucket(reserved_second)
  if w.counted[index] > 0 then w.counted[index] = w.counted[index] - 1; w.dirty[index] = true end
  if w.pending[index] > 0 then w.pending[index] = w.pending[index] - 1; w.dirty[index] = true end
end
save_window(KEYS[1], w)
return 1
)lua";

// Adds recipients to a campaign's HyperLogLog (restarting the campaign once its window has passed
// since its first message) and reports the first crossing of the threshold exactly once.
constexpr std::string_view kAddToCampaignBody = R"lua(
local now = clock_ms(ARGV[1])
local sender, declared, threshold, window_seconds = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local window_ms = tonumber(window_seconds) * 1000
local campaign, audience = KEYS[1], KEYS[2]
local FIRST_RECIPIENT, PFADD_BATCH = 6, 1000  -- batches well within Lua's unpack limit (8000)

-- a > b for non-negative decimal integers without leading zeros, of any size.
local function greater(a, b)
  if #a ~= #b then return #a > #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return false
end

local stored = redis.call('HMGET', campaign, 'first_seen', 'declared', 'crossed')
local first_seen = tonumber(stored[1] or '')
local declared_so_far, crossed = stored[2] or '0', stored[3] == '1'
if not first_seen or now - first_seen >= window_ms then
  redis.call('DEL', campaign, audience)
  first_seen, declared_so_far, crossed = now, '0', false
end
if greater(declared, declared_so_far) then declared_so_far = declared end

for first = FIRST_RECIPIENT, #ARGV, PFADD_BATCH do
  redis.call('PFADD', audience, unpack(ARGV, first, math.min(first + PFADD_BATCH - 1, #ARGV)))
end
local estimate = redis.call('PFCOUNT', audience)

local first_crossing = 0
if not crossed and (greater(text(estimate), threshold) or greater(declared_so_far, threshold)) then
  crossed, first_crossing = true, 1
end
redis.call('HSET', campaign, 'sender', sender, 'first_seen', text(first_seen), 'last_seen', text(now),
           'window', window_seconds, 'declared', declared_so_far, 'crossed', crossed and '1' or '0')
local remaining_ms = math.max(1, first_seen + window_ms - now)
redis.call('PEXPIRE', campaign, remaining_ms)
redis.call('PEXPIRE', audience, remaining_ms)
return {estimate, declared_so_far, first_crossing}
)lua";

std::array<RedisScript, kRedisScriptCount> make_scripts()
{
    const std::string rate_prelude = std::string(kClock) + std::string(kWindowFunctions);
    return {{
        {RedisScriptId::reserve, "reserve", rate_prelude + std::string(kReserveBody)},
        {RedisScriptId::commit, "commit", rate_prelude + std::string(kCommitBody)},
        {RedisScriptId::release, "release", rate_prelude + std::string(kReleaseBody)},
        {RedisScriptId::add_to_campaign, "add_to_campaign", std::string(kClock) + std::string(kAddToCampaignBody)},
    }};
}

}  // namespace

const RedisScript& redis_script(RedisScriptId id)
{
    static const std::array<RedisScript, kRedisScriptCount> scripts = make_scripts();
    const auto index = static_cast<std::size_t>(id);
    if (index >= scripts.size()) throw std::out_of_range("no such Redis script");
    return scripts[index];
}

}  // namespace ecomm

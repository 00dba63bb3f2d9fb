-- policy.lua: the entry point of the ChittyCharge policy.
--
-- ChittyCharge calls the four functions below ("hooks") when it needs a
-- business decision. Each receives one table and returns one table; README.md
-- lists every field. The numbers (limits, origins, fees, hours) live in
-- settings.json; the rules that use them live in small files next to this one:
--   tiers.lua     how large a hold may be
--   origins.lua   which web sites may call the API from a browser
--   schedule.lua  when a hold is captured or released automatically
--
-- If a hook raises an error, ChittyCharge plays safe: the hold is refused, the
-- origin is refused, the built-in rate limit is used, or nothing is scheduled.

local tiers    = require("tiers")
local origins  = require("origins")
local schedule = require("schedule")

-- Requests each API client may make per window, and the window in seconds.
local RATE_LIMIT          = 10
local RATE_WINDOW_SECONDS = 60

-- May this hold be placed? -> {allow, max_amount, tier, reason?, details?}
function hold_limit(req)
  return tiers.check(req)
end

-- May a browser page on `req.origin` call the API? -> {allow}
function cors(req)
  local config = req.config
  local allowed = type(config) == "table" and config.allowed_origins or nil
  return { allow = origins.allowed(req.origin, allowed) }
end

-- How many requests may this caller make? -> {limit, window, key}
-- The key groups requests: one counter per API client, whatever its IP.
function rate_limit(req)
  return { limit = RATE_LIMIT, window = RATE_WINDOW_SECONDS, key = req.client }
end

-- Should this hold be captured or released automatically, and when?
-- -> {action = "capture" | "release" | "none", at = unix seconds, amount?}
function hold_schedule(hold)
  return schedule.decide(hold)
end

-- schedule.lua: when a hold is captured or released automatically (used by the
-- `hold_schedule` hook, asked when a hold becomes capturable and again after
-- every policy change).
--
-- 1. No-show fee: if the rental app sent `metadata.no_show_fee` (cents) and
--    `metadata.check_in`, that fee is captured a day after check-in, unless
--    someone captures or releases the hold first (any manual action cancels the
--    scheduled one). The rest of the hold is released by the capture.
-- 2. Otherwise, if it sent the guest's check-out time in `metadata.check_out`,
--    the hold is released a while after it, leaving time to inspect the
--    property and capture for damage first.
-- 3. If that release would come after the hold lapses (a long stay), the hold is
--    reauthorized a day before its deadline instead: a new hold on the guest's
--    saved card replaces it, and is asked about in turn.
-- Without either, nothing is scheduled and the hold stays until someone
-- captures or releases it (ChittyCharge flags it if Stripe's deadline nears).

local M = {}

-- ---------------------------------------------------------------------------
-- Settings (safe to edit)
-- ---------------------------------------------------------------------------

-- Hours after check-out at which an uncaptured hold is released.
M.RELEASE_AFTER_CHECKOUT_HOURS = 48

-- Hours after check-in at which the no-show fee is captured.
M.NO_SHOW_CAPTURE_AFTER_CHECKIN_HOURS = 24

-- For stays longer than the hold lasts: hours before the hold's deadline
-- (`capture_before`) at which a new hold replaces it.
M.REAUTHORIZE_BEFORE_DEADLINE_HOURS = 24

-- ---------------------------------------------------------------------------
-- Rules
-- ---------------------------------------------------------------------------

-- The no-show capture, or nil when the hold has no usable fee and check-in.
local function no_show_capture(hold, metadata)
  local fee = math.tointeger(tonumber(metadata.no_show_fee))
  if fee == nil or fee <= 0 or fee > hold.amount then
    return nil
  end
  if type(metadata.check_in) ~= "string" then
    return nil
  end
  local checked_in_at = chitty.parse_time(metadata.check_in)
  if checked_in_at == nil then
    return nil
  end
  local at = math.floor(checked_in_at + M.NO_SHOW_CAPTURE_AFTER_CHECKIN_HOURS * 60 * 60)
  return { action = "capture", at = at, amount = fee }
end

function M.decide(hold)
  local metadata = hold.metadata
  if type(metadata) == "table" then
    local capture = no_show_capture(hold, metadata)
    if capture then
      return capture
    end
  end
  local check_out = type(metadata) == "table" and metadata.check_out or nil
  if type(check_out) ~= "string" then
    return { action = "none" }
  end

  -- chitty.parse_time understands "2025-07-10" and "2025-07-10T11:00:00-05:00";
  -- it returns nil for anything else, and then we schedule nothing.
  local checked_out_at = chitty.parse_time(check_out)
  if checked_out_at == nil then
    return { action = "none" }
  end

  -- math.floor keeps `at` a whole number of seconds even for e.g. 1.5 hours.
  local at = math.floor(checked_out_at + M.RELEASE_AFTER_CHECKOUT_HOURS * 60 * 60)

  -- A stay longer than the card network keeps the hold: place a new hold before this
  -- one lapses (ChittyCharge can only do this for a hold on a saved card).
  local deadline = type(hold.capture_before) == "string" and chitty.parse_time(hold.capture_before) or nil
  if deadline ~= nil then
    local renew_at = math.floor(deadline - M.REAUTHORIZE_BEFORE_DEADLINE_HOURS * 60 * 60)
    if at > renew_at then
      return { action = "reauthorize", at = renew_at }
    end
  end
  return { action = "release", at = at }
end

return M

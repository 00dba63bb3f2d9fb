-- schedule.lua: when a hold is captured or released automatically (used by the
-- `hold_schedule` hook). ChittyCharge asks when a hold becomes capturable, after
-- every booking event the rental app sends (checked_in, no_show, checked_out,
-- stay_extended, booking_cancelled), and after every policy change.
--
-- The numbers live in settings.json under "schedule" and "no_show". The rules:
--
-- 1. Booking cancelled: release the hold at once.
-- 2. No-show fee, while the guest has not checked in: capture the fee a day
--    after check-in (`metadata.check_in`), or at once when the rental app says
--    the guest did not show (a `no_show` event). A `checked_in` event ends this
--    rule: the hold is then released after check-out like any other. Which
--    bookings pay a fee: see `no_show_fee` below.
-- 3. Otherwise release the hold a while after check-out, leaving time to inspect
--    the property and capture for damage first (longer after a long stay, when
--    "schedule.long_stay_nights" is set). Check-out is when the guest actually
--    left (a `checked_out` event), else the newest `stay_extended` check-out, else
--    `metadata.check_out`.
-- 4. If that release would come after the hold lapses (a long stay), the hold is
--    reauthorized a day before its deadline instead: a new hold on the guest's
--    saved card replaces it, and is asked about in turn.
-- Without any of these, nothing is scheduled and the hold stays until someone
-- captures or releases it (ChittyCharge flags it if Stripe's deadline nears).

local settings = require("settings")

local M = {}

local HOUR = 60 * 60
local SCHEDULE = settings.schedule
local NO_SHOW = settings.no_show

-- The no-show fee for this hold in cents, or nil for none. A booking's own
-- `metadata.no_show_fee` wins: a number of cents, `true` for the property's fee,
-- `false` for none. Without it, every booking pays the property's (or the
-- default) fee when "no_show.enabled" is true in the settings.
local function no_show_fee(hold, metadata)
  local own = metadata.no_show_fee
  local fee
  if own == false then
    return nil
  elseif own == true or (own == nil and NO_SHOW.enabled) then
    local property = hold.property_id and NO_SHOW.properties[hold.property_id]
    fee = property or NO_SHOW.fee
  else
    -- Holds placed before metadata kept its types carry the fee as text ("12500").
    fee = math.tointeger(tonumber(own))
  end
  if fee == nil or fee <= 0 or fee > hold.amount then
    return nil
  end
  return fee
end

-- Unix seconds for a time the hold or its booking carries, or nil.
local function seconds(text)
  if type(text) ~= "string" then return nil end
  return chitty.parse_time(text)
end

function M.decide(hold)
  local metadata = type(hold.metadata) == "table" and hold.metadata or {}
  local booking = hold.booking or { state = "booked" }

  -- 1. Nobody is coming: give the guest their money back.
  if booking.state == "cancelled" then
    return { action = "release", at = seconds(booking.cancelled_at) }
  end

  -- 2. No-show fee, unless the guest checked in.
  if booking.state == "booked" or booking.state == "no_show" then
    local fee = no_show_fee(hold, metadata)
    if fee ~= nil then
      if booking.state == "no_show" then
        return { action = "capture", at = seconds(booking.no_show_at), amount = fee }
      end
      local check_in = seconds(metadata.check_in)
      if check_in ~= nil then
        local at = math.floor(check_in + NO_SHOW.capture_after_check_in_hours * HOUR)
        return { action = "capture", at = at, amount = fee }
      end
    end
  end

  -- 3. Release after check-out. chitty.parse_time reads "2025-07-10" and
  -- "2025-07-10T11:00:00-05:00"; anything else schedules nothing.
  local checked_out = seconds(booking.checked_out_at) or seconds(booking.check_out) or seconds(metadata.check_out)
  if checked_out == nil then
    return { action = "none" }
  end
  -- Long stays (at least "long_stay_nights" between check-in and check-out, when set)
  -- get their own release delay: more to inspect after a month than after a weekend.
  local hours = SCHEDULE.release_after_check_out_hours
  local check_in = seconds(metadata.check_in)
  if SCHEDULE.long_stay_nights ~= nil and check_in ~= nil
      and checked_out - check_in >= SCHEDULE.long_stay_nights * 24 * HOUR then
    hours = SCHEDULE.long_stay_release_after_check_out_hours
  end
  -- math.floor keeps `at` a whole number of seconds even for e.g. 1.5 hours.
  local at = math.floor(checked_out + hours * HOUR)

  -- 4. A stay longer than the card network keeps the hold: place a new hold before
  -- this one lapses (ChittyCharge can only do this for a hold on a saved card).
  local deadline = seconds(hold.capture_before)
  if deadline ~= nil then
    local renew_at = math.floor(deadline - SCHEDULE.reauthorize_before_deadline_hours * HOUR)
    if at > renew_at then
      return { action = "reauthorize", at = renew_at }
    end
  end
  return { action = "release", at = at }
end

return M

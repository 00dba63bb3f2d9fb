-- schedule.lua: when a hold is released automatically (used by the
-- `hold_schedule` hook).
--
-- If the rental app sent the guest's check-out time in `metadata.check_out`,
-- the hold is released a while after it, leaving time to inspect the property
-- and capture for damage first. Without a readable check-out time nothing is
-- scheduled and the hold stays until someone captures or releases it.

local M = {}

-- ---------------------------------------------------------------------------
-- Settings (safe to edit)
-- ---------------------------------------------------------------------------

-- Hours after check-out at which an uncaptured hold is released.
M.RELEASE_AFTER_CHECKOUT_HOURS = 48

-- ---------------------------------------------------------------------------
-- Rules
-- ---------------------------------------------------------------------------

function M.decide(hold)
  local metadata = hold.metadata
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
  return { action = "release", at = at }
end

return M

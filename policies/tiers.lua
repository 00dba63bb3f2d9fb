-- tiers.lua: how large a hold may be (used by the `hold_limit` hook).
--
-- The numbers live in settings.json under "hold_limits" (amounts in cents:
-- 250000 = $2,500.00); this file only says how they are used:
--
-- 1. The tier is `metadata.guest_tier` when it names one of "tiers", otherwise
--    "default_tier" (the smallest, so a typo can only make a hold stricter).
-- 2. The ceiling is the most specific one listed: the tenant's ("tenants"), then
--    the property's ("properties"), then the tier's.
-- 3. Under "min_amount" or over the ceiling, the hold is refused.

local settings = require("settings")

local M = {}

local LIMITS = settings.hold_limits
-- Read once when the policy loads: every read of a settings table on a request
-- costs time (the settings are frozen, so a read goes through a guard).
local TIERS, TENANTS, PROPERTIES = LIMITS.tiers, LIMITS.tenants, LIMITS.properties
local DEFAULT_TIER, MIN_AMOUNT = LIMITS.default_tier, LIMITS.min_amount

-- Which tier applies to this request.
function M.tier_for(req)
  local metadata = req.metadata
  local wanted = type(metadata) == "table" and metadata.guest_tier or nil
  -- Only exact names from the settings count; anything else falls back to the default.
  if type(wanted) == "string" and TIERS[wanted] ~= nil then
    return wanted
  end
  return DEFAULT_TIER
end

-- The ceiling for this tier: a tenant's own limit, else a property's, else the tier's.
function M.limit_for(tier, req)
  local tenant = req.tenant_id and TENANTS[req.tenant_id]
  if tenant ~= nil and tenant[tier] ~= nil then
    return tenant[tier]
  end
  local property = req.property_id and PROPERTIES[req.property_id]
  if property ~= nil and property[tier] ~= nil then
    return property[tier]
  end
  return TIERS[tier]
end

-- The whole `hold_limit` decision.
function M.check(req)
  local amount = req.amount
  -- A missing amount is a bug in the caller; raising an error makes the
  -- service refuse the hold (fail closed) instead of guessing.
  if type(amount) ~= "number" then
    error("hold_limit: amount must be a number of cents, got " .. type(amount))
  end

  local tier = M.tier_for(req)
  local limit = M.limit_for(tier, req)

  if amount < MIN_AMOUNT then
    return {
      allow = false, max_amount = limit, tier = tier,
      reason = "Amount must be at least " .. MIN_AMOUNT .. " cents",
      details = { current_tier = tier, max_amount = limit, min_amount = MIN_AMOUNT },
    }
  end

  if amount > limit then
    return {
      allow = false, max_amount = limit, tier = tier,
      reason = "Amount exceeds limit for " .. tier .. " tier",
      details = { current_tier = tier, max_amount = limit },
    }
  end

  return { allow = true, max_amount = limit, tier = tier }
end

return M

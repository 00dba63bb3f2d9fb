-- tiers.lua: how large a hold may be (used by the `hold_limit` hook).
--
-- The rental app says which tier a guest belongs to in `metadata.guest_tier`.
-- Each tier has a ceiling; a hold above it is refused. Amounts are in cents
-- (250000 = $2,500.00). Change the numbers below to change the limits.

local M = {}

-- ---------------------------------------------------------------------------
-- Settings (safe to edit)
-- ---------------------------------------------------------------------------

-- Largest hold allowed for each tier, in cents. Amounts must be whole numbers.
-- To add a tier, add a line; the rental app can then send that name.
M.LIMITS = {
  NEW_GUEST        =  250000,  -- $2,500
  VERIFIED_GUEST   =  500000,  -- $5,000
  PREMIUM_PROPERTY = 1000000,  -- $10,000
}

-- Tier used when `metadata.guest_tier` is missing or not a name listed above.
-- It is the smallest tier, so a typo in the rental app can only make a hold
-- stricter, never looser.
M.DEFAULT_TIER = "NEW_GUEST"

-- Smallest hold allowed, in cents. Card networks reject tiny authorizations.
M.MIN_AMOUNT = 50

-- ---------------------------------------------------------------------------
-- Rules
-- ---------------------------------------------------------------------------

-- Which tier applies to this request.
function M.tier_for(req)
  local metadata = req.metadata
  local wanted = type(metadata) == "table" and metadata.guest_tier or nil
  -- Only exact names from M.LIMITS count; anything else falls back to the default.
  if type(wanted) == "string" and M.LIMITS[wanted] ~= nil then
    return wanted
  end
  return M.DEFAULT_TIER
end

-- The ceiling for this tier. This is the place to add per-property limits
-- (see README.md, "Example 1").
function M.limit_for(tier, req)
  return M.LIMITS[tier]
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

  if amount < M.MIN_AMOUNT then
    return {
      allow = false, max_amount = limit, tier = tier,
      reason = "Amount must be at least " .. M.MIN_AMOUNT .. " cents",
      details = { current_tier = tier, max_amount = limit, min_amount = M.MIN_AMOUNT },
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

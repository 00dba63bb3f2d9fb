-- origins.lua: which web sites (browser "origins") may call the API from a
-- browser (used by the `cors` hook).
--
-- An origin looks like "https://app.chitty.cc" or "https://app.chitty.cc:8443".
-- We take the origin apart (scheme, host, port) and compare the parts. We never
-- turn an allow-list entry into a search pattern: the earlier service did that,
-- and "https://*.chitty.cc" then also let in "https://evilchitty.cc".

local settings = require("settings")

local M = {}

-- The allow-list is settings.json's "cors.allowed_origins" (the server hands it to
-- the hook as `config.allowed_origins`, or ALLOWED_ORIGINS when the operator set it).
-- Entries can be:
--   "https://chitty.cc"        exactly this origin
--   "https://*.chitty.cc"      any sub-domain (app.chitty.cc, a.b.chitty.cc),
--                              same scheme, no port; NOT chitty.cc itself
--   "https://*.chitty.cc:8443" any sub-domain on exactly that port
--   "*"                        any well-formed origin (use with care)
-- Any other use of "*" is ignored (that entry allows nothing).

-- True if `host` is dot-separated labels of letters, digits and "-", with no
-- empty label (so no "..", no leading or trailing dot).
local function valid_host(host)
  if host == "" then return false end
  -- Appending "." lets every label, including empty ones, end in a dot.
  for label in (host .. "."):gmatch("([^.]*)%.") do
    if not label:find("^[a-z0-9%-]+$") then return false end
  end
  return true
end

-- Split a lowercase origin into scheme, host and port (port may be nil).
-- Returns nil for anything that is not exactly scheme://host[:port]: paths,
-- "/", "?", "#", "user@", "[ipv6]" and "null" are all refused here.
local function parse(origin)
  local scheme, rest = origin:match("^([a-z][a-z0-9+%.%-]*)://(.*)$")
  if not scheme then return nil end

  local host, port = rest:match("^([^:]*):([0-9]+)$")
  if host then
    if #port > 5 then return nil end
  else
    host = rest
  end

  if not valid_host(host) then return nil end
  return scheme, host, port
end

-- Does one allow-list entry let this (already parsed, lowercase) origin in?
local function entry_matches(entry, origin, scheme, host, port)
  if type(entry) ~= "string" then return false end
  entry = entry:lower()

  if entry == "*" then return true end

  -- No star: the whole origin must be exactly the entry.
  if not entry:find("*", 1, true) then
    return entry == origin
  end

  -- The only other star allowed is "scheme://*.suffix" or "scheme://*.suffix:port".
  local e_scheme, e_rest = entry:match("^([a-z][a-z0-9+%.%-]*)://%*%.(.*)$")
  if not e_scheme then return false end
  -- The part after "*." must itself be a well-formed host[:port] (no more stars).
  local _, suffix, e_port = parse(e_scheme .. "://" .. e_rest)
  if not suffix then return false end

  if scheme ~= e_scheme or port ~= e_port then return false end

  -- The host must be "<at least one label>.<suffix>". Because `host` is already
  -- known to be well-formed, anything in front of ".suffix" is whole labels.
  local tail = "." .. suffix
  return #host > #tail and host:sub(-#tail) == tail
end

-- True if `origin` may call the API, given the allow-list handed in (or, without
-- one, the settings' list).
function M.allowed(origin, allowed_origins)
  if type(origin) ~= "string" then return false end
  origin = origin:lower()

  local scheme, host, port = parse(origin)
  if not scheme then return false end  -- malformed origins are never allowed

  local list = allowed_origins
  if list == nil or (type(list) == "table" and #list == 0) then
    list = settings.cors.allowed_origins
  elseif type(list) ~= "table" then
    -- A broken configuration is an error, so the origin is refused (fail closed).
    error("cors: config.allowed_origins must be a list of strings")
  end

  for _, entry in ipairs(list) do
    if entry_matches(entry, origin, scheme, host, port) then return true end
  end
  return false
end

return M

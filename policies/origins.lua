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

local DOT = string.byte(".")

-- Split a lowercase origin into scheme, host and port (port may be nil).
-- Returns nil for anything that is not exactly scheme://host[:port], where the
-- host is dot-separated labels of letters, digits and "-" with no empty label
-- (so no "..", no leading or trailing dot): paths, "/", "?", "#", "user@",
-- "[ipv6]" and "null" are all refused here. One pattern does most of the work:
-- every string function a request calls costs time.
local function parse(origin)
  local scheme, host, colon, port = origin:match("^([a-z][a-z0-9+%.%-]*)://([a-z0-9%.%-]+)(:?)(%d*)$")
  if not scheme then return nil end
  if colon == "" then
    port = nil
  elseif port == "" or #port > 5 then
    return nil
  end
  if host:byte(1) == DOT or host:byte(-1) == DOT or host:find("..", 1, true) then return nil end
  return scheme, host, port
end

-- One allow-list entry, taken apart once: {any = true}, {exact = origin}, or
-- {scheme, tail = ".suffix", port} for "scheme://*.suffix[:port]". Nil for an
-- entry that allows nothing (not a string, or a "*" anywhere else).
local function compile(entry)
  if type(entry) ~= "string" then return nil end
  entry = entry:lower()

  if entry == "*" then return { any = true } end

  -- No star: the whole origin must be exactly the entry.
  if not entry:find("*", 1, true) then return { exact = entry } end

  -- The only other star allowed is "scheme://*.suffix" or "scheme://*.suffix:port".
  local scheme, rest = entry:match("^([a-z][a-z0-9+%.%-]*)://%*%.(.*)$")
  if not scheme then return nil end
  -- The part after "*." must itself be a well-formed host[:port] (no more stars).
  local _, suffix, port = parse(scheme .. "://" .. rest)
  if not suffix then return nil end
  return { scheme = scheme, tail = "." .. suffix, port = port }
end

-- Does one compiled entry let this (already parsed, lowercase) origin in?
local function entry_matches(entry, origin, scheme, host, port)
  if entry.any then return true end
  if entry.exact then return entry.exact == origin end
  if scheme ~= entry.scheme or port ~= entry.port then return false end
  -- The host must be "<at least one label>.<suffix>". Because `host` is already
  -- known to be well-formed, anything in front of ".suffix" is whole labels.
  local tail = entry.tail
  return #host > #tail and host:sub(-#tail) == tail
end

-- The settings' entries, taken apart when the policy loads rather than on
-- every request (the server hands this same list in, unless ALLOWED_ORIGINS is
-- set). Keyed by the entry as written; an entry not here is taken apart when used.
local COMPILED = {}
for _, entry in ipairs(settings.cors.allowed_origins) do
  COMPILED[entry] = compile(entry)
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

  for i = 1, #list do
    local raw = list[i]
    local entry = COMPILED[raw] or compile(raw)
    if entry and entry_matches(entry, origin, scheme, host, port) then return true end
  end
  return false
end

return M

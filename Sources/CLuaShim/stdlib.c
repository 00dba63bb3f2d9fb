// The standard library a policy sees (POLICY.md "Sandbox"): base without dofile, loadfile,
// collectgarbage and binary chunks; string, table, math, utf8, coroutine; os.time, date,
// clock and difftime; the `chitty` helpers. Library tables are read-only proxies, so one
// call cannot change what the next one sees.
//
// Some library functions loop in C, where the count hook (instruction budget and clock)
// never fires. Those are wrapped with guards that check the call's limits first and bound
// the work up front; what one call can still do is bounded by the largest object (a string
// or table of at most memory_limit / 16 bytes).

#include "ccl_internal.h"

#include <limits.h>
#include <math.h>
#include <string.h>

// MARK: - Read-only proxies

static int readonly_newindex(lua_State *L) {
    return luaL_error(L, "attempt to modify read-only table '%s'", lua_tostring(L, lua_upvalueindex(1)));
}

/// Replaces the table at the top of the stack with a read-only proxy to it.
static void make_readonly_proxy(lua_State *L, const char *name) {
    int library = lua_gettop(L);
    lua_newtable(L);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, library);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, readonly_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "__readonly");  // lets rawset recognise the proxy
    lua_setmetatable(L, -2);
    lua_replace(L, library);
}

static int is_readonly(lua_State *L, int index) {
    if (!lua_getmetatable(L, index)) return 0;
    lua_pushliteral(L, "__readonly");
    int readonly = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return readonly;
}

// MARK: - Base functions

/// Calls the original function stored as upvalue 1 with the current arguments.
static int call_original(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int guarded_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (is_readonly(L, 1)) return luaL_error(L, "rawset: table is read-only");
    return call_original(L);
}

static int guarded_setmetatable(lua_State *L) {
    // A finalizer would run at an arbitrary later point (another call, or when the state
    // closes), outside the call that installed it.
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int has_gc = lua_rawget(L, 2) != LUA_TNIL;
        lua_pop(L, 1);
        if (has_gc) return luaL_error(L, "setmetatable: __gc metamethods are not allowed in policies");
    }
    return call_original(L);
}

/// load(chunk [, chunkname [, mode [, env]]]) for text only. The default environment is
/// the registry's globals, which is the per-call environment.
static int guarded_load(lua_State *L) {
    int arguments = lua_gettop(L);
    if (arguments < 1) return luaL_error(L, "bad argument #1 to 'load' (value expected)");
    if (arguments >= 3 && !lua_isnil(L, 3)) {
        const char *mode = luaL_checkstring(L, 3);
        if (strchr(mode, 'b') != NULL) {
            lua_pushnil(L);
            lua_pushliteral(L, "binary chunks are not allowed in policies");
            return 2;
        }
    }
    if (arguments < 2) { lua_pushnil(L); arguments = 2; }
    lua_settop(L, arguments < 4 ? 3 : arguments);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    return call_original(L);
}

static int sandbox_print(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    int arguments = lua_gettop(L);
    for (int i = 1; i <= arguments; i++) {
        size_t length;
        const char *text = luaL_tolstring(L, i, &length);
        if (i > 1 && state->printed_length < CCL_PRINT_CAPACITY - 1) state->printed[state->printed_length++] = '\t';
        size_t room = CCL_PRINT_CAPACITY - 1 - state->printed_length;
        if (length > room) length = room;
        memcpy(state->printed + state->printed_length, text, length);
        state->printed_length += length;
        lua_pop(L, 1);
    }
    if (state->printed_length < CCL_PRINT_CAPACITY - 1) state->printed[state->printed_length++] = '\n';
    state->printed[state->printed_length] = '\0';
    return 0;
}

// MARK: - Guards for C loops the budget cannot see

/// Functions whose work grows with their arguments but which allocate nothing (functions
/// that build strings are checked by the allocator every 256 KB): announces that work (see
/// ccl_check_work), then calls the original.
static int guarded_by_size(lua_State *L) {
    double work = 1;
    for (int i = 1, n = lua_gettop(L); i <= n; i++) {
        int type = lua_type(L, i);
        // A table's length is at most the largest object over a table slot (16 bytes);
        // sorting it costs up to n log n comparisons.
        if (type == LUA_TTABLE) work += 20.0 * (double)lua_rawlen(L, i);
        else if (type == LUA_TSTRING) work += (double)lua_rawlen(L, i);
    }
    ccl_check_work(L, work);
    return call_original(L);
}

/// Worst-case steps of Lua's backtracking matcher are about (starts) × (n+1)^(repetitions)
/// × 2^(optionals), where repetitions are '*', '+', '-' after a single-character class.
/// Anything above this many is refused before it runs.
#define CCL_PATTERN_STEP_LIMIT 1e7

static double pattern_worst_case(const char *pattern, size_t length, size_t subject_length) {
    double n = (double)subject_length + 1;
    double cost = 1;
    size_t i = 0;
    int anchored = length > 0 && pattern[0] == '^';
    if (anchored) i = 1;
    int previous_is_class = 0;
    while (i < length) {
        char c = pattern[i];
        if (previous_is_class && (c == '*' || c == '+' || c == '-')) {
            cost *= n;
            previous_is_class = 0;
            i++;
        } else if (previous_is_class && c == '?') {
            cost *= 2;
            previous_is_class = 0;
            i++;
        } else if (c == '%') {
            // %b and %f take arguments and are no single-character class. A balanced match
            // may scan the rest of the subject from every position it is tried at.
            if (i + 1 < length && (pattern[i + 1] == 'b')) { i += 4; previous_is_class = 0; cost *= n; }
            else if (i + 1 < length && (pattern[i + 1] == 'f')) { i += 2; previous_is_class = 0; }
            else { i += 2; previous_is_class = 1; }
        } else if (c == '[') {
            i++;
            if (i < length && pattern[i] == '^') i++;
            if (i < length && pattern[i] == ']') i++;
            while (i < length && pattern[i] != ']') i += pattern[i] == '%' ? 2 : 1;
            i++;
            previous_is_class = 1;
        } else if (c == '(' || c == ')') {
            i++;
            previous_is_class = 0;
        } else {
            i++;
            previous_is_class = 1;
        }
        if (cost > 1e300) break;
    }
    return anchored ? cost : cost * n;
}

/// Each step of a gmatch iterator is a match of its own (upvalue 2: its worst case).
static int guarded_iterator(lua_State *L) {
    ccl_check_work(L, lua_tonumber(L, lua_upvalueindex(2)));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/// What the second upvalue of a pattern guard says about the function it guards.
enum { CCL_GUARD_MATCH = 0, CCL_GUARD_FIND = 1, CCL_GUARD_GMATCH = 2 };

static int guarded_pattern(lua_State *L) {
    size_t subject_length, pattern_length;
    luaL_checklstring(L, 1, &subject_length);
    const char *pattern = luaL_checklstring(L, 2, &pattern_length);
    int kind = (int)lua_tointeger(L, lua_upvalueindex(2));
    int plain = kind == CCL_GUARD_FIND && lua_toboolean(L, 4);  // find's 4th
    double cost = (double)subject_length + 1;
    if (!plain) {
        cost = pattern_worst_case(pattern, pattern_length, subject_length);
        if (cost > CCL_PATTERN_STEP_LIMIT) {
            return luaL_error(L, "pattern '%s' is too costly for a %d-character subject "
                                 "(worst case about %f steps, the limit is %f); anchor it with '^', "
                                 "use fewer repetitions, or check the length first",
                              pattern, (int)subject_length, cost, (double)CCL_PATTERN_STEP_LIMIT);
        }
    }
    ccl_check_work(L, cost);
    int results = call_original(L);
    if (kind == CCL_GUARD_GMATCH && results == 1) {
        lua_pushnumber(L, cost);
        lua_pushcclosure(L, guarded_iterator, 2);
    }
    return results;
}

static int guarded_rep(lua_State *L) {
    ccl_check_work(L, 1);
    size_t length, separator_length = 0;
    luaL_checklstring(L, 1, &length);
    lua_Integer count = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &separator_length);
    // Lua's rep loops `count` times even when every copy is empty.
    if (count <= 0 || length + separator_length == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    // Past INT_MAX bytes Lua refuses the result itself ("resulting string too large").
    double result = (double)count * (double)(length + separator_length);
    if (result < (double)INT_MAX) ccl_reserve_bytes(L, (size_t)result);
    return call_original(L);
}

/// A length no real table in a capped state can reach; a larger one comes from __len.
#define CCL_TABLE_LENGTH_LIMIT ((lua_Integer)1 << 24)

static int guarded_table_shift(lua_State *L) {
    lua_Integer length = luaL_len(L, 1);
    if (length > CCL_TABLE_LENGTH_LIMIT) {
        return luaL_error(L, "table is too long (more than %I elements)", (LUAI_UACINT)CCL_TABLE_LENGTH_LIMIT);
    }
    ccl_check_work(L, lua_gettop(L) > 2 ? (double)length : 1);  // shifting moves the elements after the position
    return call_original(L);
}

static int guarded_move(lua_State *L) {
    lua_Integer first = luaL_checkinteger(L, 2);
    lua_Integer last = luaL_checkinteger(L, 3);
    if (last >= first && (lua_Unsigned)last - (lua_Unsigned)first >= (lua_Unsigned)CCL_TABLE_LENGTH_LIMIT) {
        return luaL_error(L, "table.move: too many elements (more than %I)", (LUAI_UACINT)CCL_TABLE_LENGTH_LIMIT);
    }
    ccl_check_work(L, last >= first ? (double)(last - first) + 1 : 1);
    return call_original(L);
}

/// Replaces table[name] (table at `index`) with `guard` closed over the original.
static void wrap_function(lua_State *L, int index, const char *name, lua_CFunction guard, int extra) {
    lua_getfield(L, index, name);
    lua_pushinteger(L, extra);
    lua_pushcclosure(L, guard, 2);
    lua_setfield(L, index, name);
}

// MARK: - chitty helpers

static int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, int *month, int *day) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t mp = (5 * day_of_year + 2) / 153;
    *day = (int)(day_of_year - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = year_of_era + era * 400 + (*month <= 2);
}

static int read_digits(const char *text, size_t length, size_t *at, int count, int *value) {
    if (*at + (size_t)count > length) return 0;
    int result = 0;
    for (int i = 0; i < count; i++) {
        char c = text[*at + (size_t)i];
        if (c < '0' || c > '9') return 0;
        result = result * 10 + (c - '0');
    }
    *at += (size_t)count;
    *value = result;
    return 1;
}

static int expect(const char *text, size_t length, size_t *at, char c) {
    if (*at < length && text[*at] == c) { (*at)++; return 1; }
    return 0;
}

int ccl_parse_iso8601(const char *text, size_t length, int64_t *unix_seconds) {
    size_t at = 0;
    int year, month, day, hour = 0, minute = 0, second = 0;
    if (!read_digits(text, length, &at, 4, &year) || !expect(text, length, &at, '-') ||
        !read_digits(text, length, &at, 2, &month) || !expect(text, length, &at, '-') ||
        !read_digits(text, length, &at, 2, &day)) return 0;
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day < 1 || day > month_days[month - 1] + (month == 2 && leap)) return 0;
    int64_t offset = 0;
    if (at < length) {
        if (text[at] != 'T' && text[at] != 't' && text[at] != ' ') return 0;
        at++;
        if (!read_digits(text, length, &at, 2, &hour) || !expect(text, length, &at, ':') ||
            !read_digits(text, length, &at, 2, &minute)) return 0;
        if (expect(text, length, &at, ':')) {
            if (!read_digits(text, length, &at, 2, &second)) return 0;
            if (expect(text, length, &at, '.') || expect(text, length, &at, ',')) {
                size_t start = at;
                while (at < length && text[at] >= '0' && text[at] <= '9') at++;
                if (at == start) return 0;
            }
        }
        if (hour > 23 || minute > 59 || second > 59) return 0;
        if (expect(text, length, &at, 'Z') || expect(text, length, &at, 'z')) {
            // UTC
        } else if (at < length && (text[at] == '+' || text[at] == '-')) {
            int sign = text[at] == '-' ? -1 : 1;
            int offset_hours, offset_minutes;
            at++;
            if (!read_digits(text, length, &at, 2, &offset_hours)) return 0;
            expect(text, length, &at, ':');
            if (!read_digits(text, length, &at, 2, &offset_minutes)) return 0;
            if (offset_hours > 23 || offset_minutes > 59) return 0;
            offset = sign * (offset_hours * 3600 + offset_minutes * 60);
        }
    }
    if (at != length) return 0;
    *unix_seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    return 1;
}

static int chitty_parse_time(lua_State *L) {
    size_t length;
    const char *text = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &length) : NULL;
    int64_t seconds;
    if (text && ccl_parse_iso8601(text, length, &seconds)) {
        lua_pushinteger(L, (lua_Integer)seconds);
        return 1;
    }
    lua_pushnil(L);
    if (text) lua_pushfstring(L, "'%s' is not an ISO-8601 date or date-time", text);
    else lua_pushfstring(L, "expected an ISO-8601 string, got %s", luaL_typename(L, 1));
    return 2;
}

static int chitty_format_time(lua_State *L) {
    lua_Number value = luaL_checknumber(L, 1);
    // Years 0000 to 9999 only, so the result always has the fixed ISO-8601 width.
    if (!(value >= -62167219200.0 && value < 253402300800.0)) {
        return luaL_error(L, "chitty.format_time: %f is outside years 0000-9999", value);
    }
    int64_t seconds = (int64_t)floor(value);
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t rest = seconds - days * 86400;
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    char text[32];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)year, month, day,
             (int)(rest / 3600), (int)(rest / 60 % 60), (int)(rest % 60));
    lua_pushstring(L, text);
    return 1;
}

// MARK: - Assembly

static void copy_field(lua_State *L, int from, int to, const char *name) {
    lua_getfield(L, from, name);
    lua_setfield(L, to, name);
}

void ccl_open_sandbox_libraries(lua_State *L, int base) {
    static const char *const base_functions[] = {
        "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal",
        "rawget", "rawlen", "select", "tonumber", "tostring", "type", "xpcall", "warn",
        "_VERSION", NULL,
    };
    luaL_requiref(L, "_G", luaopen_base, 0);
    int lua_base = lua_gettop(L);
    for (const char *const *name = base_functions; *name; name++) copy_field(L, lua_base, base, *name);
    wrap_function(L, lua_base, "rawset", guarded_rawset, 0);
    wrap_function(L, lua_base, "setmetatable", guarded_setmetatable, 0);
    wrap_function(L, lua_base, "load", guarded_load, 0);
    copy_field(L, lua_base, base, "rawset");
    copy_field(L, lua_base, base, "setmetatable");
    copy_field(L, lua_base, base, "load");
    ccl_limit_base_functions(L, base);
    lua_pushcfunction(L, sandbox_print);
    lua_setfield(L, base, "print");
    lua_pop(L, 1);

    luaL_requiref(L, "string", luaopen_string, 0);
    int string = lua_gettop(L);
    lua_pushnil(L);
    lua_setfield(L, string, "dump");
    wrap_function(L, string, "rep", guarded_rep, 0);
    wrap_function(L, string, "find", guarded_pattern, CCL_GUARD_FIND);
    wrap_function(L, string, "match", guarded_pattern, CCL_GUARD_MATCH);
    wrap_function(L, string, "gmatch", guarded_pattern, CCL_GUARD_GMATCH);
    wrap_function(L, string, "gsub", guarded_pattern, CCL_GUARD_MATCH);
    // Method calls on strings ("x"):rep() go through the string metatable; hide it so it
    // cannot be changed, while its __index keeps pointing at the guarded functions.
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    make_readonly_proxy(L, "string");
    lua_setfield(L, base, "string");

    luaL_requiref(L, "table", luaopen_table, 0);
    int table = lua_gettop(L);
    wrap_function(L, table, "insert", guarded_table_shift, 0);
    wrap_function(L, table, "remove", guarded_table_shift, 0);
    wrap_function(L, table, "move", guarded_move, 0);
    wrap_function(L, table, "sort", guarded_by_size, 0);
    make_readonly_proxy(L, "table");
    lua_setfield(L, base, "table");

    // Libraries offered whole, as they are.
    static const luaL_Reg whole_libraries[] = {
        {"math", luaopen_math}, {"utf8", luaopen_utf8}, {"coroutine", luaopen_coroutine}, {NULL, NULL},
    };
    for (const luaL_Reg *library = whole_libraries; library->name; library++) {
        luaL_requiref(L, library->name, library->func, 0);
        if (strcmp(library->name, "utf8") == 0) {
            wrap_function(L, lua_gettop(L), "len", guarded_by_size, 0);
            wrap_function(L, lua_gettop(L), "offset", guarded_by_size, 0);
            wrap_function(L, lua_gettop(L), "codepoint", guarded_by_size, 0);
        } else if (strcmp(library->name, "coroutine") == 0) {
            ccl_limit_coroutine_library(L, lua_gettop(L));
        }
        make_readonly_proxy(L, library->name);
        lua_setfield(L, base, library->name);
    }

    luaL_requiref(L, "os", luaopen_os, 0);
    int full_os = lua_gettop(L);
    lua_createtable(L, 0, 4);
    int os = lua_gettop(L);
    copy_field(L, full_os, os, "time");
    copy_field(L, full_os, os, "date");
    copy_field(L, full_os, os, "clock");
    copy_field(L, full_os, os, "difftime");
    make_readonly_proxy(L, "os");
    lua_setfield(L, base, "os");
    lua_pop(L, 1);

    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, chitty_parse_time);
    lua_setfield(L, -2, "parse_time");
    lua_pushcfunction(L, chitty_format_time);
    lua_setfield(L, -2, "format_time");
    make_readonly_proxy(L, "chitty");
    lua_setfield(L, base, "chitty");
}

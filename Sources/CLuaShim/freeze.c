// Tables frozen after load: no memory between calls (POLICY.md "Sandbox").
//
// A module's tables live as long as the Lua state, which serves many clients' calls one
// after another, so a policy that writes to one (a cache, a "last request" field) carries
// one client's data into another client's call. When the entry has loaded, every table
// reachable from what it defined and from the modules (through fields, keys, metatables
// and the upvalues of Lua functions) is frozen in place: its contents move to a hidden
// backing table, and the table itself stays empty with a metatable that reads through to
// the backing (__index, __len, __pairs) and refuses every write (__newindex; rawset and
// setmetatable refuse it too). The table keeps its identity, so functions that captured it
// as an upvalue see the frozen table; getmetatable() still answers the policy's own
// metatable (or false when it had none); next, rawget, rawlen and the result encoder see
// through to the contents.

#include "ccl_internal.h"

static int frozen_newindex(lua_State *L) {
    return luaL_error(L, "attempt to modify a table the policy created while loading: such tables are "
                         "read-only during calls, so that no call sees another's data (keep per-call data "
                         "in local variables)");
}

int ccl_push_frozen_backing(lua_State *L, int index) {
    if (lua_type(L, index) != LUA_TTABLE || !lua_getmetatable(L, index)) return 0;
    if (lua_getfield(L, -1, "__frozen") == LUA_TTABLE) {
        lua_remove(L, -2);
        return 1;
    }
    lua_pop(L, 2);
    return 0;
}

void ccl_see_through_frozen(lua_State *L, int index) {
    index = lua_absindex(L, index);
    if (ccl_push_frozen_backing(L, index)) lua_replace(L, index);
}

// The metamethods below hold the backing table as upvalue 1, so reading a frozen table
// costs no metatable lookup.

static int frozen_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
    return 1;
}

/// next over the backing, called with the frozen table: pairs() never hands out the backing.
static int frozen_next(lua_State *L) {
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1))) return 2;
    lua_pushnil(L);
    return 1;
}

/// __pairs: upvalue 1 is the table's frozen_next closure, made once at freeze time.
static int frozen_pairs(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/// next, rawget and rawlen read a frozen table's contents.
static int see_through_call(lua_State *L) {
    if (lua_gettop(L) >= 1) ccl_see_through_frozen(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

void ccl_open_frozen_views(lua_State *L, int base) {
    static const char *const raw_readers[] = {"next", "rawget", "rawlen", NULL};
    for (const char *const *name = raw_readers; *name; name++) {
        lua_getfield(L, base, *name);
        lua_pushcclosure(L, see_through_call, 1);
        lua_setfield(L, base, *name);
    }
}

/// True for tables the sandbox made read-only already (library proxies, frozen tables).
static int is_readonly(lua_State *L, int index) {
    if (!lua_getmetatable(L, index)) return 0;
    int readonly = lua_getfield(L, -1, "__readonly") != LUA_TNIL;
    lua_pop(L, 2);
    return readonly;
}

/// Appends the value at the top to the work list (popping it) unless already seen.
static void enqueue(lua_State *L, int work, int seen) {
    int type = lua_type(L, -1);
    if ((type != LUA_TTABLE && type != LUA_TFUNCTION && type != LUA_TTHREAD) || lua_rawequal(L, -1, seen)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushvalue(L, -1);
    if (lua_rawget(L, seen) != LUA_TNIL) {
        lua_pop(L, 2);
        return;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);
    lua_rawseti(L, work, (lua_Integer)lua_rawlen(L, work) + 1);
}

/// Builds the frozen metatable for the table at `table` (its contents are still in place).
static void push_frozen_metatable(lua_State *L, int table, int newindex) {
    lua_createtable(L, 0, 8);
    int frozen_meta = lua_gettop(L);
    lua_createtable(L, 0, 0);
    int backing = lua_gettop(L);
    int had_metatable = lua_getmetatable(L, table);
    if (had_metatable) {
        int original = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, original) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, frozen_meta);
        }
        // Reads that miss the contents still reach the policy's own __index.
        lua_pushliteral(L, "__index");
        if (lua_rawget(L, original) != LUA_TNIL) {
            lua_createtable(L, 0, 1);
            lua_insert(L, -2);
            lua_setfield(L, -2, "__index");
            lua_setmetatable(L, backing);
        } else {
            lua_pop(L, 1);
        }
        lua_pushliteral(L, "__metatable");
        if (lua_rawget(L, original) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushvalue(L, original);  // getmetatable() keeps answering the policy's metatable
        }
        lua_setfield(L, frozen_meta, "__metatable");
        lua_pop(L, 1);
    } else {
        lua_pushboolean(L, 0);
        lua_setfield(L, frozen_meta, "__metatable");
    }
    lua_pushvalue(L, backing);
    lua_setfield(L, frozen_meta, "__index");
    lua_pushvalue(L, backing);
    lua_setfield(L, frozen_meta, "__frozen");
    lua_pushvalue(L, newindex);
    lua_setfield(L, frozen_meta, "__newindex");
    lua_pushboolean(L, 1);
    lua_setfield(L, frozen_meta, "__readonly");
    if (lua_getfield(L, frozen_meta, "__len") == LUA_TNIL) {
        lua_pushvalue(L, backing);
        lua_pushcclosure(L, frozen_len, 1);
        lua_setfield(L, frozen_meta, "__len");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, frozen_meta, "__pairs") == LUA_TNIL) {
        lua_pushvalue(L, backing);
        lua_pushcclosure(L, frozen_next, 1);
        lua_pushcclosure(L, frozen_pairs, 1);
        lua_setfield(L, frozen_meta, "__pairs");
    }
    lua_pop(L, 1);
    lua_pop(L, 1);  // backing (kept by the metatable)
}

/// Moves the contents of the table at `table` into the backing of `frozen_meta` and sets it.
static void freeze_in_place(lua_State *L, int table, int frozen_meta) {
    lua_getfield(L, frozen_meta, "__frozen");
    int backing = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, backing);
    }
    // Removing existing keys while traversing is allowed; restart from nil each time.
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, table);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, frozen_meta);
    lua_setmetatable(L, table);
}

void ccl_freeze_policy_tables(lua_State *L, int roots, int skip, int restore) {
    luaL_checkstack(L, 16, "freezing the policy's tables");
    lua_createtable(L, 64, 0);
    int work = lua_gettop(L);
    lua_createtable(L, 0, 64);
    int seen = lua_gettop(L);
    lua_createtable(L, 64, 0);
    int tables = lua_gettop(L);  // tables to freeze, in the order found
    lua_pushnil(L);
    while (lua_next(L, skip) != 0) {  // skipped tables count as seen
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, seen);
    }
    lua_pushvalue(L, roots);
    lua_rawseti(L, work, 1);
    lua_pushvalue(L, roots);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);

    for (lua_Integer next = 1; next <= (lua_Integer)lua_rawlen(L, work); next++) {
        lua_rawgeti(L, work, next);
        int value = lua_gettop(L);
        switch (lua_type(L, value)) {
        case LUA_TTABLE:
            if (is_readonly(L, value)) break;  // a library proxy: not the policy's
            if (!lua_rawequal(L, value, roots)) {
                lua_pushvalue(L, value);
                lua_rawseti(L, tables, (lua_Integer)lua_rawlen(L, tables) + 1);
            }
            lua_pushnil(L);
            while (lua_next(L, value) != 0) {
                lua_pushvalue(L, -2);
                enqueue(L, work, seen);  // the key
                enqueue(L, work, seen);  // the value
            }
            if (lua_getmetatable(L, value)) enqueue(L, work, seen);
            break;
        case LUA_TFUNCTION:
            // C functions are the sandbox's own (but for coroutine.wrap's, which hold a
            // coroutine); a Lua function's upvalues are module locals.
            if (lua_iscfunction(L, value)) {
                if (ccl_is_limited_wrapped(lua_tocfunction(L, value))) goto coroutine;
                break;
            }
            for (int n = 1; lua_getupvalue(L, value, n) != NULL; n++) enqueue(L, work, seen);
            ccl_note_written_upvalues(L, value, restore);
            break;
        case LUA_TTHREAD:
        coroutine:
            // A suspended coroutine keeps its locals from one call to the next.
            luaL_error(L, "the policy keeps a coroutine created while loading; it would carry data "
                          "from one call to the next (create coroutines inside the hook)");
            break;
        default:
            break;
        }
        lua_settop(L, value - 1);
    }

    // Build every frozen metatable before moving any contents, so a metatable that is
    // itself frozen is still read as the policy wrote it.
    lua_pushcfunction(L, frozen_newindex);
    int newindex = lua_gettop(L);
    lua_Integer count = (lua_Integer)lua_rawlen(L, tables);
    lua_createtable(L, (int)count, 0);
    int metas = lua_gettop(L);
    for (lua_Integer i = 1; i <= count; i++) {
        lua_rawgeti(L, tables, i);
        push_frozen_metatable(L, lua_gettop(L), newindex);
        lua_rawseti(L, metas, i);
        lua_pop(L, 1);
    }
    for (lua_Integer i = 1; i <= count; i++) {
        lua_rawgeti(L, tables, i);
        lua_rawgeti(L, metas, i);
        freeze_in_place(L, lua_gettop(L) - 1, lua_gettop(L));
        lua_pop(L, 2);
    }
    lua_settop(L, work - 1);
}

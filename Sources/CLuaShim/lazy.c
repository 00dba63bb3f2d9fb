// Lazily decoded input tables.
//
// Building a Lua table costs a string hash and a table insert per field, and a hold's
// `metadata` carries many fields a policy never reads. An object sent with tag 'O' becomes
// an empty table whose fields are decoded on first access, one at a time. It behaves as a
// plain table: reads, writes (including assigning nil), pairs, next, #, rawget, rawset and
// setmetatable all see the same fields, because anything that needs the whole table first
// decodes the rest ("materialises" it) and drops the lazy metatable. The one visible
// difference is that getmetatable() returns false instead of nil while it is lazy.
//
// One lazy table per call: the entries point into the caller's input buffer, which lives
// only for the call. When the call ends the table's metatable is removed, so a policy that
// kept a reference (which the contract forbids) sees only the fields it had read.

#include "ccl_internal.h"

#include <string.h>

/// At most this many fields: the loaded set is a 64-bit mask.
#define CCL_LAZY_MAX_FIELDS 64

static int is_current_lazy(lua_State *L, ccl_state *state, int index) {
    return state->lazy_table != NULL && lua_topointer(L, index) == state->lazy_table;
}

/// Pushes the decoded value of entry `wanted` (or, when `wanted` is -1, the entry whose key
/// equals the string at `key_index`) and returns its position, or -1 when there is none.
static int push_entry(lua_State *L, ccl_state *state, int key_index, int wanted) {
    size_t key_length = 0;
    const char *key = wanted < 0 ? lua_tolstring(L, key_index, &key_length) : NULL;
    ccl_reader r = state->lazy_entries;
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->keys_ref);
    r.keys_index = lua_gettop(L);
    for (uint32_t i = 0; i < state->lazy_count; i++) {
        uint32_t length;
        if (r.at >= r.length || r.bytes[r.at++] != 's' || r.length - r.at < 4) break;
        memcpy(&length, r.bytes + r.at, 4);
        r.at += 4;
        if (r.length - r.at < length) break;
        const char *entry_key = (const char *)r.bytes + r.at;
        r.at += length;
        int match = wanted >= 0 ? (int)i == wanted : (length == key_length && memcmp(entry_key, key, length) == 0);
        if (match) {
            lua_remove(L, r.keys_index);
            if (wanted >= 0) lua_pushlstring(L, entry_key, length);
            lua_rawgeti(L, LUA_REGISTRYINDEX, state->keys_ref);
            r.keys_index = lua_gettop(L);
            if (!ccl_push_value(L, &r, 1)) luaL_error(L, "internal: malformed lazy input");
            lua_remove(L, r.keys_index);
            return (int)i;
        }
        if (!ccl_skip_value(&r, 1)) break;
    }
    lua_pop(L, 1);
    return -1;
}

/// Decodes every field not yet seen into the table at `index` and makes it a plain table.
static void materialise(lua_State *L, ccl_state *state, int index) {
    index = lua_absindex(L, index);
    for (uint32_t i = 0; i < state->lazy_count; i++) {
        if (state->lazy_loaded & ((uint64_t)1 << i)) continue;
        if (push_entry(L, state, 0, (int)i) < 0) break;  // pushes key, value
        lua_rawset(L, index);
    }
    state->lazy_loaded = ~(uint64_t)0;
    lua_pushnil(L);
    lua_setmetatable(L, index);
    state->lazy_table = NULL;
}

void ccl_materialise_if_lazy(lua_State *L, int index) {
    ccl_state *state = ccl_state_of(L);
    if (is_current_lazy(L, state, index)) materialise(L, state, index);
}

static int lazy_index(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    if (!is_current_lazy(L, state, 1) || lua_type(L, 2) != LUA_TSTRING) return 0;
    int position = push_entry(L, state, 2, -1);
    if (position < 0 || (state->lazy_loaded & ((uint64_t)1 << position))) return 0;
    state->lazy_loaded |= (uint64_t)1 << position;
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

static int lazy_newindex(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    // A key assigned by the policy must never be decoded later over its new value.
    if (is_current_lazy(L, state, 1) && lua_type(L, 2) == LUA_TSTRING) {
        int position = push_entry(L, state, 2, -1);
        if (position >= 0) {
            lua_pop(L, 1);
            state->lazy_loaded |= (uint64_t)1 << position;
        }
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

static int lazy_pairs(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    if (is_current_lazy(L, state, 1)) materialise(L, state, 1);
    lua_pushvalue(L, lua_upvalueindex(1));  // next
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int lazy_len(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    if (is_current_lazy(L, state, 1)) materialise(L, state, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

/// Wraps a base function whose first argument may be a lazy table that it reads raw.
static int materialising_call(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    if (lua_type(L, 1) == LUA_TTABLE && is_current_lazy(L, state, 1)) materialise(L, state, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

void ccl_open_lazy_objects(lua_State *L, int base) {
    ccl_state *state = ccl_state_of(L);
    static const char *const raw_readers[] = {"next", "rawget", "rawlen", "rawset", "setmetatable", NULL};
    for (const char *const *name = raw_readers; *name; name++) {
        lua_getfield(L, base, *name);
        lua_pushcclosure(L, materialising_call, 1);
        lua_setfield(L, base, *name);
    }
    lua_createtable(L, 0, 5);
    lua_pushcfunction(L, lazy_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, lazy_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_getfield(L, base, "next");
    lua_pushcclosure(L, lazy_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, lazy_len);
    lua_setfield(L, -2, "__len");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    state->lazy_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 1, 0);
    state->lazy_holder_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int ccl_push_lazy_object(lua_State *L, ccl_reader *r) {
    ccl_state *state = ccl_state_of(L);
    uint32_t count, byte_length;
    if (state->lazy_table != NULL || r->length - r->at < 8) return 0;
    memcpy(&count, r->bytes + r->at, 4);
    memcpy(&byte_length, r->bytes + r->at + 4, 4);
    if (count > CCL_LAZY_MAX_FIELDS || r->length - r->at - 8 < byte_length) return 0;
    // The entries are checked when read; here they are only stepped over.
    r->at += 8;
    ccl_reader entries = *r;
    r->at += byte_length;
    entries.length = r->at;
    // No hash part yet: most fields are never read, and a presized hash part is the most
    // expensive thing about a new table.
    lua_createtable(L, 0, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->lazy_meta_ref);
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->lazy_holder_ref);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
    state->lazy_table = lua_topointer(L, -1);
    state->lazy_entries = entries;
    state->lazy_count = count;
    state->lazy_loaded = 0;
    return 1;
}

void ccl_end_lazy_object(ccl_state *state) {
    lua_State *L = state->L;
    if (state->lazy_table == NULL) return;
    // Only operations that allocate nothing: this runs outside the protected call.
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->lazy_holder_ref);
    if (lua_rawgeti(L, -1, 1) == LUA_TTABLE && lua_topointer(L, -1) == state->lazy_table) {
        lua_pushnil(L);
        lua_setmetatable(L, -2);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
    state->lazy_table = NULL;
}

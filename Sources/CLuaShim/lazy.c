// Lazily decoded input tables.
//
// Building a Lua table costs a string hash and a table insert per field, and hook inputs
// carry many fields a policy never reads (a hold's `metadata` above all). An object sent
// with tag 'O' becomes an empty table whose fields are decoded on first access, one at a
// time. It behaves as a plain table: reads, writes (including assigning nil), pairs, next,
// #, rawget, rawset and setmetatable all see the same fields, because anything that needs
// the whole table first decodes the rest ("materialises" it) and drops the lazy metatable.
// The one visible difference is that getmetatable() returns false instead of nil while it
// is lazy. A hook that returns a lazy table returns all of its fields (codec.c
// materialises it).
//
// The entries point into the caller's input buffer, which lives only for the call. When
// the call ends each lazy table loses its metatable, so a policy that kept a reference
// (which the contract forbids) sees only the fields it had read, never a stale buffer.

#include "ccl_internal.h"

#include <string.h>

static ccl_lazy *lazy_of(lua_State *L, ccl_state *state, int index) {
    if (state->lazy_used == 0) return NULL;
    const void *table = lua_topointer(L, index);
    for (int i = 0; i < state->lazy_used; i++) {
        if (state->lazy[i].table == table) return &state->lazy[i];
    }
    return NULL;
}

/// Reads an entry's key, resolving a registered key to its name.
static int read_key(const ccl_state *state, ccl_reader *r, const char **key, size_t *length, int *registered) {
    if (!ccl_read_key(r, key, length, registered)) return 0;
    if (*registered) {
        if (*registered > state->key_count) return 0;
        *key = state->key_names[*registered - 1];
        *length = strlen(*key);
    }
    return 1;
}

/// Pushes the decoded value of entry `wanted` (or, when `wanted` is -1, of the entry whose
/// key equals the string at `key_index`), preceded by its key when `with_key`. Returns the
/// entry's position, or -1 (pushing nothing) when there is none.
static int push_entry(lua_State *L, ccl_state *state, const ccl_lazy *lazy, int key_index, int wanted, int with_key) {
    size_t wanted_length = 0;
    const char *wanted_key = wanted < 0 ? lua_tolstring(L, key_index, &wanted_length) : NULL;
    ccl_reader r = lazy->entries;
    for (uint32_t i = 0; i < lazy->count; i++) {
        const char *key;
        size_t length;
        int registered;
        if (!read_key(state, &r, &key, &length, &registered)) break;
        int match = wanted >= 0 ? (int)i == wanted : (length == wanted_length && memcmp(key, wanted_key, length) == 0);
        if (!match) {
            if (!ccl_skip_value(&r, 1)) break;
            continue;
        }
        lua_rawgeti(L, LUA_REGISTRYINDEX, state->keys_ref);
        r.keys_index = lua_gettop(L);
        if (with_key) {
            if (registered) lua_rawgeti(L, r.keys_index, registered);
            else lua_pushlstring(L, key, length);
        }
        if (!ccl_push_value(L, &r, 1)) luaL_error(L, "internal: malformed lazy input");
        lua_remove(L, r.keys_index);
        return (int)i;
    }
    return -1;
}

/// Decodes every field not yet seen into the table at `index` and makes it a plain table.
static void materialise(lua_State *L, ccl_state *state, ccl_lazy *lazy, int index) {
    index = lua_absindex(L, index);
    for (uint32_t i = 0; i < lazy->count; i++) {
        if (lazy->loaded & ((uint64_t)1 << i)) continue;
        if (push_entry(L, state, lazy, 0, (int)i, 1) < 0) break;
        lua_rawset(L, index);
    }
    lazy->loaded = ~(uint64_t)0;
    lazy->table = NULL;  // the slot stays used until the call ends; it matches nothing now
    lua_pushnil(L);
    lua_setmetatable(L, index);
}

void ccl_materialise_if_lazy(lua_State *L, int index) {
    ccl_state *state = ccl_state_of(L);
    ccl_lazy *lazy = lazy_of(L, state, index);
    if (lazy) materialise(L, state, lazy, index);
}

static int lazy_index(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    ccl_lazy *lazy = lazy_of(L, state, 1);
    if (lazy == NULL || lua_type(L, 2) != LUA_TSTRING) return 0;
    int position = push_entry(L, state, lazy, 2, -1, 0);
    if (position < 0) return 0;
    if (lazy->loaded & ((uint64_t)1 << position)) return 0;  // read before, then removed
    lazy->loaded |= (uint64_t)1 << position;
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

static int lazy_newindex(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    ccl_lazy *lazy = lazy_of(L, state, 1);
    // A key the policy assigns must never be decoded later over its new value.
    if (lazy && lua_type(L, 2) == LUA_TSTRING) {
        int position = push_entry(L, state, lazy, 2, -1, 0);
        if (position >= 0) {
            lua_pop(L, 1);
            lazy->loaded |= (uint64_t)1 << position;
        }
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

static int lazy_pairs(lua_State *L) {
    ccl_materialise_if_lazy(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));  // next
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int lazy_len(lua_State *L) {
    ccl_materialise_if_lazy(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

/// Wraps a base function whose first argument may be a lazy table that it reads raw.
static int materialising_call(lua_State *L) {
    if (lua_type(L, 1) == LUA_TTABLE) ccl_materialise_if_lazy(L, 1);
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
    lua_createtable(L, CCL_LAZY_TABLES, 0);
    state->lazy_holder_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int ccl_push_lazy_object(lua_State *L, ccl_reader *r) {
    ccl_state *state = ccl_state_of(L);
    uint32_t count, byte_length;
    if (state->lazy_used == CCL_LAZY_TABLES || r->length - r->at < 8) return 0;
    memcpy(&count, r->bytes + r->at, 4);
    memcpy(&byte_length, r->bytes + r->at + 4, 4);
    if (count > CCL_LAZY_MAX_FIELDS || r->length - r->at - 8 < byte_length) return 0;
    // The entries are checked when read; here they are only stepped over.
    r->at += 8;
    ccl_lazy *lazy = &state->lazy[state->lazy_used];
    lazy->entries = *r;
    r->at += byte_length;
    lazy->entries.length = r->at;
    lazy->count = count;
    lazy->loaded = 0;
    // Room for the few fields a policy typically reads: growing a table one field at a
    // time reallocates its hash part at 1, 2 and 4 fields.
    lua_createtable(L, 0, count < 4 ? (int)count : 4);
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->lazy_meta_ref);
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->lazy_holder_ref);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, state->lazy_used + 1);
    lua_pop(L, 1);
    lazy->table = lua_topointer(L, -1);
    state->lazy_used++;
    return 1;
}

void ccl_end_lazy_objects(ccl_state *state) {
    lua_State *L = state->L;
    if (state->lazy_used == 0) return;
    // Only operations that allocate nothing: this runs outside the protected call.
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->lazy_holder_ref);
    for (int i = 0; i < state->lazy_used; i++) {
        if (lua_rawgeti(L, -1, i + 1) == LUA_TTABLE && state->lazy[i].table == lua_topointer(L, -1)) {
            lua_pushnil(L);
            lua_setmetatable(L, -2);
        }
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawseti(L, -2, i + 1);
        state->lazy[i].table = NULL;
    }
    lua_pop(L, 1);
    state->lazy_used = 0;
}

// Moves values between the tagged byte stream (see CLuaShim.h) and Lua, inside lua_pcall.

#include "ccl_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Bounds on what a hook may return: deep enough for any sensible decision, small enough
/// that a hostile policy cannot make the server copy megabytes per request.
#define CCL_RESULT_MAX_DEPTH 16
#define CCL_RESULT_MAX_VALUES 10000
#define CCL_RESULT_MAX_BYTES (1 << 20)

// MARK: - Decoding (Swift → Lua)

typedef ccl_reader reader;

static int read_u32(reader *r, uint32_t *value) {
    if (r->length - r->at < 4) return 0;
    memcpy(value, r->bytes + r->at, 4);
    r->at += 4;
    return 1;
}

int ccl_read_key(ccl_reader *r, const char **key, size_t *length, int *registered) {
    if (r->at >= r->length) return 0;
    uint8_t tag = r->bytes[r->at++];
    if (tag == 'k') {
        if (r->at >= r->length) return 0;
        *registered = r->bytes[r->at++] + 1;
        *key = NULL;
        *length = 0;
        return 1;
    }
    uint32_t length32;
    if (tag != 's' || !read_u32(r, &length32) || r->length - r->at < length32) return 0;
    *key = (const char *)r->bytes + r->at;
    *length = length32;
    *registered = 0;
    r->at += length32;
    return 1;
}

static int push_object_entries(lua_State *L, reader *r, uint32_t count, int depth) {
    if (count > r->length - r->at) return 0;
    lua_createtable(L, 0, (int)count);
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        size_t length;
        int registered;
        if (!ccl_read_key(r, &key, &length, &registered)) return 0;
        if (registered) {
            if (lua_rawgeti(L, r->keys_index, registered) != LUA_TSTRING) return 0;
        } else {
            lua_pushlstring(L, key, length);
        }
        if (!ccl_push_value(L, r, depth + 1)) return 0;
        lua_rawset(L, -3);
    }
    return 1;
}

int ccl_push_value(lua_State *L, reader *r, int depth) {
    if (r->at >= r->length || depth > 64) return 0;
    if (!lua_checkstack(L, 3)) return 0;
    uint8_t tag = r->bytes[r->at++];
    switch (tag) {
    case 'z': lua_pushnil(L); return 1;
    case 't': lua_pushboolean(L, 1); return 1;
    case 'f': lua_pushboolean(L, 0); return 1;
    case 'i': {
        int64_t value;
        if (r->length - r->at < 8) return 0;
        memcpy(&value, r->bytes + r->at, 8);
        r->at += 8;
        lua_pushinteger(L, (lua_Integer)value);
        return 1;
    }
    case 'd': {
        double value;
        if (r->length - r->at < 8) return 0;
        memcpy(&value, r->bytes + r->at, 8);
        r->at += 8;
        lua_pushnumber(L, (lua_Number)value);
        return 1;
    }
    case 's': {
        uint32_t length;
        if (!read_u32(r, &length) || r->length - r->at < length) return 0;
        lua_pushlstring(L, (const char *)r->bytes + r->at, length);
        r->at += length;
        return 1;
    }
    case 'a': {
        uint32_t count;
        if (!read_u32(r, &count) || count > r->length - r->at) return 0;
        lua_createtable(L, (int)count, 0);
        for (uint32_t i = 1; i <= count; i++) {
            if (!ccl_push_value(L, r, depth + 1)) return 0;
            lua_rawseti(L, -2, (lua_Integer)i);
        }
        return 1;
    }
    case 'O':
        if (ccl_push_lazy_object(L, r)) return 1;
        // Not lazy after all (another lazy table is live): skip the byte length and decode
        // the entries as an 'o' object.
        if (r->length - r->at < 8) return 0;
        {
            uint32_t count;
            memcpy(&count, r->bytes + r->at, 4);
            r->at += 8;
            return push_object_entries(L, r, count, depth);
        }
    case 'o': {
        uint32_t count;
        if (!read_u32(r, &count)) return 0;
        return push_object_entries(L, r, count, depth);
    }
    default:
        return 0;
    }
}

int ccl_skip_value(reader *r, int depth) {
    if (r->at >= r->length || depth > 64) return 0;
    uint8_t tag = r->bytes[r->at++];
    uint32_t count, length;
    switch (tag) {
    case 'z': case 't': case 'f': return 1;
    case 'i': case 'd':
        if (r->length - r->at < 8) return 0;
        r->at += 8;
        return 1;
    case 's':
        if (!read_u32(r, &length) || r->length - r->at < length) return 0;
        r->at += length;
        return 1;
    case 'a':
        if (!read_u32(r, &count)) return 0;
        for (uint32_t i = 0; i < count; i++) if (!ccl_skip_value(r, depth + 1)) return 0;
        return 1;
    case 'O':
        if (!read_u32(r, &count) || !read_u32(r, &length) || r->length - r->at < length) return 0;
        r->at += length;
        return 1;
    case 'o':
        if (!read_u32(r, &count)) return 0;
        for (uint32_t i = 0; i < count; i++) {
            const char *key;
            size_t key_length;
            int registered;
            if (!ccl_read_key(r, &key, &key_length, &registered) || !ccl_skip_value(r, depth + 1)) return 0;
        }
        return 1;
    default:
        return 0;
    }
}

int ccl_push_decoded(lua_State *L, const uint8_t *input, size_t length, int keys_index) {
    reader r = {input, length, 0, keys_index};
    int top = lua_gettop(L);
    if (!ccl_push_value(L, &r, 0) || r.at != length) {
        lua_settop(L, top);
        return 0;
    }
    return 1;
}

// MARK: - Encoding (Lua → Swift)

typedef struct {
    lua_State *L;
    ccl_state *state;
    size_t values;
} writer;

static void reject(writer *w, const char *format, const char *detail) {
    w->state->result_rejected = 1;
    luaL_error(w->L, format, detail);
}

static void append(writer *w, const void *bytes, size_t length) {
    ccl_state *state = w->state;
    if (state->output_length + length > CCL_RESULT_MAX_BYTES) {
        reject(w, "the result is too large (over %s)", "1 MiB");
    }
    if (state->output_length + length > state->output_capacity) {
        size_t capacity = state->output_capacity ? state->output_capacity : 256;
        while (capacity < state->output_length + length) capacity *= 2;
        uint8_t *grown = realloc(state->output, capacity);
        if (grown == NULL) reject(w, "the result is too large (%s)", "out of memory");
        state->output = grown;
        state->output_capacity = capacity;
    }
    memcpy(state->output + state->output_length, bytes, length);
    state->output_length += length;
}

static void append_tag(writer *w, char tag) { append(w, &tag, 1); }

static void append_tag(writer *w, char tag);

static void append_string(writer *w, const char *text, size_t length) {
    append_tag(w, 's');
    uint32_t length32 = (uint32_t)length;
    append(w, &length32, 4);
    append(w, text, length);
}

static void encode_value(writer *w, int index, int depth);

/// Counts entries; returns 1 when the keys are exactly the integers 1..count.
static int table_is_sequence(lua_State *L, int index, uint32_t *count) {
    uint32_t entries = 0;
    lua_Integer largest = 0;
    int integer_keys = 1;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        lua_pop(L, 1);
        entries++;
        if (integer_keys && lua_isinteger(L, -1)) {
            lua_Integer key = lua_tointeger(L, -1);
            if (key < 1) integer_keys = 0;
            else if (key > largest) largest = key;
        } else {
            integer_keys = 0;
        }
    }
    *count = entries;
    return entries > 0 && integer_keys && largest == (lua_Integer)entries;
}

static void encode_table(writer *w, int index, int depth) {
    lua_State *L = w->L;
    if (depth > CCL_RESULT_MAX_DEPTH) reject(w, "the result nests tables more than %s levels deep (or contains a cycle)", "16");
    if (!lua_checkstack(L, 4)) reject(w, "the result is too deep (%s)", "stack");
    ccl_materialise_if_lazy(L, index);
    ccl_see_through_frozen(L, index);
    uint32_t count;
    if (table_is_sequence(L, index, &count)) {
        append_tag(w, 'a');
        append(w, &count, 4);
        for (uint32_t i = 1; i <= count; i++) {
            lua_rawgeti(L, index, (lua_Integer)i);
            encode_value(w, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        return;
    }
    append_tag(w, 'o');
    append(w, &count, 4);
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        int key = lua_gettop(L) - 1;
        char number[64];
        switch (lua_type(L, key)) {
        case LUA_TSTRING: {
            size_t length;
            const char *text = lua_tolstring(L, key, &length);  // a string key: no conversion
            append_string(w, text, length);
            break;
        }
        case LUA_TNUMBER: {
            // Converting the key in place would confuse lua_next; format a copy instead.
            int n = lua_isinteger(L, key)
                ? snprintf(number, sizeof number, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, key))
                : snprintf(number, sizeof number, "%.14g", (double)lua_tonumber(L, key));
            append_string(w, number, (size_t)n);
            break;
        }
        default:
            reject(w, "the result has a table key of type %s; keys must be strings or numbers", luaL_typename(L, key));
        }
        encode_value(w, key + 1, depth + 1);
        lua_pop(L, 1);
    }
}

static void encode_value(writer *w, int index, int depth) {
    lua_State *L = w->L;
    if (++w->values > CCL_RESULT_MAX_VALUES) reject(w, "the result is too large (more than %s values)", "10000");
    switch (lua_type(L, index)) {
    case LUA_TNIL: append_tag(w, 'z'); break;
    case LUA_TBOOLEAN: append_tag(w, lua_toboolean(L, index) ? 't' : 'f'); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, index)) {
            int64_t value = (int64_t)lua_tointeger(L, index);
            append_tag(w, 'i');
            append(w, &value, 8);
        } else {
            double value = (double)lua_tonumber(L, index);
            if (!isfinite(value)) reject(w, "the result contains %s, which is not a usable number", isnan(value) ? "nan" : "inf");
            append_tag(w, 'd');
            append(w, &value, 8);
        }
        break;
    case LUA_TSTRING: {
        size_t length;
        const char *text = lua_tolstring(L, index, &length);
        append_string(w, text, length);
        break;
    }
    case LUA_TTABLE: encode_table(w, index, depth); break;
    default:
        reject(w, "the result contains a %s, which a policy cannot return", luaL_typename(L, index));
    }
}

void ccl_encode_top(lua_State *L, ccl_state *state) {
    writer w = {L, state, 0};
    state->output_length = 0;
    encode_value(&w, lua_gettop(L), 0);
}

void ccl_encode_result_fields(lua_State *L, ccl_state *state, int keys_index, const uint8_t *fields, int count) {
    int result = lua_gettop(L);
    if (lua_type(L, result) != LUA_TTABLE || count <= 0) {
        ccl_encode_top(L, state);
        return;
    }
    // The typed readers need only these fields: reading them by their interned names
    // skips walking (and encoding) the whole table. Extra fields are ignored, as before.
    ccl_materialise_if_lazy(L, result);
    ccl_see_through_frozen(L, result);
    writer w = {L, state, 0};
    state->output_length = 0;
    uint32_t count32 = (uint32_t)count;
    append_tag(&w, 'r');
    append(&w, &count32, 4);
    for (int i = 0; i < count; i++) {
        if (lua_rawgeti(L, keys_index, (lua_Integer)fields[i] + 1) != LUA_TSTRING) {
            luaL_error(L, "internal: unknown result field %d", (int)fields[i]);
        }
        lua_rawget(L, result);
        encode_value(&w, lua_gettop(L), 1);
        lua_pop(L, 1);
    }
}

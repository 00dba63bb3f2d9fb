// Module-level locals written during calls (POLICY.md "Sandbox": no memory between calls).
//
// Freezing (freeze.c) covers tables, but a module-level local is an upvalue, which Lua
// offers no way to make read-only: `local last_client; function hold_limit(req)
// last_client = req.client end` would carry one client's data into the next call. So, when
// the entry has loaded, the bytecode of every reachable Lua function is read (lua_dump) to
// find which of its upvalues it (or a function nested in it) assigns to. Those upvalues are
// put back to their value at load after every call, the way globals written by a call are
// dropped after it. A policy that writes no module-level local (the usual case) pays
// nothing per call.

#include "ccl_internal.h"

#include <stdlib.h>
#include <string.h>

/// OP_SETUPVAL in Lua 5.4's lopcodes.h: UpValue[B] := R[A].
#define CCL_OP_SETUPVAL 10

/// Reads one function of a stripped dump and sets bit i of *written for each of its
/// upvalues i that it or a nested function assigns to. *upvalues points at its upvalue
/// descriptions (instack, idx, kind), *count says how many.
static void read_function(ccl_dump_reader *r, uint64_t *written, int depth, const uint8_t **upvalues, size_t *count) {
    if (depth > 200) r->failed = 1;
    ccl_dump_skip_string(r);  // source
    ccl_dump_size(r);  // linedefined
    ccl_dump_size(r);  // lastlinedefined
    ccl_dump_skip(r, 3);  // numparams, is_vararg, maxstacksize
    size_t code = ccl_dump_size(r);
    if (r->failed || code > (r->length - r->at) / 4) {
        r->failed = 1;
        return;
    }
    for (size_t i = 0; i < code; i++) {
        uint32_t instruction;
        memcpy(&instruction, r->bytes + r->at + i * 4, 4);
        if ((instruction & 0x7f) == CCL_OP_SETUPVAL) {
            unsigned upvalue = (instruction >> 16) & 0xff;
            if (upvalue < 64) *written |= (uint64_t)1 << upvalue;
            else r->failed = 1;
        }
    }
    r->at += code * 4;
    ccl_dump_skip_constants(r);
    *count = ccl_dump_size(r);
    if (r->failed || *count > 64 || *count > (r->length - r->at) / 3) {
        r->failed = 1;
        return;
    }
    *upvalues = r->bytes + r->at;
    r->at += *count * 3;
    size_t protos = ccl_dump_size(r);
    for (size_t p = 0; p < protos && !r->failed; p++) {
        uint64_t nested = 0;
        const uint8_t *nested_upvalues = NULL;
        size_t nested_count = 0;
        read_function(r, &nested, depth + 1, &nested_upvalues, &nested_count);
        // A nested function's upvalue that is not on our stack (instack 0) is our upvalue
        // idx: a write to it there is a write to ours. One on our stack is a local of ours.
        for (size_t i = 0; i < nested_count && !r->failed; i++) {
            if (!(nested & ((uint64_t)1 << i)) || nested_upvalues[i * 3] != 0) continue;
            uint8_t index = nested_upvalues[i * 3 + 1];
            if (index < 64) *written |= (uint64_t)1 << index;
            else r->failed = 1;
        }
    }
    // Debug information (empty in a stripped dump, read anyway).
    size_t lines = ccl_dump_size(r);
    ccl_dump_skip(r, lines);
    size_t absolute = ccl_dump_size(r);
    for (size_t i = 0; i < absolute && !r->failed; i++) { ccl_dump_size(r); ccl_dump_size(r); }
    ccl_dump_skip_locals_and_names(r);
}

/// The upvalues the Lua function at `index` may assign to, as a bit set; all of them when
/// its bytecode cannot be read (an unknown Lua version): restoring too much is only slower.
static uint64_t written_upvalues(lua_State *L, int index) {
    ccl_dump_buffer buffer = {NULL, 0, 0};
    lua_pushvalue(L, index);
    int status = lua_dump(L, ccl_dump_collect, &buffer, 1);
    lua_pop(L, 1);
    uint64_t written = 0;
    ccl_dump_reader r;
    int readable = status == 0 && ccl_dump_reader_start(&r, &buffer);
    if (readable) {
        const uint8_t *upvalues;
        size_t count = 0;
        read_function(&r, &written, 0, &upvalues, &count);
        readable = !r.failed && r.at == r.length;
    }
    free(buffer.bytes);
    return readable ? written : ~(uint64_t)0;
}

void ccl_note_written_upvalues(lua_State *L, int function, int restore) {
    // Writes are tracked for the first 64 upvalues (a bit mask); a function with more could
    // keep data in the 65th. Runs at load, under lua_pcall: the load fails with the message.
    if (!lua_iscfunction(L, function) && lua_getupvalue(L, function, 65) != NULL) {
        lua_pop(L, 1);
        luaL_error(L, "a function uses more than 64 module-level locals; group them in a table");
    }
    uint64_t written = written_upvalues(L, function);
    if (written == 0) return;
    for (int n = 1; n <= 64 && lua_getupvalue(L, function, n) != NULL; n++) {
        if (!(written & ((uint64_t)1 << (n - 1)))) {
            lua_pop(L, 1);
            continue;
        }
        // {function, upvalue number, value at load}: a table per entry, since the value
        // may be nil.
        lua_createtable(L, 3, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 3);
        lua_pushvalue(L, function);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, n);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, restore, (lua_Integer)lua_rawlen(L, restore) + 1);
    }
}

void ccl_restore_upvalues(ccl_state *state) {
    if (state->restore_count == 0) return;
    // Only reads and upvalue stores: nothing here allocates (this runs outside lua_pcall).
    lua_State *L = state->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->restore_ref);
    int restore = lua_gettop(L);
    for (int i = 1; i <= state->restore_count; i++) {
        lua_rawgeti(L, restore, i);
        int entry = lua_gettop(L);
        lua_rawgeti(L, entry, 1);
        lua_rawgeti(L, entry, 2);
        int n = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_rawgeti(L, entry, 3);
        lua_setupvalue(L, -2, n);
        lua_settop(L, entry - 1);
    }
    lua_settop(L, restore - 1);
}

#ifndef CCL_INTERNAL_H
#define CCL_INTERNAL_H

#include "CLuaShim.h"
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/// How many VM instructions run between two budget checks. Small enough that a runaway
/// loop is stopped promptly, large enough that the hook costs little (~15% at 1000).
#define CCL_HOOK_STRIDE 1000

#define CCL_MESSAGE_CAPACITY 2048
#define CCL_PRINT_CAPACITY 4096

typedef struct {
    const uint8_t *bytes;
    size_t length;
    size_t at;
    int keys_index;  // stack index of the registered key table
} ccl_reader;

typedef struct ccl_module {
    char *name;
    char *source;
    size_t length;
    struct ccl_module *next;
} ccl_module;

struct ccl_state {
    lua_State *L;

    // Capped allocator.
    size_t memory_used;
    size_t memory_limit;
    int memory_limit_hit;

    // Instruction budget of the current call. `exhausted` is shared by every coroutine of
    // the state, so a call cannot escape the budget by catching the error with pcall or by
    // moving into a fresh coroutine.
    int64_t instruction_budget;
    int64_t instructions_left;
    int budget_exhausted;

    // Set when the result could not be encoded.
    int result_rejected;

    ccl_module *modules;

    // Registry references to the sandbox tables.
    int call_env_ref;     // the table every chunk sees as _ENV; emptied after each call
    int frozen_env_ref;   // what the entry defined, read through call_env's __index
    int loaded_ref;       // require's cache
    int keys_ref;         // registered input keys, anchored so they stay interned
    int lazy_meta_ref;    // metatable of lazily decoded input tables
    int lazy_holder_ref;  // [1] = the current call's lazy table

    // The current call's lazy table (see lazy.c): its identity, its entries in the input
    // stream (valid only during the call) and which entries Lua has seen.
    const void *lazy_table;
    ccl_reader lazy_entries;
    uint32_t lazy_count;
    uint64_t lazy_loaded;

    uint8_t *output;
    size_t output_length;
    size_t output_capacity;

    char message[CCL_MESSAGE_CAPACITY];
    size_t message_length;

    char printed[CCL_PRINT_CAPACITY];
    size_t printed_length;
};

/// The ccl_state of a Lua thread. Coroutines inherit the main thread's extra space.
static inline ccl_state *ccl_state_of(lua_State *L) {
    return *(ccl_state **)lua_getextraspace(L);
}

// codec.c

int ccl_push_decoded(lua_State *L, const uint8_t *input, size_t length, int keys_index);
int ccl_push_value(lua_State *L, ccl_reader *r, int depth);
int ccl_skip_value(ccl_reader *r, int depth);

// lazy.c
int ccl_push_lazy_object(lua_State *L, ccl_reader *r);
void ccl_open_lazy_objects(lua_State *L, int base_index);
void ccl_end_lazy_object(ccl_state *state);
/// Decodes the rest of a lazy table (a hook returning its input, say) into a plain table.
void ccl_materialise_if_lazy(lua_State *L, int index);
void ccl_encode_top(lua_State *L, ccl_state *state);

// stdlib.c
void ccl_open_sandbox_libraries(lua_State *L, int base_index);

#endif

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

/// Lazy input tables per call, and fields per lazy table (the loaded set is a 64-bit mask).
#define CCL_LAZY_TABLES 4
#define CCL_LAZY_MAX_FIELDS 64

typedef struct {
    const void *table;     // identity while lazy; NULL once materialised or ended
    ccl_reader entries;    // the entries in the input stream (valid only during the call)
    uint32_t count;
    uint64_t loaded;       // entries read, assigned or removed by the policy
} ccl_lazy;

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
    int lazy_holder_ref;  // [1..n] = the current call's lazy tables, kept alive for the call

    // The current call's lazy tables (lazy.c).
    ccl_lazy lazy[CCL_LAZY_TABLES];
    int lazy_used;

    // Copies of the registered key names, so lazy lookups compare them without Lua.
    char **key_names;
    int key_count;

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
/// Reads an object key: an inline string ('s', *registered = 0) or a registered key ('k',
/// *registered = its 1-based index, *key = NULL). Returns 0 when the stream is malformed.
int ccl_read_key(ccl_reader *r, const char **key, size_t *length, int *registered);

// lazy.c
int ccl_push_lazy_object(lua_State *L, ccl_reader *r);
void ccl_open_lazy_objects(lua_State *L, int base_index);
void ccl_end_lazy_objects(ccl_state *state);
/// Decodes the rest of a lazy table (a hook returning its input, say) into a plain table.
void ccl_materialise_if_lazy(lua_State *L, int index);
void ccl_encode_top(lua_State *L, ccl_state *state);
/// Encodes the named fields of the result table at the top (see ccl_call).
void ccl_encode_result_fields(lua_State *L, ccl_state *state, int keys_index, const uint8_t *fields, int count);

// stdlib.c
void ccl_open_sandbox_libraries(lua_State *L, int base_index);

#endif

#ifndef CCL_INTERNAL_H
#define CCL_INTERNAL_H

#include "CLuaShim.h"
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/// How many VM instructions run between two budget checks. Small enough that a runaway
/// loop is stopped promptly, large enough that the hook costs little (~15% at 1000).
#define CCL_HOOK_STRIDE 1000

/// The largest single allocation (a string, a table's array or hash part, a stack) is the
/// memory limit divided by this: 1 MB at the default 16 MB. It bounds what one C library call
/// or one VM instruction can do to a string or table between two checks of the clock.
#define CCL_OBJECT_LIMIT_DIVISOR 16

/// Loading the entry (compiling and running every module) may take this many times the
/// time limit of a call.
#define CCL_LOAD_TIME_FACTOR 10

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

    // Instruction budget of the current call.
    int64_t instruction_budget;
    int64_t instructions_left;

    // Time limit of the current call (limits.c). The clock starts at the call's first check,
    // so a short call reads no clock at all.
    uint64_t time_limit_ns;
    uint64_t deadline_ns;  // 0 until the first check of the call
    uint64_t cpu_mark_ns;  // the thread's CPU clock when the deadline first passed (0: not yet)
    double pending_work;   // work guarded functions announced since the clock was last read

    // Bytes the current call may allocate in all (strings it builds, tables, everything),
    // and the largest single allocation (one string, one table part, the stack).
    size_t allocation_budget;
    size_t allocated_in_call;
    size_t object_limit;
    size_t next_clock_check;  // allocated_in_call at which the allocator next reads the clock
    // 1 while a call (or the load) runs policy code: the per-call limits apply.
    int enforcing;

    // Why the current call was stopped (a ccl_stop), or CCL_RUNNING. Shared by every
    // coroutine of the state and never cleared during the call, so a policy cannot escape a
    // limit by catching the error with pcall, xpcall or a coroutine.
    int stopped;
    int object_limit_hit;
    char stop_message[512];

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
    int restore_ref;      // {function, upvalue, value at load} entries put back after each call
    int restore_count;    // entries in it

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

    // Line recording (lines.c); off unless a tool asked for it.
    int recording_lines;
    ccl_line_event *lines;
    size_t line_count, line_capacity;
    int lines_truncated;
    char **recorded_sources;
    int recorded_source_count, recorded_source_capacity, last_recorded_source;
};

/// Why a call was stopped.
enum ccl_stop { CCL_RUNNING = 0, CCL_STOP_INSTRUCTIONS, CCL_STOP_TIME, CCL_STOP_ALLOCATION };

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

// limits.c
/// Starts a call's (or the load's) limits: budget, clock, allocation budget.
void ccl_limits_begin(ccl_state *state);
/// Ends them: what runs on the Swift side's behalf (clearing the call) is not counted.
void ccl_limits_end(ccl_state *state);
/// The count hook: instruction budget and time limit.
void ccl_budget_hook(lua_State *L, lua_Debug *ar);
/// The line hook and count hook in one, installed instead of ccl_budget_hook while lines
/// are recorded (lines.c).
void ccl_recording_hook(lua_State *L, lua_Debug *ar);
/// Frees what line recording holds (ccl_close).
void ccl_free_recorded_lines(ccl_state *state);
/// Called by the allocator for `grown` new bytes; returns 0 when the allocation must fail.
int ccl_limits_allow_allocation(ccl_state *state, size_t grown, size_t size);
/// Raises the stop error when the call was stopped or is past its deadline. Guards call it
/// before every C function that can do much work.
void ccl_check_limits(lua_State *L);
/// Announces `work` a guarded function is about to do (worst-case pattern steps, bytes,
/// elements): raises a stop, and reads the clock once enough work has been announced.
void ccl_check_work(lua_State *L, double work);
/// Checks the limits, then refuses a string of `bytes` that is larger than one object may be
/// or than the rest of the call's allocation budget.
void ccl_reserve_bytes(lua_State *L, size_t bytes);
/// Records why the call stopped (the first reason wins) and the message to report.
void ccl_stop_call(ccl_state *state, int reason, lua_State *L, int level);
/// xpcall, and coroutine.wrap, close and resume, that keep the limits (see limits.c).
void ccl_limit_base_functions(lua_State *L, int base_index);
void ccl_limit_coroutine_library(lua_State *L, int library_index);
/// True for the functions coroutine.wrap returns.
int ccl_is_limited_wrapped(lua_CFunction function);

// dump.c
/// A binary chunk from lua_dump, grown by ccl_dump_collect (lua_Writer).
typedef struct {
    uint8_t *bytes;
    size_t length, capacity;
} ccl_dump_buffer;

/// A cursor over a dump; `failed` is set by any read past the end or malformed size.
typedef struct {
    const uint8_t *bytes;
    size_t length, at;
    int failed;
} ccl_dump_reader;

int ccl_dump_collect(lua_State *L, const void *chunk, size_t size, void *data);
/// Checks the header (Lua 5.4, official format) and places the reader at the main function;
/// 0 (and `failed`) when the dump is not one this code can read.
int ccl_dump_reader_start(ccl_dump_reader *r, const ccl_dump_buffer *buffer);
size_t ccl_dump_size(ccl_dump_reader *r);
void ccl_dump_skip(ccl_dump_reader *r, size_t count);
void ccl_dump_skip_string(ccl_dump_reader *r);
void ccl_dump_skip_constants(ccl_dump_reader *r);
/// A function's last debug lists: local variables, then upvalue names.
void ccl_dump_skip_locals_and_names(ccl_dump_reader *r);

// freeze.c
/// Makes every table the entry and its modules created read-only (see freeze.c).
void ccl_freeze_policy_tables(lua_State *L, int roots_index, int skip_index, int restore_index);
/// Notes, in the table at `restore`, the upvalues the Lua function at `function` may assign to.
void ccl_note_written_upvalues(lua_State *L, int function, int restore);
/// Puts the noted upvalues back to their values at load (after every call).
void ccl_restore_upvalues(ccl_state *state);
/// Wraps next, rawget and rawlen so they read a frozen table's contents.
void ccl_open_frozen_views(lua_State *L, int base_index);
/// Replaces a frozen table at `index` by its backing table (for readers that read raw).
void ccl_see_through_frozen(lua_State *L, int index);

#endif

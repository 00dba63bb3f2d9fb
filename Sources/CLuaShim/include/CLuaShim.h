#ifndef CLUA_SHIM_H
#define CLUA_SHIM_H

// The boundary between Swift and Lua.
//
// Lua reports errors with longjmp, which must never unwind through Swift frames. Every
// function here that touches a lua_State runs its Lua work under lua_pcall and reports
// the outcome as a status code plus a message copied into C memory, so the Swift side
// never calls a Lua API function that can raise.
//
// Values cross the boundary as a small tagged byte stream (native byte order, same
// process), decoded into Lua tables and encoded back from them inside the protected call:
//   'z'                      nil / null
//   't' | 'f'                true / false
//   'i' int64                integer
//   'd' double               number
//   's' u32 len, bytes       string
//   'a' u32 n, n values      array (Lua sequence 1..n)
//   'O' u32 n, u32 bytes, n × (key, value)   object decoded lazily, on first access; `bytes`
//                            is the length of the entries (input only; see lazy.c)
//   'o' u32 n, n × (key, value)   object, where a key is
//       's' u32 len, bytes       a string key, or
//       'k' u8 index             a key registered with ccl_set_keys (input only): the
//                                interned string is reused instead of hashed again

#include <stddef.h>
#include <stdint.h>

typedef struct ccl_state ccl_state;

typedef enum {
    CCL_OK = 0,
    /// A Lua error: syntax, runtime or error() from the policy. The message carries file:line.
    CCL_ERR_RUNTIME = 1,
    /// The call ran out of its instruction budget.
    CCL_ERR_BUDGET = 2,
    /// The state reached its memory cap.
    CCL_ERR_MEMORY = 3,
    /// The hook returned something that cannot cross the boundary (functions, cycles, too large).
    CCL_ERR_RESULT = 4,
    /// The caller broke the protocol (bad input stream, unknown reference). A bug on our side.
    CCL_ERR_INTERNAL = 5,
    /// The call ran past its time limit.
    CCL_ERR_TIME = 6,
    /// The call allocated more than its per-call allocation budget.
    CCL_ERR_ALLOCATION = 7,
} ccl_status;

/// Creates a sandboxed state whose allocations are capped at `memory_limit` bytes (no single
/// string or table part above memory_limit / 16), and whose every call (and the loading of
/// the entry module) may run at most `instruction_budget` VM instructions, for at most
/// `time_limit_ns` (monotonic clock), allocating at most `allocation_budget` bytes in all.
/// Returns NULL when even the empty state does not fit.
ccl_state *ccl_new(size_t memory_limit, int64_t instruction_budget, uint64_t time_limit_ns, size_t allocation_budget);
void ccl_close(ccl_state *state);

/// Registers a module's source text under its require name ("policy", "tiers", "lib.util").
/// The text is copied. Returns 0, or -1 when out of memory.
int ccl_add_module(ccl_state *state, const char *name, const char *source, size_t length);

/// Registers the object keys inputs may refer to by index ('k'). Returns 0, or -1 when out
/// of memory. Call once, before the first ccl_call.
int ccl_set_keys(ccl_state *state, const char *const *keys, int count);

/// Runs `require(name)` for the entry module under the budget (and ten times a call's time
/// limit), then seals the global environment: what the entry defined becomes the read-only
/// base for every later call, and the tables it created are frozen.
ccl_status ccl_load_entry(ccl_state *state, const char *name);

/// Looks up a global function defined by the policy. Returns 1 and a reference usable with
/// `ccl_call` when found (the message then holds the definition's "file:line"), 0 when the
/// name is not defined, or -1 when it is defined but not a function (the message says what it is).
int ccl_find_hook(ccl_state *state, const char *name, int *reference);

/// Calls a hook with one argument decoded from `input` and encodes its single result.
/// When `result_fields` names registered keys and the result is a table, only those fields
/// are encoded, in that order, as 'r' u32 n, n values (absent fields as nil); otherwise the
/// whole result is encoded as a value.
ccl_status ccl_call(ccl_state *state, int reference, const uint8_t *input, size_t input_length,
                    const uint8_t *result_fields, int result_field_count);

/// The encoded result of the last successful call.
const uint8_t *ccl_output(const ccl_state *state, size_t *length);
/// The error message of the last failed operation (or the hook location after ccl_find_hook).
const char *ccl_message(const ccl_state *state, size_t *length);
/// What the policy passed to print() during the last call (bounded; may be empty).
const char *ccl_printed(const ccl_state *state, size_t *length);
/// Bytes currently allocated by the state.
size_t ccl_memory_used(const ccl_state *state);

// Line recording, for `policy test --coverage` and `policy eval --explain` (lines.c).

/// A line a call ran: its chunk (an index for ccl_recorded_source), the line, and how many
/// times in a row it ran.
typedef struct {
    int32_t source;
    int32_t line;
    int64_t count;
} ccl_line_event;

/// Turns line recording on or off for the calls (and the load) that start afterwards.
void ccl_set_line_recording(ccl_state *state, int on);
/// The lines recorded since the last clear, in order; *truncated is 1 when some were lost
/// (more than a million in a row, or out of memory).
const ccl_line_event *ccl_recorded_lines(const ccl_state *state, size_t *count, int *truncated);
/// The chunk name of a recorded source index ("@tiers.lua"), or NULL.
const char *ccl_recorded_source(const ccl_state *state, int index);
void ccl_clear_recorded_lines(ccl_state *state);
/// The lines of Lua source text that carry code, sorted; *lines is malloc'ed (free it).
/// Returns 0, or -1 when the text does not compile.
int ccl_executable_lines(const char *source, size_t length, int **lines, size_t *count);

// Exposed for tests of the helper functions policies get as `chitty.*`.
/// Parses an ISO-8601 date or date-time; returns 1 and sets *unix_seconds, or 0 when malformed.
int ccl_parse_iso8601(const char *text, size_t length, int64_t *unix_seconds);

#endif

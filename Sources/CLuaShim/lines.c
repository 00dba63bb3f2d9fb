// Which lines of the policy run: `policy test --coverage` and `policy eval --explain`.
//
// Tool use only, never the server. While recording is on, a call's (and the load's) hook
// is a line hook as well as the count hook (Lua allows one hook function per thread, so
// ccl_recording_hook hands count events to ccl_budget_hook unchanged: the instruction
// budget counts exactly as without recording). When recording is off, ccl_limits_begin
// installs the plain budget hook with the count mask only, so recording costs nothing.

#include "ccl_internal.h"

#include <stdlib.h>
#include <string.h>

/// A call that runs more lines than this is cut short in the record (not in its run).
#define CCL_MAX_RECORDED_LINES ((size_t)1 << 20)
#define CCL_MAX_RECORDED_SOURCES 512

/// The index of `source` in the state's list of source names, adding it when new; -1 when
/// the list is full or out of memory. Names are copied: a chunk's source string may be
/// collected during the call.
static int source_index(ccl_state *state, const char *source) {
    if (state->recorded_source_count > 0) {
        int last = state->last_recorded_source;
        if (strcmp(state->recorded_sources[last], source) == 0) return last;
    }
    for (int i = 0; i < state->recorded_source_count; i++) {
        if (strcmp(state->recorded_sources[i], source) == 0) {
            state->last_recorded_source = i;
            return i;
        }
    }
    if (state->recorded_source_count >= CCL_MAX_RECORDED_SOURCES) return -1;
    if (state->recorded_source_count == state->recorded_source_capacity) {
        int capacity = state->recorded_source_capacity ? state->recorded_source_capacity * 2 : 8;
        char **grown = realloc(state->recorded_sources, (size_t)capacity * sizeof *grown);
        if (grown == NULL) return -1;
        state->recorded_sources = grown;
        state->recorded_source_capacity = capacity;
    }
    char *copy = strdup(source);
    if (copy == NULL) return -1;
    state->recorded_sources[state->recorded_source_count] = copy;
    state->last_recorded_source = state->recorded_source_count;
    return state->recorded_source_count++;
}

/// Appends a line event; a repeat of the previous line only raises its count. Memory comes
/// from malloc, not the state's allocator, so recording changes no memory or allocation limit.
static void record_line(lua_State *L, lua_Debug *ar) {
    ccl_state *state = ccl_state_of(L);
    if (!lua_getinfo(L, "S", ar)) return;
    int source = source_index(state, ar->source);
    if (source < 0) {
        state->lines_truncated = 1;
        return;
    }
    if (state->line_count > 0) {
        ccl_line_event *last = &state->lines[state->line_count - 1];
        if (last->source == source && last->line == ar->currentline) {
            last->count++;
            return;
        }
    }
    if (state->line_count == state->line_capacity) {
        if (state->line_capacity >= CCL_MAX_RECORDED_LINES) {
            state->lines_truncated = 1;
            return;
        }
        size_t capacity = state->line_capacity ? state->line_capacity * 2 : 256;
        ccl_line_event *grown = realloc(state->lines, capacity * sizeof *grown);
        if (grown == NULL) {
            state->lines_truncated = 1;
            return;
        }
        state->lines = grown;
        state->line_capacity = capacity;
    }
    state->lines[state->line_count++] = (ccl_line_event){source, ar->currentline, 1};
}

void ccl_recording_hook(lua_State *L, lua_Debug *ar) {
    if (ar->event == LUA_HOOKLINE) {
        record_line(L, ar);
        return;
    }
    ccl_budget_hook(L, ar);
}

void ccl_set_line_recording(ccl_state *state, int on) {
    state->recording_lines = on != 0;
}

const ccl_line_event *ccl_recorded_lines(const ccl_state *state, size_t *count, int *truncated) {
    *count = state->line_count;
    *truncated = state->lines_truncated;
    return state->lines;
}

const char *ccl_recorded_source(const ccl_state *state, int index) {
    return index >= 0 && index < state->recorded_source_count ? state->recorded_sources[index] : NULL;
}

void ccl_clear_recorded_lines(ccl_state *state) {
    state->line_count = 0;
    state->lines_truncated = 0;
}

void ccl_free_recorded_lines(ccl_state *state) {
    for (int i = 0; i < state->recorded_source_count; i++) free(state->recorded_sources[i]);
    free(state->recorded_sources);
    free(state->lines);
}

// MARK: - Executable lines

// The lines that carry code are what lua_getinfo's "L" (activelines) reports, but only for
// a function value, and a chunk's nested functions are not values until it runs. So the
// chunk is compiled and dumped with its debug information, and every function's line
// information read from the dump (dump.c, Lua 5.4).

/// Walks a dump (dump.c) and collects the line of every instruction.
typedef struct {
    ccl_dump_reader dump;
    int *lines;
    size_t count, capacity;
} line_reader;

static void add_line(line_reader *lines, int line) {
    if (lines->count == lines->capacity) {
        size_t capacity = lines->capacity ? lines->capacity * 2 : 64;
        int *grown = realloc(lines->lines, capacity * sizeof *grown);
        if (grown == NULL) {
            lines->dump.failed = 1;
            return;
        }
        lines->lines = grown;
        lines->capacity = capacity;
    }
    lines->lines[lines->count++] = line;
}

/// ABSLINEINFO in ldebug.h: the line of this instruction is in the absolute list.
#define CCL_ABSLINEINFO (-0x80)

static void read_function_lines(line_reader *lines, int depth) {
    ccl_dump_reader *r = &lines->dump;
    if (depth > 200) r->failed = 1;
    ccl_dump_skip_string(r);  // source
    int line = (int)ccl_dump_size(r);  // linedefined
    ccl_dump_size(r);  // lastlinedefined
    ccl_dump_skip(r, 1);  // numparams
    if (r->failed || r->at >= r->length) {
        r->failed = 1;
        return;
    }
    int is_vararg = r->bytes[r->at];
    ccl_dump_skip(r, 2);  // is_vararg, maxstacksize
    size_t code = ccl_dump_size(r);
    if (r->failed || code > (r->length - r->at) / 4) {
        r->failed = 1;
        return;
    }
    ccl_dump_skip(r, code * 4);
    ccl_dump_skip_constants(r);
    size_t upvalues = ccl_dump_size(r);
    if (r->failed || upvalues > (r->length - r->at) / 3) {
        r->failed = 1;
        return;
    }
    ccl_dump_skip(r, upvalues * 3);
    size_t protos = ccl_dump_size(r);
    for (size_t p = 0; p < protos && !r->failed; p++) read_function_lines(lines, depth + 1);
    size_t deltas = ccl_dump_size(r);
    if (r->failed || deltas != code || deltas > r->length - r->at) {
        r->failed = 1;
        return;
    }
    const int8_t *lineinfo = (const int8_t *)(r->bytes + r->at);
    r->at += deltas;
    size_t absolute = ccl_dump_size(r);
    size_t next_absolute = 0;
    for (size_t pc = 0; pc < code && !r->failed; pc++) {
        if (lineinfo[pc] == CCL_ABSLINEINFO) {
            // The absolute entries follow in pc order: (pc, line).
            if (next_absolute++ >= absolute) {
                r->failed = 1;
                return;
            }
            ccl_dump_size(r);
            line = (int)ccl_dump_size(r);
        } else {
            line += lineinfo[pc];
        }
        // As in ldebug.c's collectvalidlines, a vararg function's first instruction
        // (VARARGPREP) is not a line. (A function's implicit return at `end` shares its
        // line with the parent's CLOSURE, which runs when the parent defines it.)
        if (is_vararg && pc == 0) continue;
        add_line(lines, line);
    }
    for (; next_absolute < absolute && !r->failed; next_absolute++) {
        ccl_dump_size(r);
        ccl_dump_size(r);
    }
    ccl_dump_skip_locals_and_names(r);
}

static int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int ccl_executable_lines(const char *source, size_t length, int **lines, size_t *count) {
    *lines = NULL;
    *count = 0;
    lua_State *L = luaL_newstate();
    if (L == NULL) return -1;
    ccl_dump_buffer buffer = {NULL, 0, 0};
    int status = luaL_loadbufferx(L, source, length, "=lines", "t");
    if (status == LUA_OK) status = lua_dump(L, ccl_dump_collect, &buffer, 0);
    lua_close(L);
    line_reader r = {{NULL, 0, 0, 0}, NULL, 0, 0};
    if (status != 0 || !ccl_dump_reader_start(&r.dump, &buffer)) {
        free(buffer.bytes);
        return -1;
    }
    read_function_lines(&r, 0);
    free(buffer.bytes);
    if (r.dump.failed || r.dump.at != r.dump.length) {
        free(r.lines);
        return -1;
    }
    qsort(r.lines, r.count, sizeof *r.lines, compare_ints);
    size_t unique = 0;
    for (size_t i = 0; i < r.count; i++) {
        if (unique == 0 || r.lines[unique - 1] != r.lines[i]) r.lines[unique++] = r.lines[i];
    }
    *lines = r.lines;
    *count = unique;
    return 0;
}

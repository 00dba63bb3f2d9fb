// Per-call limits beyond the memory cap: the instruction budget, the time limit and the
// allocation budget, and the base functions through which Lua would otherwise run policy
// code where the count hook cannot stop it.
//
// Why the hook needs help (Lua 5.4, ldo.c): Lua calls the count hook with hooks disabled
// for the thread (`L->allowhook = 0` in luaD_hook), and an error raised from the hook
// longjmps out before they are enabled again. Until a lua_pcall on that thread restores
// them, Lua code runs with no hook at all, so neither the budget nor the clock can stop it:
//   - an xpcall message handler: luaG_errormsg calls it before unwinding, so
//     `xpcall(f, function() while true do end end)` spun forever once f ran out of budget;
//   - the __close methods of a coroutine that died that way: coroutine.wrap and
//     coroutine.close run them through lua_resetthread on the dead thread.
// So xpcall here runs its handler itself, after unwinding, as an ordinary (counted) call;
// a coroutine stopped by a limit is never closed; and once a call is stopped every entry
// point raises the stop again. Finalizers (__gc) also run with hooks disabled (lgc.c GCTM);
// setmetatable refuses them (stdlib.c).

// clock_gettime and CLOCK_MONOTONIC_COARSE under strict C modes too.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "ccl_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/// How many bytes a call may allocate between two reads of the clock by the allocator.
#define CCL_CLOCK_CHECK_BYTES (256 * 1024)

/// How much work (pattern steps in the worst case, bytes, table elements) guarded functions
/// may announce between two reads of the clock: well under a millisecond. A function that
/// announces more reads it before it runs; cheap calls (most) share one read.
#define CCL_WORK_PER_CLOCK_READ 100000.0

static uint64_t now_ns(void) {
    struct timespec now;
#ifdef CLOCK_MONOTONIC_COARSE
    // About 30 ns here instead of 110 ns; its resolution (1-4 ms) is plenty for 50 ms.
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
#else
    clock_gettime(CLOCK_MONOTONIC, &now);
#endif
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static uint64_t thread_cpu_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/// True when the call is past its time limit.
///
/// The first check of a call starts its clock, so a call that ends before its first check
/// (most calls) reads no clock; what runs before that check is at most one hook stride or
/// one guarded C function. Checks read the monotonic clock (cheap). On a busy machine a
/// thread can wait tens of milliseconds for a CPU in the middle of a call, and failing an
/// ordinary call for that would refuse holds under load; so past the deadline the call
/// stops only once it has also run on a CPU for a quarter of the limit since (the thread's
/// CPU clock costs about 2 µs here, so it is read only past the deadline).
static int past_deadline(ccl_state *state) {
    uint64_t now = now_ns();
    if (state->deadline_ns == 0) {
        state->deadline_ns = now + state->time_limit_ns;
        return 0;
    }
    if (now < state->deadline_ns) return 0;
    uint64_t cpu = thread_cpu_ns();
    uint64_t quarter = state->time_limit_ns / 4;
    if (state->cpu_mark_ns == 0) {
        state->cpu_mark_ns = cpu;
    } else if (cpu - state->cpu_mark_ns >= quarter) {
        return 1;
    }
    // Look again after a little more wall-clock time, not at every check.
    state->deadline_ns = now + (quarter < 1000000 ? quarter : 1000000);
    return 0;
}

void ccl_limits_begin(ccl_state *state) {
    state->instructions_left = state->instruction_budget;
    state->deadline_ns = 0;
    state->cpu_mark_ns = 0;
    state->pending_work = 0;
    state->allocated_in_call = 0;
    state->next_clock_check = CCL_CLOCK_CHECK_BYTES;
    state->stopped = CCL_RUNNING;
    state->object_limit_hit = 0;
    state->stop_message[0] = '\0';
    state->enforcing = 1;
    if (state->recording_lines) {
        lua_sethook(state->L, ccl_recording_hook, LUA_MASKCOUNT | LUA_MASKLINE, CCL_HOOK_STRIDE);
    } else {
        lua_sethook(state->L, ccl_budget_hook, LUA_MASKCOUNT, CCL_HOOK_STRIDE);
    }
}

void ccl_limits_end(ccl_state *state) {
    state->enforcing = 0;
}

int ccl_limits_allow_allocation(ccl_state *state, size_t grown, size_t size) {
    if (!state->enforcing) return 1;
    if (size > state->object_limit) {
        state->object_limit_hit = 1;
        return 0;
    }
    state->allocated_in_call += grown;
    if (state->stopped != CCL_RUNNING) return 1;
    // The allocation itself goes ahead: failing it would only make Lua run an emergency
    // collection and retry. The stop is raised by the next hook or guarded function.
    if (state->allocated_in_call > state->allocation_budget) {
        state->stopped = CCL_STOP_ALLOCATION;
    } else if (state->allocated_in_call >= state->next_clock_check) {
        state->next_clock_check = state->allocated_in_call + CCL_CLOCK_CHECK_BYTES;
        if (past_deadline(state)) state->stopped = CCL_STOP_TIME;
    }
    return 1;
}

void ccl_stop_call(ccl_state *state, int reason, lua_State *L, int level) {
    if (state->stopped == CCL_RUNNING) state->stopped = reason;
    if (state->stop_message[0] != '\0') return;
    char what[200];
    switch (state->stopped) {
    case CCL_STOP_INSTRUCTIONS:
        snprintf(what, sizeof what, "instruction budget of %lld instructions exceeded", (long long)state->instruction_budget);
        break;
    case CCL_STOP_TIME:
        snprintf(what, sizeof what, "time limit of %llu ms exceeded", (unsigned long long)(state->time_limit_ns / 1000000));
        break;
    default:
        snprintf(what, sizeof what, "allocation budget of %zu bytes per call exceeded (strings and tables the call builds)",
                 state->allocation_budget);
        break;
    }
    // The innermost Lua function on the stack names the line.
    lua_Debug ar;
    for (; L && lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            snprintf(state->stop_message, sizeof state->stop_message, "%s:%d: %s", ar.short_src, ar.currentline, what);
            return;
        }
    }
    snprintf(state->stop_message, sizeof state->stop_message, "%s", what);
}

static int raise_stop(lua_State *L, ccl_state *state) {
    if (state->stop_message[0] == '\0') ccl_stop_call(state, state->stopped, L, 0);
    lua_pushstring(L, state->stop_message);
    return lua_error(L);
}

void ccl_budget_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    ccl_state *state = ccl_state_of(L);
    if (state->stopped == CCL_RUNNING) {
        state->instructions_left -= CCL_HOOK_STRIDE;
        if (state->instructions_left <= 0) {
            ccl_stop_call(state, CCL_STOP_INSTRUCTIONS, L, 0);
        } else if (past_deadline(state)) {
            ccl_stop_call(state, CCL_STOP_TIME, L, 0);
        } else {
            return;
        }
    }
    // From now on this thread fails on every instruction, so a policy that catches the
    // error (pcall, a coroutine) cannot make progress: every caller up the chain fails
    // on its next instruction too.
    lua_sethook(L, ccl_budget_hook, LUA_MASKCOUNT, 1);
    raise_stop(L, state);
}

void ccl_check_limits(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    if (state->stopped == CCL_RUNNING) {
        if (!past_deadline(state)) return;
        ccl_stop_call(state, CCL_STOP_TIME, L, 1);
    }
    raise_stop(L, state);
}

void ccl_check_work(lua_State *L, double work) {
    ccl_state *state = ccl_state_of(L);
    if (state->stopped == CCL_RUNNING) {
        state->pending_work += work;
        if (state->pending_work < CCL_WORK_PER_CLOCK_READ) return;
        state->pending_work = 0;
    }
    ccl_check_limits(L);
}

/// True when a limit ended part of this call: a coroutine may have died inside the count
/// hook, with hooks still disabled for its thread.
static int limit_reached(const ccl_state *state) {
    return state->stopped != CCL_RUNNING || state->memory_limit_hit || state->object_limit_hit;
}

// MARK: - xpcall

static int limited_xpcall_finish(lua_State *L, int status, lua_KContext handler) {
    ccl_state *state = ccl_state_of(L);
    if (status == LUA_OK || status == LUA_YIELD) {
        lua_pushboolean(L, 1);
        lua_replace(L, (int)handler);
        return lua_gettop(L) - (int)handler + 1;
    }
    if (state->stopped != CCL_RUNNING) return raise_stop(L, state);
    // The handler runs after unwinding, as an ordinary call the hook counts. Like Lua's
    // own xpcall, an error in the handler is what xpcall reports.
    lua_pushvalue(L, (int)handler);
    lua_insert(L, -2);
    lua_pcall(L, 1, 1, 0);
    if (state->stopped != CCL_RUNNING) return raise_stop(L, state);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

/// xpcall(f, handler, ...) without handing Lua a message handler (see the top of the file).
/// The difference a policy can see: the handler runs after f's frames are gone.
static int limited_xpcall(lua_State *L) {
    int arguments = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    // (f, handler, ...) -> (handler, f, ...)
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_replace(L, 1);
    lua_replace(L, 2);
    int status = lua_pcallk(L, arguments - 2, LUA_MULTRET, 0, 1, limited_xpcall_finish);
    return limited_xpcall_finish(L, status, 1);
}

// MARK: - Coroutines

/// coroutine.resume: a stop inside the coroutine is raised in the resumer at once.
static int limited_resume(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    if (state->stopped != CCL_RUNNING) return raise_stop(L, state);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    if (state->stopped != CCL_RUNNING) return raise_stop(L, state);
    return lua_gettop(L);
}

/// coroutine.close, except for a coroutine that may have died with hooks disabled.
static int limited_close(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    if (state->stopped != CCL_RUNNING) return raise_stop(L, state);
    if (limit_reached(state)) {
        return luaL_error(L, "coroutine.close is not available after the call reached its memory limit");
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/// The function coroutine.wrap returns (after lcorolib.c's auxwrap), which does not close
/// a coroutine a limit stopped.
static int limited_wrapped(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    if (state->stopped != CCL_RUNNING) return raise_stop(L, state);
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int arguments = lua_gettop(L);
    if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) return luaL_error(L, "cannot resume dead coroutine");
    if (!lua_checkstack(co, arguments)) return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, arguments);
    int results = 0;
    int status = lua_resume(co, L, arguments, &results);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (state->stopped != CCL_RUNNING) return raise_stop(L, state);
        if (!lua_checkstack(L, results + 1)) {
            lua_pop(co, results);
            return luaL_error(L, "too many results to resume");
        }
        lua_xmove(co, L, results);
        return results;
    }
    if (state->stopped != CCL_RUNNING) return raise_stop(L, state);
    if (!limit_reached(state)) {
#if LUA_VERSION_RELEASE_NUM >= 50406
        status = lua_closethread(co, L);
#else
        status = lua_resetthread(co);  // close its to-be-closed variables
#endif
    }
    lua_xmove(co, L, 1);
    if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

static int limited_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, limited_wrapped, 1);
    return 1;
}

static void replace_with_closure(lua_State *L, int table, const char *name, lua_CFunction function) {
    lua_getfield(L, table, name);
    lua_pushcclosure(L, function, 1);
    lua_setfield(L, table, name);
}

void ccl_limit_base_functions(lua_State *L, int base) {
    lua_pushcfunction(L, limited_xpcall);
    lua_setfield(L, base, "xpcall");
}

void ccl_limit_coroutine_library(lua_State *L, int library) {
    replace_with_closure(L, library, "resume", limited_resume);
    replace_with_closure(L, library, "close", limited_close);
    lua_pushcfunction(L, limited_wrap);
    lua_setfield(L, library, "wrap");
}

int ccl_is_limited_wrapped(lua_CFunction function) {
    return function == limited_wrapped;
}

void ccl_reserve_bytes(lua_State *L, size_t bytes) {
    ccl_check_work(L, (double)bytes);
    ccl_state *state = ccl_state_of(L);
    if (!state->enforcing) return;
    if (bytes > state->object_limit) {
        state->object_limit_hit = 1;
        luaL_error(L, "a string of %I bytes is larger than one string may be", (LUAI_UACINT)bytes);
    }
    if (state->allocated_in_call + bytes > state->allocation_budget) {
        ccl_stop_call(state, CCL_STOP_ALLOCATION, L, 1);
        raise_stop(L, state);
    }
}

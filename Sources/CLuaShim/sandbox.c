// The sandboxed Lua state: capped allocator, per-call limits (limits.c), per-call
// environment, require limited to registered modules, tables frozen after load (freeze.c),
// and protected entry points for Swift.

#include "ccl_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Allocator

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    ccl_state *state = ud;
    // When ptr is NULL, osize encodes the object type, not a size.
    size_t old_size = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        state->memory_used -= old_size;
        return NULL;
    }
    if (nsize > old_size) {
        if (state->memory_used - old_size + nsize > state->memory_limit) {
            state->memory_limit_hit = 1;
            return NULL;  // Lua runs an emergency collection, then raises a memory error.
        }
        if (!ccl_limits_allow_allocation(state, nsize - old_size, nsize)) return NULL;
    }
    void *grown = realloc(ptr, nsize);
    if (grown == NULL) return NULL;
    state->memory_used = state->memory_used - old_size + nsize;
    return grown;
}

static void ignore_warning(void *ud, const char *message, int tocont) {
    (void)ud; (void)message; (void)tocont;
}

// MARK: - Limits

static void reset_for_call(ccl_state *state) {
    ccl_limits_begin(state);
    state->memory_limit_hit = 0;
    state->result_rejected = 0;
    state->output_length = 0;
    state->printed_length = 0;
    state->message_length = 0;
    state->message[0] = '\0';
}

// MARK: - Messages

static void set_message(ccl_state *state, const char *text, size_t length) {
    if (length >= CCL_MESSAGE_CAPACITY) length = CCL_MESSAGE_CAPACITY - 1;
    memcpy(state->message, text, length);
    state->message[length] = '\0';
    state->message_length = length;
}

/// True when `message` starts with a Lua position such as `policy.lua:12:` or `[string "..."]:1:`.
static int has_position(const char *message) {
    const char *c = message;
    if (strncmp(c, "[string \"", 9) == 0) {
        c = strstr(c, "\"]:");
        if (c == NULL) return 0;
        c += 3;
    } else {
        while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
               *c == '_' || *c == '/' || *c == '.' || *c == '-') c++;
        if (c == message || *c != ':') return 0;
        c++;
    }
    const char *digits = c;
    while (*c >= '0' && *c <= '9') c++;
    return c > digits && *c == ':';
}

/// Message handler for lua_pcall: gives every policy error the file:line of the innermost
/// Lua code on the stack. Lua adds it for errors raised in Lua code, but not for errors
/// raised by C functions called from our guards, nor for non-string error objects.
static int message_handler(lua_State *L) {
    const char *what;
    if (lua_type(L, 1) == LUA_TSTRING) {
        what = lua_tostring(L, 1);
        if (has_position(what)) return 1;
    } else if (ccl_state_of(L)->stopped == CCL_RUNNING && luaL_callmeta(L, 1, "__tostring") &&
               lua_type(L, -1) == LUA_TSTRING) {
        // (Not after a stop: this handler may then run with hooks disabled, see limits.c.)
        what = lua_tostring(L, -1);
    } else {
        what = lua_pushfstring(L, "error object is a %s value", luaL_typename(L, 1));
    }
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, what);
            return 1;
        }
    }
    lua_pushstring(L, what);
    return 1;
}

static ccl_status classify(ccl_state *state, int status) {
    if (status == LUA_OK) return CCL_OK;
    lua_State *L = state->L;
    if (state->stopped != CCL_RUNNING) {
        if (state->stop_message[0] == '\0') ccl_stop_call(state, state->stopped, NULL, 0);
        set_message(state, state->stop_message, strlen(state->stop_message));
        return state->stopped == CCL_STOP_TIME ? CCL_ERR_TIME : state->stopped == CCL_STOP_ALLOCATION ? CCL_ERR_ALLOCATION : CCL_ERR_BUDGET;
    }
    if (state->object_limit_hit) {
        char text[200];
        int n = snprintf(text, sizeof text, "memory limit exceeded: no single string, table or call stack may take "
                                            "more than %zu bytes", state->object_limit);
        set_message(state, text, (size_t)n);
        return CCL_ERR_MEMORY;
    }
    if (status == LUA_ERRMEM || state->memory_limit_hit) {
        char text[160];
        int n = snprintf(text, sizeof text, "memory limit of %zu bytes exceeded", state->memory_limit);
        set_message(state, text, (size_t)n);
        return CCL_ERR_MEMORY;
    }
    size_t length = 0;
    const char *text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &length) : NULL;
    if (text) set_message(state, text, length);
    else set_message(state, "unknown error", 13);
    if (state->result_rejected) return CCL_ERR_RESULT;
    return CCL_ERR_RUNTIME;
}

/// Runs `body` under lua_pcall with the message handler, on a clean stack.
static ccl_status run_protected(ccl_state *state, lua_CFunction body, void *argument) {
    lua_State *L = state->L;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 4)) return CCL_ERR_INTERNAL;
    lua_pushcfunction(L, message_handler);
    lua_pushcfunction(L, body);
    lua_pushlightuserdata(L, argument);
    int status = lua_pcall(L, 1, 0, top + 1);
    ccl_limits_end(state);
    ccl_status result = classify(state, status);
    lua_settop(L, top);
    return result;
}

// MARK: - require

static const ccl_module *find_module(const ccl_state *state, const char *name) {
    for (const ccl_module *module = state->modules; module; module = module->next) {
        if (strcmp(module->name, name) == 0) return module;
    }
    return NULL;
}

/// Module names are identifiers separated by dots; nothing that could name a path.
static int is_valid_module_name(const char *name, size_t length) {
    if (length == 0 || length > 200) return 0;
    int at_segment_start = 1;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        int digit = c >= '0' && c <= '9';
        if (c == '.') {
            if (at_segment_start) return 0;
            at_segment_start = 1;
        } else if (letter || (digit && !at_segment_start)) {
            at_segment_start = 0;
        } else {
            return 0;
        }
    }
    return !at_segment_start;
}

static int loading_sentinel;

static int policy_require(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    size_t length;
    const char *name = luaL_checklstring(L, 1, &length);
    if (!is_valid_module_name(name, length)) {
        return luaL_error(L, "require: '%s' is not a module name; modules are .lua files inside "
                             "the policy folder, named like 'tiers' or 'lib.dates'", name);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->loaded_ref);
    int loaded = lua_gettop(L);
    if (lua_getfield(L, loaded, name) != LUA_TNIL) {
        if (lua_touserdata(L, -1) == &loading_sentinel) {
            return luaL_error(L, "require: module '%s' requires itself (circular require)", name);
        }
        return 1;
    }
    lua_pop(L, 1);
    const ccl_module *module = find_module(state, name);
    if (module == NULL) {
        luaL_Buffer path;
        luaL_buffinit(L, &path);
        for (const char *c = name; *c; c++) luaL_addchar(&path, *c == '.' ? '/' : *c);
        luaL_pushresult(&path);
        return luaL_error(L, "require: module '%s' not found (no %s.lua in the policy folder)",
                          name, lua_tostring(L, -1));
    }
    lua_pushlightuserdata(L, &loading_sentinel);
    lua_setfield(L, loaded, name);

    // "@lib/dates.lua" makes error messages read "lib/dates.lua:12: ...".
    luaL_Buffer chunkname;
    luaL_buffinit(L, &chunkname);
    luaL_addchar(&chunkname, '@');
    for (const char *c = name; *c; c++) luaL_addchar(&chunkname, *c == '.' ? '/' : *c);
    luaL_addstring(&chunkname, ".lua");
    luaL_pushresult(&chunkname);
    // Text only: a binary chunk would bypass the compiler's checks.
    if (luaL_loadbufferx(L, module->source, module->length, lua_tostring(L, -1), "t") != LUA_OK) {
        lua_pushnil(L);
        lua_setfield(L, loaded, name);
        return lua_error(L);
    }
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, loaded, name);
    return 1;
}

// MARK: - Creation

static int open_sandbox(lua_State *L) {
    ccl_state *state = ccl_state_of(L);

    // The base environment: allowed standard functions and read-only library proxies.
    lua_newtable(L);
    int base = lua_gettop(L);
    ccl_open_sandbox_libraries(L, base);
    lua_pushcfunction(L, policy_require);
    lua_setfield(L, base, "require");
    ccl_open_lazy_objects(L, base);
    ccl_open_frozen_views(L, base);

    // frozen: filled by ccl_load_entry with what the entry defined; falls back to base.
    lua_newtable(L);
    int frozen = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, base);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, frozen);

    // call_env: every chunk's _ENV. Reads fall through to frozen; writes land here and are
    // discarded after each call, so no call sees another's globals.
    lua_newtable(L);
    int call_env = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, base);  // while the entry loads, its globals go to call_env directly
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, call_env);

    // Chunks loaded later (require, load) take the registry's globals as their _ENV.
    lua_pushvalue(L, call_env);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);

    lua_pushvalue(L, call_env);
    state->call_env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, frozen);
    state->frozen_env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    state->loaded_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

ccl_state *ccl_new(size_t memory_limit, int64_t instruction_budget, uint64_t time_limit_ns, size_t allocation_budget) {
    ccl_state *state = calloc(1, sizeof *state);
    if (state == NULL) return NULL;
    state->memory_limit = memory_limit;
    state->instruction_budget = instruction_budget > 0 ? instruction_budget : 1;
    state->time_limit_ns = time_limit_ns > 0 ? time_limit_ns : 1;
    state->allocation_budget = allocation_budget;
    state->object_limit = memory_limit / CCL_OBJECT_LIMIT_DIVISOR;
    state->call_env_ref = state->frozen_env_ref = state->loaded_ref = state->keys_ref = LUA_NOREF;
    state->lazy_meta_ref = state->lazy_holder_ref = state->restore_ref = LUA_NOREF;
    lua_State *L = lua_newstate(capped_alloc, state);
    if (L == NULL) {
        free(state);
        return NULL;
    }
    state->L = L;
    *(ccl_state **)lua_getextraspace(L) = state;
    lua_setwarnf(L, ignore_warning, NULL);
    // Every call leaves a few young tables behind (input, result); generational collection
    // reclaims them without re-marking the whole policy each cycle.
    lua_gc(L, LUA_GCGEN, 0, 0);
    reset_for_call(state);
    if (run_protected(state, open_sandbox, NULL) != CCL_OK) {
        ccl_close(state);
        return NULL;
    }
    return state;
}

void ccl_close(ccl_state *state) {
    if (state == NULL) return;
    if (state->L) {
        // Finalizers cannot be installed (setmetatable refuses __gc), so closing runs no
        // policy code; the hook stays on regardless.
        lua_close(state->L);
    }
    ccl_module *module = state->modules;
    while (module) {
        ccl_module *next = module->next;
        free(module->name);
        free(module->source);
        free(module);
        module = next;
    }
    for (int i = 0; i < state->key_count; i++) free(state->key_names[i]);
    free(state->key_names);
    free(state->output);
    ccl_free_recorded_lines(state);
    free(state);
}

int ccl_add_module(ccl_state *state, const char *name, const char *source, size_t length) {
    ccl_module *module = calloc(1, sizeof *module);
    if (module == NULL) return -1;
    module->name = strdup(name);
    module->source = malloc(length ? length : 1);
    if (module->name == NULL || module->source == NULL) {
        free(module->name);
        free(module->source);
        free(module);
        return -1;
    }
    memcpy(module->source, source, length);
    module->length = length;
    module->next = state->modules;
    state->modules = module;
    return 0;
}

// MARK: - Registered keys

struct set_keys_arguments {
    const char *const *keys;
    int count;
};

static int set_keys_body(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    struct set_keys_arguments *arguments = lua_touserdata(L, 1);
    lua_createtable(L, arguments->count, 0);
    for (int i = 0; i < arguments->count; i++) {
        lua_pushstring(L, arguments->keys[i]);
        lua_rawseti(L, -2, i + 1);
    }
    state->keys_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int ccl_set_keys(ccl_state *state, const char *const *keys, int count) {
    if (count < 0 || count > 256 || state->key_names != NULL) return -1;
    state->key_names = calloc((size_t)(count ? count : 1), sizeof(char *));
    if (state->key_names == NULL) return -1;
    for (int i = 0; i < count; i++) {
        state->key_names[i] = strdup(keys[i]);
        if (state->key_names[i] == NULL) return -1;
        state->key_count = i + 1;
    }
    struct set_keys_arguments arguments = {keys, count};
    return run_protected(state, set_keys_body, &arguments) == CCL_OK ? 0 : -1;
}

// MARK: - Loading the entry

static int load_entry_body(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    const char *name = lua_touserdata(L, 1);
    lua_pushcfunction(L, policy_require);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);

    // Seal: frozen becomes the base library plus what the entry defined (which may shadow
    // library names), and call_env's reads go to it. One flat table, so a global read
    // during a call costs one metatable hop, not two.
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->call_env_ref);
    int call_env = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->frozen_env_ref);
    int frozen = lua_gettop(L);
    lua_getmetatable(L, frozen);
    lua_getfield(L, -1, "__index");
    int base = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, base) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, frozen);
    }
    lua_pushnil(L);
    while (lua_next(L, call_env) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, frozen);
    }
    // Clearing while traversing is allowed for existing keys; restart from nil each time.
    lua_pushnil(L);
    while (lua_next(L, call_env) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, call_env);
    }
    lua_getmetatable(L, call_env);
    lua_pushvalue(L, frozen);
    lua_setfield(L, -2, "__index");

    // No memory between calls: every table reachable from what the entry defined and from
    // the modules becomes read-only. The library tables and environments are no such tables.
    lua_createtable(L, 0, 8);
    int skip = lua_gettop(L);
    int skipped[] = {call_env, frozen, base};
    for (int i = 0; i < 3; i++) {
        lua_pushvalue(L, skipped[i]);
        lua_pushboolean(L, 1);
        lua_rawset(L, skip);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->loaded_ref);
    lua_pushvalue(L, -1);
    lua_pushboolean(L, 1);
    lua_rawset(L, skip);
    int loaded = lua_gettop(L);
    lua_createtable(L, 0, 0);
    int roots = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, frozen) != 0) {  // what the entry defined, and the libraries
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, roots);
    }
    lua_pushnil(L);
    while (lua_next(L, loaded) != 0) {  // the modules (require's cache itself stays writable)
        lua_pushboolean(L, 1);
        lua_rawset(L, roots);
    }
    lua_createtable(L, 0, 0);
    int restore = lua_gettop(L);
    ccl_freeze_policy_tables(L, roots, skip, restore);
    state->restore_count = (int)lua_rawlen(L, restore);
    lua_pushvalue(L, restore);
    state->restore_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

ccl_status ccl_load_entry(ccl_state *state, const char *name) {
    // Compiling the modules counts too, and a state is loaded once: a longer time limit, so
    // a busy machine does not fail a load, still bounded so that no load can hang.
    uint64_t call_limit = state->time_limit_ns;
    state->time_limit_ns = call_limit * CCL_LOAD_TIME_FACTOR;
    reset_for_call(state);
    ccl_status status = run_protected(state, load_entry_body, (void *)name);
    state->time_limit_ns = call_limit;
    return status;
}

// MARK: - Hooks

struct find_hook_arguments {
    const char *name;
    int reference;
    int kind;  // 1 function, 0 absent, -1 other
};

static int find_hook_body(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    struct find_hook_arguments *arguments = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->frozen_env_ref);
    lua_pushstring(L, arguments->name);
    int type = lua_rawget(L, -2);  // raw: a hook is what the policy defined, never a library name
    if (type == LUA_TFUNCTION) {
        lua_Debug ar;
        lua_pushvalue(L, -1);
        lua_getinfo(L, ">S", &ar);
        const char *where = lua_pushfstring(L, "%s:%d", ar.short_src, ar.linedefined);
        set_message(state, where, strlen(where));
        lua_pop(L, 1);
        arguments->reference = luaL_ref(L, LUA_REGISTRYINDEX);
        arguments->kind = 1;
    } else if (type == LUA_TNIL) {
        arguments->kind = 0;
    } else {
        const char *what = lua_pushfstring(L, "'%s' is a %s, not a function", arguments->name,
                                           luaL_typename(L, -1));
        set_message(state, what, strlen(what));
        arguments->kind = -1;
    }
    return 0;
}

int ccl_find_hook(ccl_state *state, const char *name, int *reference) {
    reset_for_call(state);
    struct find_hook_arguments arguments = {name, LUA_NOREF, 0};
    if (run_protected(state, find_hook_body, &arguments) != CCL_OK) return -1;
    *reference = arguments.reference;
    return arguments.kind;
}

// MARK: - Calls

struct call_arguments {
    int reference;
    const uint8_t *input;
    size_t input_length;
    const uint8_t *result_fields;
    int result_field_count;
};

static int call_body(lua_State *L) {
    ccl_state *state = ccl_state_of(L);
    struct call_arguments *arguments = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->keys_ref);
    int keys = lua_gettop(L);
    if (lua_rawgeti(L, LUA_REGISTRYINDEX, arguments->reference) != LUA_TFUNCTION) {
        return luaL_error(L, "internal: unknown hook reference");
    }
    if (!ccl_push_decoded(L, arguments->input, arguments->input_length, keys)) {
        return luaL_error(L, "internal: malformed input stream");
    }
    lua_call(L, 1, 1);
    ccl_encode_result_fields(L, state, keys, arguments->result_fields, arguments->result_field_count);
    return 0;
}

/// Forgets the globals the call wrote. Removing existing keys allocates nothing.
static void clear_call_env(ccl_state *state) {
    lua_State *L = state->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->call_env_ref);
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
    }
    lua_pop(L, 1);
}

ccl_status ccl_call(ccl_state *state, int reference, const uint8_t *input, size_t input_length,
                    const uint8_t *result_fields, int result_field_count) {
    reset_for_call(state);
    struct call_arguments arguments = {reference, input, input_length, result_fields, result_field_count};
    ccl_status status = run_protected(state, call_body, &arguments);
    ccl_end_lazy_objects(state);
    clear_call_env(state);
    ccl_restore_upvalues(state);
    return status;
}

// MARK: - Accessors

const uint8_t *ccl_output(const ccl_state *state, size_t *length) {
    *length = state->output_length;
    return state->output;
}

const char *ccl_message(const ccl_state *state, size_t *length) {
    *length = state->message_length;
    return state->message;
}

const char *ccl_printed(const ccl_state *state, size_t *length) {
    *length = state->printed_length;
    return state->printed;
}

size_t ccl_memory_used(const ccl_state *state) {
    return state->memory_used;
}

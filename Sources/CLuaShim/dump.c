// Reading Lua 5.4's binary chunks (lua_dump): what upvalues.c (which module-level locals a
// function writes) and lines.c (which lines carry code) both walk. Lua has no API for
// either, so the dump's layout (lundump.c) is read directly; any surprise sets `failed`
// and the caller falls back (restore every upvalue / no coverage), never guesses.

#include "ccl_internal.h"

#include <stdlib.h>
#include <string.h>

int ccl_dump_collect(lua_State *L, const void *chunk, size_t size, void *data) {
    (void)L;
    ccl_dump_buffer *buffer = data;
    if (buffer->length + size > buffer->capacity) {
        size_t capacity = (buffer->length + size) * 2;
        uint8_t *grown = realloc(buffer->bytes, capacity);
        if (grown == NULL) return 1;
        buffer->bytes = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->length, chunk, size);
    buffer->length += size;
    return 0;
}

int ccl_dump_reader_start(ccl_dump_reader *r, const ccl_dump_buffer *buffer) {
    // Header: signature (4), version, format, LUAC_DATA (6), three sizes, LUAC_INT (8),
    // LUAC_NUM (8), then the count of upvalues of the main function (1).
    const size_t header = 4 + 1 + 1 + 6 + 3 + 8 + 8 + 1;
    *r = (ccl_dump_reader){buffer->bytes, buffer->length, header, 0};
    // Version 5.4, official format, 4-byte instructions.
    int readable = buffer->length > header && buffer->bytes[4] == 0x54 && buffer->bytes[5] == 0 &&
                   buffer->bytes[12] == 4;
    if (!readable) r->failed = 1;
    return readable;
}

size_t ccl_dump_size(ccl_dump_reader *r) {
    size_t value = 0;
    for (int i = 0; i < 10; i++) {
        if (r->at >= r->length) break;
        uint8_t byte = r->bytes[r->at++];
        value = (value << 7) | (byte & 0x7f);
        if (byte & 0x80) return value;
    }
    r->failed = 1;
    return 0;
}

void ccl_dump_skip(ccl_dump_reader *r, size_t count) {
    if (r->failed || count > r->length - r->at) r->failed = 1;
    else r->at += count;
}

void ccl_dump_skip_string(ccl_dump_reader *r) {
    size_t size = ccl_dump_size(r);
    if (size > 0) ccl_dump_skip(r, size - 1);
}

void ccl_dump_skip_constants(ccl_dump_reader *r) {
    size_t constants = ccl_dump_size(r);
    for (size_t i = 0; i < constants && !r->failed; i++) {
        ccl_dump_skip(r, 1);
        if (r->failed) return;
        switch (r->bytes[r->at - 1]) {
        case 0x03: case 0x13: ccl_dump_skip(r, 8); break;  // integer, float
        case 0x04: case 0x14: ccl_dump_skip_string(r); break;  // short, long string
        default: break;  // nil, false, true
        }
    }
}

void ccl_dump_skip_locals_and_names(ccl_dump_reader *r) {
    size_t locals = ccl_dump_size(r);
    for (size_t i = 0; i < locals && !r->failed; i++) {
        ccl_dump_skip_string(r);
        ccl_dump_size(r);
        ccl_dump_size(r);
    }
    size_t names = ccl_dump_size(r);
    for (size_t i = 0; i < names && !r->failed; i++) ccl_dump_skip_string(r);
}

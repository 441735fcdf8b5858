// BPF_MAP_TYPE_STACK_TRACE (kernel/bpf/stackmap.c): stacks stored by bpf_get_stackid, keyed by
// a u32 stack id. The value is an array of u64 instruction pointers (value_size / 8 of them,
// unused entries zero), or with BPF_F_STACK_BUILD_ID an array of struct bpf_stack_build_id.
// The map has max_entries buckets rounded up to a power of two; a stack's id is its jhash2 over
// the ips masked to the bucket count, exactly as Linux computes it, so a bucket holds one stack
// and a different stack with the same id is a collision (-EEXIST unless BPF_F_REUSE_STACKID).
//
// User space (the Map interface): lookup_copy copies the stack (ENOENT for an empty or
// out-of-range id), delete_copy empties a bucket (E2BIG for an id past the buckets, ENOENT for
// an empty one), get_next_key walks the used buckets, update_copy is EINVAL. Programs do not
// look up, update or delete a stack_trace map: Linux's verifier allows only bpf_get_stackid on
// it; Map::lookup answers nullptr (Linux's stack_map_lookup_elem returns ERR_PTR(-EOPNOTSUPP)).
#pragma once

#include <cstdint>
#include <span>

#include "userbpf/map.hpp"

namespace userbpf::maps {

// sysctl kernel.perf_event_max_stack of this host (Linux's default PERF_MAX_STACK_DEPTH, 127,
// when it cannot be read): the deepest stack a map value or bpf_get_stack buffer may hold.
uint32_t perf_event_max_stack();

// Linux's stack_map_calculate_max_depth: the frames to collect for a buffer of `size` bytes of
// `elem_size`-byte entries with the skip count in `flags` (BPF_F_SKIP_FIELD_MASK), capped at
// perf_event_max_stack().
uint32_t stack_max_depth(uint32_t size, uint32_t elem_size, uint64_t flags);

// bpf_get_stackid's map half: stores `trace` (the whole collected stack, innermost first; the
// skip count in `flags` is applied here) and returns the stack id, or -EFAULT when the trace has
// no frame past the skipped ones, -EEXIST on a bucket holding another stack without
// BPF_F_REUSE_STACKID, -ENOMEM when every element is in use, -EINVAL for a map of another type.
// BPF_F_FAST_STACK_CMP: a bucket with the same hash counts as the same stack. Build-id maps
// store each ip as a bpf_stack_build_id entry with status BPF_STACK_BUILD_ID_IP (Linux's
// per-entry fallback when it cannot resolve the build id; userbpf does not resolve them yet).
long stack_trace_get_id(Map& map, std::span<const uint64_t> trace, uint64_t flags);

}  // namespace userbpf::maps

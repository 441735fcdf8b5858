/* The native twins of the benchmark suite's eBPF programs (native_twins.c): the same C, compiled
 * for the host. Callable from C++. */
#ifndef USERBPF_BENCH_SUITE_NATIVE_TWINS_H
#define USERBPF_BENCH_SUITE_NATIVE_TWINS_H

#include <linux/types.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Each runs the program once on the frame [data, end) and returns its r0. */
typedef __u32 (*suite_native_fn)(__u8* data, __u8* end);

__u32 suite_native_prime_count(__u8* data, __u8* end);
__u32 suite_native_packet_hash(__u8* data, __u8* end);
__u32 suite_native_byte_reverse(__u8* data, __u8* end);
__u32 suite_native_state_machine(__u8* data, __u8* end);
__u32 suite_native_log2_array(__u8* data, __u8* end);
__u32 suite_native_call_chain(__u8* data, __u8* end);
__u32 suite_native_array_map_loop(__u8* data, __u8* end);
__u32 suite_native_hash_map_loop(__u8* data, __u8* end);
__u32 suite_native_packet_parser(__u8* data, __u8* end);

/* The map programs' twins against userbpf's own maps (native_twins_maps.c, shared_maps.h). */
__u32 suite_native_maps_array_map_loop(__u8* data, __u8* end);
__u32 suite_native_maps_hash_map_loop(__u8* data, __u8* end);
__u32 suite_native_maps_packet_parser(__u8* data, __u8* end);

/* The native stand-ins of the programs' maps. */
enum suite_native_map {
  SUITE_NATIVE_ARRAY, /* array_map_loop's suite_array */
  SUITE_NATIVE_HASH,  /* hash_map_loop's suite_hash */
  SUITE_NATIVE_PORTS, /* packet_parser's port_counts */
};

/* Empties every native map (arrays to zero, tables to no entries). */
void suite_native_reset(void);

/* Writes up to `capacity` (key, value) entries of `map` and returns how many it holds. */
size_t suite_native_map_entries(enum suite_native_map map, __u64* keys, __u64* values,
                                size_t capacity);

#ifdef __cplusplus
}
#endif

#endif

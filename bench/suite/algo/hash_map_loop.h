/* Hash map lookup/update loop: 512 keys (16-bit words of the data area, masked to 10 bits), each
 * looked up in a hash map and written back incremented (inserted on a miss). In eBPF a Linux
 * hash map; natively the small open-addressing table of native/suite_table.h. */
#ifndef USERBPF_BENCH_SUITE_HASH_MAP_LOOP_H
#define USERBPF_BENCH_SUITE_HASH_MAP_LOOP_H

#include "suite_env.h"

#define SUITE_HASH_ENTRIES 1024
#define SUITE_HASH_ROUNDS 512

#if SUITE_BPF
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SUITE_HASH_ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} suite_hash SEC(".maps");

SUITE_INLINE __u64* suite_hash_lookup(__u32 key) {
  return bpf_map_lookup_elem(&suite_hash, &key);
}
SUITE_INLINE long suite_hash_update(__u32 key, __u64 value) {
  return bpf_map_update_elem(&suite_hash, &key, &value, BPF_ANY);
}
#elif SUITE_SHARED_MAPS
#include "native/shared_maps.h"
SUITE_INLINE __u64* suite_hash_lookup(__u32 key) {
  return (__u64*)suite_shared_lookup(SUITE_NATIVE_HASH, &key);
}
SUITE_INLINE long suite_hash_update(__u32 key, __u64 value) {
  return suite_shared_update(SUITE_NATIVE_HASH, &key, &value, 0 /* BPF_ANY */);
}
#else
#include "native/suite_table.h"
static struct suite_table_slot suite_native_hash_slots[2 * SUITE_HASH_ENTRIES];
static struct suite_table suite_native_hash = {SUITE_HASH_ENTRIES, 0, 2 * SUITE_HASH_ENTRIES - 1,
                                               suite_native_hash_slots};

SUITE_INLINE __u64* suite_hash_lookup(__u32 key) {
  return suite_table_lookup(&suite_native_hash, key);
}
SUITE_INLINE long suite_hash_update(__u32 key, __u64 value) {
  return suite_table_update(&suite_native_hash, key, value);
}
#endif

SUITE_INLINE __u32 suite_hash_map_loop(const __u8* data, const __u8* end) {
  const __u8* area = data + SUITE_OFF_DATA;
  if (area + 2 * SUITE_HASH_ROUNDS > end) return 0;
  __u32 hits = 0;
  for (__u32 i = 0; i < SUITE_HASH_ROUNDS; i++) {
    const __u32 key = (area[2 * i] | (__u32)area[2 * i + 1] << 8) & (SUITE_HASH_ENTRIES - 1);
    const __u64* value = suite_hash_lookup(key);
    if (value) hits++;
    suite_hash_update(key, (value ? *value : 0) + 1);
  }
  return hits;
}

#endif

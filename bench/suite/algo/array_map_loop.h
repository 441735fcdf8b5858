/* Array map lookup/update loop: for each of 512 data bytes, look the byte up in a 256-entry
 * array map, add to its value and write it back with an update. In eBPF a Linux array map;
 * natively a plain array with the same out-of-range answers (NULL, -E2BIG). */
#ifndef USERBPF_BENCH_SUITE_ARRAY_MAP_LOOP_H
#define USERBPF_BENCH_SUITE_ARRAY_MAP_LOOP_H

#include "suite_env.h"

#define SUITE_ARRAY_ENTRIES 256
#define SUITE_ARRAY_ROUNDS 512

#if SUITE_BPF
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SUITE_ARRAY_ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} suite_array SEC(".maps");

SUITE_INLINE __u64* suite_array_lookup(__u32 key) {
  return bpf_map_lookup_elem(&suite_array, &key);
}
SUITE_INLINE long suite_array_update(__u32 key, __u64 value) {
  return bpf_map_update_elem(&suite_array, &key, &value, BPF_ANY);
}
#elif SUITE_SHARED_MAPS
#include "native/shared_maps.h"
/* userbpf's array map keeps its values in one plain array, which the JIT indexes inline. */
SUITE_INLINE __u64* suite_array_lookup(__u32 key) {
  return key < SUITE_ARRAY_ENTRIES ? &suite_shared_maps[SUITE_NATIVE_ARRAY].values[key] : NULL;
}
SUITE_INLINE long suite_array_update(__u32 key, __u64 value) {
  if (key >= SUITE_ARRAY_ENTRIES) return -7; /* -E2BIG */
  suite_shared_maps[SUITE_NATIVE_ARRAY].values[key] = value;
  return 0;
}
#else
static __u64 suite_native_array[SUITE_ARRAY_ENTRIES];

SUITE_INLINE __u64* suite_array_lookup(__u32 key) {
  return key < SUITE_ARRAY_ENTRIES ? &suite_native_array[key] : NULL;
}
SUITE_INLINE long suite_array_update(__u32 key, __u64 value) {
  if (key >= SUITE_ARRAY_ENTRIES) return -7; /* -E2BIG, as Linux's array_map_update_elem */
  suite_native_array[key] = value;
  return 0;
}
#endif

SUITE_INLINE __u32 suite_array_map_loop(const __u8* data, const __u8* end) {
  const __u8* area = data + SUITE_OFF_DATA;
  if (area + SUITE_ARRAY_ROUNDS > end) return 0;
  __u64 sum = 0;
  for (__u32 i = 0; i < SUITE_ARRAY_ROUNDS; i++) {
    const __u32 key = area[i];
    const __u64* value = suite_array_lookup(key);
    const __u64 next = (value ? *value : 0) + i + 1;
    suite_array_update(key, next);
    sum += next;
  }
  return (__u32)(sum ^ (sum >> 32));
}

#endif

/* The maps of the native twins built against userbpf's own maps (native_twins_maps.c): the
 * harness (engine_native.cpp) creates each map with the eBPF program's definition and fills in its
 * program entries (maps/program_entries.hpp), the functions the JIT calls directly; array maps
 * give their values' address instead, as the JIT indexes them inline. The twins then differ from
 * the eBPF programs only in the compiler: clang -O2 for the host against userbpf's JIT. */
#ifndef USERBPF_BENCH_SUITE_SHARED_MAPS_H
#define USERBPF_BENCH_SUITE_SHARED_MAPS_H

#include <linux/types.h>

#include "native/native_twins.h"

#ifdef __cplusplus
extern "C" {
#endif

struct suite_shared_map {
  void* object;                                   /* the entries' first argument */
  void* (*lookup)(void* object, const void* key); /* hash maps */
  /* unsigned long: uint64_t on the LP64 hosts, so the entries fit without a cast */
  long (*update)(void* object, const void* key, const void* value, unsigned long flags);
  __u64* values; /* array maps: value k at values[k] */
};

/* By enum suite_native_map. */
extern struct suite_shared_map suite_shared_maps[3];

#ifdef __cplusplus
}
#endif

static inline void* suite_shared_lookup(enum suite_native_map map, const void* key) {
  return suite_shared_maps[map].lookup(suite_shared_maps[map].object, key);
}

static inline long suite_shared_update(enum suite_native_map map, const void* key,
                                       const void* value, unsigned long flags) {
  return suite_shared_maps[map].update(suite_shared_maps[map].object, key, value, flags);
}

#endif

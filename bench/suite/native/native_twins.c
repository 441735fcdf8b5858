/* The native twins: the suite's algorithms (the headers in algo/) compiled for the host from the
 * same C as the eBPF programs in progs/, with clang -O2 (bench/CMakeLists.txt). Each twin takes the
 * frame as [data, end) like the XDP program and returns what the program returns in r0. The map
 * programs' native state (a plain array, small open-addressing tables) lives here, with a reset
 * and a read-out for comparing it with the maps of the other engines. */
#include "native/native_twins.h"

#include "algo/array_map_loop.h"
#include "algo/byte_reverse.h"
#include "algo/call_chain.h"
#include "algo/hash_map_loop.h"
#include "algo/log2_array.h"
#include "algo/packet_hash.h"
#include "algo/packet_parser.h"
#include "algo/prime_count.h"
#include "algo/state_machine.h"

#define SUITE_TWIN(name)                                                       \
  __attribute__((noinline)) __u32 suite_native_##name(__u8* data, __u8* end) { \
    return suite_##name(data, end);                                            \
  }

SUITE_TWIN(prime_count)
SUITE_TWIN(packet_hash)
SUITE_TWIN(byte_reverse)
SUITE_TWIN(state_machine)
SUITE_TWIN(log2_array)
SUITE_TWIN(call_chain)
SUITE_TWIN(array_map_loop)
SUITE_TWIN(hash_map_loop)
SUITE_TWIN(packet_parser)

void suite_native_reset(void) {
  for (__u32 i = 0; i < SUITE_ARRAY_ENTRIES; i++) suite_native_array[i] = 0;
  suite_table_clear(&suite_native_hash);
  suite_table_clear(&suite_native_ports);
}

static size_t suite_table_entries(const struct suite_table* t, __u64* keys, __u64* values,
                                  size_t capacity) {
  size_t n = 0;
  for (__u32 i = 0; i <= t->mask; i++) {
    if (!t->slots[i].used) continue;
    if (n < capacity) {
      keys[n] = t->slots[i].key;
      values[n] = t->slots[i].value;
    }
    n++;
  }
  return n;
}

size_t suite_native_map_entries(enum suite_native_map map, __u64* keys, __u64* values,
                                size_t capacity) {
  switch (map) {
    case SUITE_NATIVE_ARRAY: {
      size_t n = 0;
      for (__u32 i = 0; i < SUITE_ARRAY_ENTRIES; i++, n++) {
        if (n < capacity) {
          keys[n] = i;
          values[n] = suite_native_array[i];
        }
      }
      return n;
    }
    case SUITE_NATIVE_HASH: return suite_table_entries(&suite_native_hash, keys, values, capacity);
    case SUITE_NATIVE_PORTS:
      return suite_table_entries(&suite_native_ports, keys, values, capacity);
  }
  return 0;
}

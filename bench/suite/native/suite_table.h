/* The native twins' stand-in for a Linux hash map (u32 key -> u64 value): open addressing with
 * linear probing in a power-of-two slot array twice the map's max_entries, so probes stay short.
 * Inserting past max_entries fails with -E2BIG, as a full Linux hash map does. No deletion (the
 * suite's programs never delete). */
#ifndef USERBPF_BENCH_SUITE_TABLE_H
#define USERBPF_BENCH_SUITE_TABLE_H

#include <linux/types.h>
#include <stddef.h>

struct suite_table_slot {
  __u32 used;
  __u32 key;
  __u64 value;
};

struct suite_table {
  __u32 max_entries;
  __u32 count;
  __u32 mask; /* slots - 1 */
  struct suite_table_slot* slots;
};

static inline __u32 suite_table_home(const struct suite_table* t, __u32 key) {
  return ((key * 0x9e3779b1u) >> 16) & t->mask; /* the product's high bits mix best */
}

static inline __u64* suite_table_lookup(struct suite_table* t, __u32 key) {
  for (__u32 i = suite_table_home(t, key);; i = (i + 1) & t->mask) {
    struct suite_table_slot* slot = &t->slots[i];
    if (!slot->used) return NULL;
    if (slot->key == key) return &slot->value;
  }
}

static inline long suite_table_update(struct suite_table* t, __u32 key, __u64 value) {
  for (__u32 i = suite_table_home(t, key);; i = (i + 1) & t->mask) {
    struct suite_table_slot* slot = &t->slots[i];
    if (slot->used && slot->key == key) {
      slot->value = value;
      return 0;
    }
    if (!slot->used) {
      if (t->count >= t->max_entries) return -7; /* -E2BIG */
      slot->used = 1;
      slot->key = key;
      slot->value = value;
      t->count++;
      return 0;
    }
  }
}

static inline void suite_table_clear(struct suite_table* t) {
  for (__u32 i = 0; i <= t->mask; i++) t->slots[i].used = 0;
  t->count = 0;
}

#endif

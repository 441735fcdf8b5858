// Plain-function entry points to a map's program-side operations, for engines that call them
// straight from machine code where the verifier proved which map a helper call uses (the JIT's
// CompileOptions::direct_maps). Each entry takes the map (its Map*, as void*) and does exactly
// what the virtual Map::lookup / update / erase do on it, without virtual dispatch and without
// the generic helper's argument checks, which only checked runs need (and those never execute
// machine code). A map type may specialise its entries, e.g. by key size.
#pragma once

#include <cstdint>

#include "base/writer_token.hpp"
#include "userbpf/map.hpp"

namespace userbpf::maps {

// How lookup_value finds a 4- or 8-byte key, for engines that emit the lookup themselves (the
// JIT) rather than call it. Followed step by step, it answers what lookup_value answers, except
// where a bucket has more elements on its list: there the engine calls lookup_value.
struct HashLookupLayout {
  // The key's hash: (uint32_t)(lo ^ hi), where hi:lo is the 128-bit product of
  // (key zero-extended to 64 bits) ^ hash_xor and hash_multiplier.
  uint64_t hash_xor = 0;
  uint64_t hash_multiplier = 0;
  // The key's bucket: buckets + (hash & bucket_mask) << bucket_shift. It holds `slots` u32 tags
  // (a hash per slot) at tag_offset and as many u32 element indexes at slot_offset; an index at
  // or above `capacity` is no element. Tags are hints: a slot is only a candidate.
  uint8_t* buckets = nullptr;  // null: no layout, call lookup_value
  uint32_t bucket_mask = 0;
  uint32_t bucket_shift = 0;
  uint32_t slots = 0;
  uint32_t tag_offset = 0;
  uint32_t slot_offset = 0;
  // The bucket has no other elements when the u32 at overflow_offset is empty_list_bit | the
  // bucket's index; otherwise the key may be on its list.
  uint32_t overflow_offset = 0;
  uint32_t empty_list_bit = 0;
  // Element `index` is at elements + index * element_size. It holds the key when the u32 at
  // seq_offset is even, the key_size bytes at key_offset equal the key, and seq_offset still
  // reads the same after the key was read (a writer changes it around every rewrite). The
  // lookup's answer is then the element's address + value_offset.
  uint8_t* elements = nullptr;
  uint32_t element_size = 0;
  uint32_t capacity = 0;
  uint32_t seq_offset = 0;
  uint32_t key_offset = 0;
  uint32_t value_offset = 0;
  // LRU maps: a found element's u32 at reference_offset is set to 1 when it reads 0 (-1: none).
  int32_t reference_offset = -1;
  // update_value with BPF_ANY or BPF_EXIST of a key whose element is in the bucket's slots
  // copies the value over the element's value while holding the bucket's lock, the u32 at
  // lock_offset (taken by exchanging 1 into it until it was 0, released by storing 0), and
  // answers 0; any other update takes the lock itself. -1: updates are not described.
  int32_t lock_offset = -1;
  // With lock_offset: the map's writer token (base/writer_token.hpp). While a run holds it, an
  // update found in the slots stores the value without the bucket lock; null: always the lock.
  base::WriterToken* writer_token = nullptr;
};

struct ProgramEntries {
  void* (*lookup)(void* map, const void* key) = nullptr;  // Map::lookup
  // Map::update and Map::erase, their int result sign-extended.
  int64_t (*update)(void* map, const void* key, const void* value, uint64_t flags) = nullptr;
  int64_t (*erase)(void* map, const void* key) = nullptr;
  // For 4- and 8-byte keys (key_size), lookup and update taking the key's value instead of its
  // address (a u32 key in the low half): the JIT passes the register the program just stored
  // the key from, so the entry does not wait for the store to reach memory. Null otherwise.
  uint32_t key_size = 0;
  void* (*lookup_value)(void* map, uint64_t key) = nullptr;
  int64_t (*update_value)(void* map, uint64_t key, const void* value, uint64_t flags) = nullptr;
  // Where lookup_value is offered and answers from one bucket (not per-CPU).
  HashLookupLayout lookup_layout;
};

// The entries `map` offers (all null when its type has none: use the virtual interface).
ProgramEntries program_entries(Map& map);

// The hash family's (hash, per-CPU hash, LRU hash, LRU per-CPU hash), in hash_map.cpp; all null
// for a map that is not one of its instances.
ProgramEntries hash_program_entries(Map& map);

}  // namespace userbpf::maps

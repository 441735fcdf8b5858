// Plain-function entry points to a map's program-side operations, for engines that call them
// straight from machine code where the verifier proved which map a helper call uses (the JIT's
// CompileOptions::direct_maps). Each entry takes the map (its Map*, as void*) and does exactly
// what the virtual Map::lookup / update / erase do on it, without virtual dispatch and without
// the generic helper's argument checks, which only checked runs need (and those never execute
// machine code). A map type may specialise its entries, e.g. by key size.
#pragma once

#include <cstdint>

#include "userbpf/map.hpp"

namespace userbpf::maps {

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
};

// The entries `map` offers (all null when its type has none: use the virtual interface).
ProgramEntries program_entries(Map& map);

// The hash family's (hash, per-CPU hash, LRU hash, LRU per-CPU hash), in hash_map.cpp; all null
// for a map that is not one of its instances.
ProgramEntries hash_program_entries(Map& map);

}  // namespace userbpf::maps

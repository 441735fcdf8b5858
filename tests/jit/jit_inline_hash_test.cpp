// The JIT's in-place hash map lookup (DirectMapCall::inline_lookup, emit_inline_hash.cpp) on
// real maps described by the maps layer (runtime::direct_map_call): it must find every key the
// map holds and miss every other, in crowded buckets whose later elements are on the overflow
// list (only those lookups may call the map's entry), after deletes, for 4- and 8-byte keys
// passed in a register or through the stack, for maps mapped above 2 GiB, and beside writers
// that churn the same buckets.
#include <linux/bpf.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/writer_token.hpp"
#include "helpers/linux_helpers.hpp"
#include "jit_test_util.hpp"
#include "maps/program_entries.hpp"
#include "runtime/jit_options.hpp"
#include "userbpf/map.hpp"

namespace userbpf::jit::testing {
namespace {

constexpr uint64_t kMiss = ~uint64_t{0};

maps::MapSpec hash_spec(uint32_t type, uint32_t key_size, uint32_t max_entries) {
  maps::MapSpec spec;
  spec.type = type;
  spec.key_size = key_size;
  spec.value_size = 8;
  spec.max_entries = max_entries;
  spec.name = "inline_hash";
  return spec;
}

// The key's bucket as the description defines it.
uint32_t bucket_of(const HashLookup& l, uint64_t key) {
  return described_hash(l, key) & l.bucket_mask;
}

// Two 8-byte keys with the same 32-bit hash (the same tag in the same bucket). Random keys, as
// the birthday bound on 32 bits needs (consecutive ones hash almost without collisions): about
// 29 pairs are expected among 500,000, none with probability e^-29.
std::pair<uint64_t, uint64_t> same_hash_pair(const HashLookup& l) {
  std::unordered_map<uint32_t, uint64_t> seen;
  seen.reserve(500000);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 500000; ++i) {
    const uint64_t k = rng();
    const auto [it, fresh] = seen.emplace(described_hash(l, k), k);
    if (!fresh && it->second != k) return {it->second, k};
  }
  ADD_FAILURE() << "no two keys with the same hash";
  return {0, 0};
}

// The writers' lock word of bucket `b`.
std::atomic<uint32_t>& bucket_lock(const HashLookup& l, uint64_t b) {
  return *reinterpret_cast<std::atomic<uint32_t>*>(l.buckets + (b << l.bucket_shift) +
                                                   l.lock_offset);
}
bool all_unlocked(const HashLookup& l) {
  for (uint64_t b = 0; b <= l.bucket_mask; ++b)
    if (bucket_lock(l, b).load() != 0) return false;
  return true;
}

// The by-value entry, counted: the JIT calls it only for a bucket with an overflow list.
void* (*g_lookup_value)(void*, uint64_t) = nullptr;
int g_entry_calls = 0;
void* counted_lookup_value(void* map, uint64_t key) {
  ++g_entry_calls;
  return g_lookup_value(map, key);
}

int64_t (*g_update_value)(void*, uint64_t, const void*, uint64_t) = nullptr;
int64_t counted_update_value(void* map, uint64_t key, const void* value, uint64_t flags) {
  ++g_entry_calls;
  return g_update_value(map, key, value, flags);
}

// The by-pointer entries, counted too: an update or lookup left to an entry always counts.
void* (*g_lookup)(void*, const void*) = nullptr;
int64_t (*g_update)(void*, const void*, const void*, uint64_t) = nullptr;
void* counted_lookup(void* map, const void* key) {
  ++g_entry_calls;
  return g_lookup(map, key);
}
int64_t counted_update(void* map, const void* key, const void* value, uint64_t flags) {
  ++g_entry_calls;
  return g_update(map, key, value, flags);
}

vm::HelperTable map_helpers() {
  vm::HelperTable t;
  for (int id : {BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem})
    t.set(id, *helpers::linux_helpers().find(id));
  return t;
}

// How lookup_program tests the lookup's result: `if r0 == 0 goto miss` right after the call (the
// JIT folds it into the lookup), `if r0 != 0 goto hit`, or after another instruction.
enum class NullTest { jump_on_null, jump_on_hit, later };
NullTest g_null_test = NullTest::jump_on_null;

// r0 = *bpf_map_lookup_elem(map, &key), or kMiss. The key at fp-8, stored from r6 (the JIT
// then takes it from r6, with junk above a u32 key) or as immediates (read through r2).
std::vector<RawInsn> lookup_program(uint64_t handle, uint32_t key_size, uint64_t key,
                                    bool from_register) {
  Builder p;
  if (from_register) {
    p.lddw(6, key_size == 4 ? (key & 0xffffffffull) | 0x5a5a'0000'0000'0000ull : key);
    p.stx(key_size == 4 ? BPF_W : BPF_DW, 10, 6, -8);
  } else {
    p.st(BPF_W, 10, -8, static_cast<int32_t>(key));
    if (key_size == 8) p.st(BPF_W, 10, -4, static_cast<int32_t>(key >> 32));
  }
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
  p.call_helper(BPF_FUNC_map_lookup_elem);
  switch (g_null_test) {
    case NullTest::jump_on_null:
      p.jmp_imm(BPF_JEQ, 0, 0, "miss").ldx(BPF_DW, 0, 0, 0).exit();
      p.label("miss").lddw(0, kMiss).exit();
      break;
    case NullTest::jump_on_hit:
      p.jmp_imm(BPF_JNE, 0, 0, "hit").lddw(0, kMiss).exit();
      p.label("hit").ldx(BPF_DW, 0, 0, 0).exit();
      break;
    case NullTest::later:
      p.mov64_reg(7, 0).jmp_imm(BPF_JEQ, 7, 0, "miss").ldx(BPF_DW, 0, 7, 0).exit();
      p.label("miss").lddw(0, kMiss).exit();
      break;
  }
  return p.finish();
}

uint32_t call_index(const std::vector<RawInsn>& code) {
  for (size_t i = 0; i < code.size(); ++i)
    if (code[i].code == (BPF_JMP | BPF_CALL)) return static_cast<uint32_t>(i);
  return UINT32_MAX;
}

// The options the runtime gives a program whose every helper call uses `map` (entries not
// counted).
CompileOptions options_for_every_call(maps::Map& map, const std::vector<RawInsn>& code) {
  CompileOptions options;
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i].code != (BPF_JMP | BPF_CALL)) continue;
    auto direct = runtime::direct_map_call(map, static_cast<uint32_t>(i));
    EXPECT_TRUE(direct.has_value());
    if (direct) options.direct_maps.push_back(*direct);
  }
  return options;
}

// The options the runtime gives a program whose lookup at `insn` is of `map`, the by-value
// entry replaced by the counted one.
CompileOptions options_for(maps::Map& map, uint32_t insn) {
  auto direct = runtime::direct_map_call(map, insn);
  EXPECT_TRUE(direct.has_value());
  CompileOptions options;
  if (!direct) return options;
  EXPECT_NE(direct->inline_lookup.buckets, nullptr) << "no lookup description";
  g_lookup_value = direct->lookup_value;
  direct->lookup_value = &counted_lookup_value;
  g_update_value = direct->update_value;
  if (direct->update_value != nullptr) direct->update_value = &counted_update_value;
  g_lookup = direct->lookup;
  direct->lookup = &counted_lookup;
  g_update = direct->update;
  direct->update = &counted_update;
  options.direct_maps.push_back(*direct);
  return options;
}

// The JIT's lookup of `key` (kMiss or the value) and how many times it called the entry.
struct Lookup {
  uint64_t r0;
  int entry_calls;
};
Lookup jit_lookup(maps::Map& map, uint64_t key, bool from_register) {
  const auto code =
      lookup_program(reinterpret_cast<uint64_t>(&map), map.spec().key_size, key, from_register);
  const CompileOptions options = options_for(map, call_index(code));
  g_entry_calls = 0;
  const EngineResult r = run_engine(code, true, {}, map_helpers(), nullptr, options);
  EXPECT_TRUE(r.ok) << r.error.to_string();
  return {r.r0, g_entry_calls};
}

// Every key's bytes and value bytes, ordered.
std::map<std::vector<uint8_t>, std::vector<uint8_t>> contents(maps::Map& map) {
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> out;
  std::vector<uint8_t> key(map.spec().key_size), next(map.spec().key_size);
  for (bool first = true; map.get_next_key(first ? nullptr : key.data(), next.data()) == 0;
       first = false) {
    std::vector<uint8_t> value(map.user_value_size());
    EXPECT_EQ(map.lookup_copy(next.data(), value.data()), 0);
    out[next] = value;
    key = next;
    if (out.size() > map.spec().max_entries) break;  // a broken iteration: stop
  }
  return out;
}

uint64_t value_of(uint64_t key) {
  return key * 3 + 1;
}

void insert(maps::Map& map, uint64_t key) {
  const uint64_t value = value_of(key);
  ASSERT_EQ(map.update(&key, &value, BPF_NOEXIST), 0) << key;  // the low bytes for a u32 key
}

// Twelve keys in bucket 0 (seven slots, then five on its overflow list) and keys of other
// buckets, at most three to a bucket: each found with its value, without calling the entry
// unless it is on the list; absent keys of bucket 0 ask the list (the entry), others miss at
// once. Deleted keys miss, their slots are reused.
TEST(JitInlineHash, FindsEveryKeyOfCrowdedBuckets) {
  for (NullTest form : {NullTest::jump_on_null, NullTest::jump_on_hit, NullTest::later})
    for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH})
      for (uint32_t key_size : {4u, 8u})
        for (bool from_register : {false, true}) {
          SCOPED_TRACE("type " + std::to_string(type) + " key size " + std::to_string(key_size) +
                       (from_register ? ", key in a register" : ", key through r2") +
                       ", null test form " + std::to_string(static_cast<int>(form)));
          g_null_test = form;
          auto created = maps::create_map(hash_spec(type, key_size, 64));
          ASSERT_TRUE(created.ok());
          maps::Map& map = **created;
          const HashLookup layout = runtime::direct_map_call(map, 0)->inline_lookup;
          ASSERT_EQ(layout.bucket_mask, 15u);
          const uint64_t high = key_size == 8 ? uint64_t{0x7700'0000} << 32 : 0;
          std::vector<uint64_t> crowded, spread, absent_crowded, absent_spread;
          std::map<uint32_t, int> per_bucket;
          for (uint64_t k = high; crowded.size() + absent_crowded.size() < 16 ||
                                  spread.size() < 20 || absent_spread.size() < 8;
               ++k) {
            const uint32_t b = bucket_of(layout, k);
            if (b == 0) {
              (crowded.size() < 12 ? crowded : absent_crowded).push_back(k);
            } else if (spread.size() < 20 && per_bucket[b] < 3) {
              ++per_bucket[b];
              spread.push_back(k);
            } else if (absent_spread.size() < 8) {
              absent_spread.push_back(k);
            }
          }
          for (uint64_t k : crowded) insert(map, k);
          for (uint64_t k : spread) insert(map, k);
          for (size_t i = 0; i < crowded.size(); ++i) {
            const Lookup l = jit_lookup(map, crowded[i], from_register);
            EXPECT_EQ(l.r0, value_of(crowded[i])) << "crowded key " << i;
            EXPECT_EQ(l.entry_calls, i < 7 ? 0 : 1) << "crowded key " << i;
          }
          for (uint64_t k : spread) {
            const Lookup l = jit_lookup(map, k, from_register);
            EXPECT_EQ(l.r0, value_of(k)) << k;
            EXPECT_EQ(l.entry_calls, 0) << k;
          }
          for (uint64_t k : absent_crowded) {
            const Lookup l = jit_lookup(map, k, from_register);
            EXPECT_EQ(l.r0, kMiss) << k;
            EXPECT_EQ(l.entry_calls, 1) << k;
          }
          for (uint64_t k : absent_spread) {
            const Lookup l = jit_lookup(map, k, from_register);
            EXPECT_EQ(l.r0, kMiss) << k;
            EXPECT_EQ(l.entry_calls, 0) << k;
          }
          // Three slot keys deleted: they miss; the list keys are still found; a new key takes a
          // freed slot and is found there, without the entry.
          for (size_t i : {0u, 3u, 6u}) ASSERT_EQ(map.erase(&crowded[i]), 0);
          for (size_t i : {0u, 3u, 6u})
            EXPECT_EQ(jit_lookup(map, crowded[i], from_register).r0, kMiss);
          for (size_t i = 7; i < crowded.size(); ++i)
            EXPECT_EQ(jit_lookup(map, crowded[i], from_register).r0, value_of(crowded[i])) << i;
          insert(map, absent_crowded[0]);
          const Lookup reused = jit_lookup(map, absent_crowded[0], from_register);
          EXPECT_EQ(reused.r0, value_of(absent_crowded[0]));
          EXPECT_EQ(reused.entry_calls, 0);
        }
  g_null_test = NullTest::jump_on_null;
}

// `if r0 == 0 goto miss` right after the lookup has no code of its own: a hit goes on past it,
// every miss goes to its target.
TEST(JitInlineHash, TheNullTestAfterTheLookupIsFoldedIntoIt) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 4, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  insert(map, 4);
  for (NullTest form : {NullTest::jump_on_null, NullTest::jump_on_hit}) {
    g_null_test = form;
    const auto code = lookup_program(reinterpret_cast<uint64_t>(&map), 4, 4, true);
    const uint32_t call = call_index(code);
    auto jit = load(code, true, map_helpers(), options_for(map, call));
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    EXPECT_EQ(code_bytes(*jit->native(), call + 1) == 0, form == NullTest::jump_on_null);
  }
  g_null_test = NullTest::jump_on_null;
}

// clang's `hits += v != NULL; x = v ? *v : 0` after a lookup (as hash_map_loop has it), up to a
// goto: r0 = hits + 2 * x.
std::vector<RawInsn> null_tests_program(uint64_t handle, uint64_t key) {
  Builder p;
  p.lddw(6, key).stx(BPF_DW, 10, 6, -8);
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
  p.call_helper(BPF_FUNC_map_lookup_elem);
  p.mov64_imm(1, 1).jmp_imm(BPF_JNE, 0, 0, "counted").mov64_imm(1, 0);
  p.label("counted").mov64_imm(2, 0).jmp_imm(BPF_JEQ, 0, 0, "out").ldx(BPF_DW, 2, 0, 0);
  p.ja("out");
  p.label("out").alu64_reg(BPF_ADD, 2, 2).alu64_reg(BPF_ADD, 2, 1).mov64_reg(0, 2).exit();
  return p.finish();
}

// Those tests are decided by the lookup: no code on the hit path, where `hits = 0` is jumped
// over, and a copy of them on the null path. Every way a lookup ends goes the right way: a hit
// in the slots, a hit or a miss on the overflow list (the entry's answer), a miss in the slots.
TEST(JitInlineHash, TestsOfTheResultBeforeTheNextGotoAreDecided) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 64));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const HashLookup layout = runtime::direct_map_call(map, 0)->inline_lookup;
  std::vector<uint64_t> crowded, absent_crowded, absent_elsewhere;
  for (uint64_t k = 1; crowded.size() < 9 || absent_crowded.empty() || absent_elsewhere.empty();
       ++k) {
    if (bucket_of(layout, k) != 0)
      absent_elsewhere.push_back(k);
    else if (crowded.size() < 9)
      crowded.push_back(k);  // seven in the slots, two on the overflow list
    else
      absent_crowded.push_back(k);
  }
  for (uint64_t k : crowded) insert(map, k);
  const auto expect = [&](uint64_t key, bool found, int entry_calls) {
    const auto code = null_tests_program(reinterpret_cast<uint64_t>(&map), key);
    const uint32_t call = call_index(code);
    const CompileOptions options = options_for(map, call);
    g_entry_calls = 0;
    const EngineResult r = run_engine(code, true, {}, map_helpers(), nullptr, options);
    ASSERT_TRUE(r.ok) << r.error.to_string();
    EXPECT_EQ(r.r0, found ? 1 + 2 * value_of(key) : 0) << key;
    EXPECT_EQ(g_entry_calls, entry_calls) << key;
    const EngineResult interpreted = run_engine(code, false, {}, map_helpers(), nullptr, options);
    EXPECT_EQ(r.r0, interpreted.r0) << key;
    auto jit = load(code, true, map_helpers(), options);
    ASSERT_TRUE(jit.ok());
    for (uint32_t decided : {call + 2, call + 3, call + 5})  // the tests, and `hits = 0`
      EXPECT_EQ(code_bytes(*jit->native(), decided), 0u) << "instruction " << decided;
  };
  for (size_t i = 0; i < crowded.size(); ++i) expect(crowded[i], true, i < 7 ? 0 : 1);
  expect(absent_crowded[0], false, 1);
  expect(absent_elsewhere[0], false, 0);
}

// The key's hash and the tag compare see the whole key: keys that differ only in the half a
// 4-byte compare would ignore, or only above bit 32 of the register holding a u32 key.
TEST(JitInlineHash, ComparesTheWholeKey) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const uint64_t key = 0x0000'0001'0000'0005ull;
  insert(map, key);
  EXPECT_EQ(jit_lookup(map, key, true).r0, value_of(key));
  EXPECT_EQ(jit_lookup(map, 5, true).r0, kMiss);
  EXPECT_EQ(jit_lookup(map, 0x0000'0002'0000'0005ull, false).r0, kMiss);

  auto narrow = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 4, 16));
  ASSERT_TRUE(narrow.ok());
  insert(**narrow, 5);
  EXPECT_EQ(jit_lookup(**narrow, 5, true).r0, value_of(5));  // r6 holds junk above the key
  EXPECT_EQ(jit_lookup(**narrow, 6, true).r0, kMiss);
}

// The element of the map that holds `key` (found through the description's element array).
uint8_t* element_of(const HashLookup& l, uint64_t key, uint32_t key_size) {
  for (uint32_t i = 0; i < l.capacity; ++i) {
    uint8_t* e = l.elements + uint64_t{i} * l.element_size;
    uint32_t seq;
    std::memcpy(&seq, e + l.seq_offset, 4);
    if (seq % 2 == 0 && std::memcmp(e + l.key_offset, &key, key_size) == 0) return e;
  }
  return nullptr;
}

// The slot of its bucket that holds `key`'s element (8-byte keys), or -1.
int slot_of(const HashLookup& l, uint64_t key) {
  const uint8_t* e = element_of(l, key, 8);
  if (e == nullptr) return -1;
  const auto index = static_cast<uint32_t>((e - l.elements) / l.element_size);
  const uint8_t* bucket = l.buckets + (uint64_t{bucket_of(l, key)} << l.bucket_shift);
  for (int slot = 0; slot < 7; ++slot) {
    uint32_t held;
    std::memcpy(&held, bucket + l.slot_offset + 4 * slot, 4);
    if (held == index) return slot;
  }
  return -1;
}

// Keys whose 32-bit hashes are equal (the same tag in the same bucket) are told apart by the key
// compare: found each with its own value, and one missing while only the other is there.
TEST(JitInlineHash, KeysWithTheSameHashAreToldApart) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const HashLookup l = runtime::direct_map_call(map, 0)->inline_lookup;
  const auto [a, b] = same_hash_pair(l);
  ASSERT_NE(b, 0u);
  insert(map, a);
  EXPECT_EQ(jit_lookup(map, a, true).r0, value_of(a));
  EXPECT_EQ(jit_lookup(map, b, true).r0, kMiss);
  insert(map, b);
  EXPECT_EQ(jit_lookup(map, a, false).r0, value_of(a));
  EXPECT_EQ(jit_lookup(map, b, false).r0, value_of(b));
  ASSERT_EQ(map.erase(&a), 0);
  EXPECT_EQ(jit_lookup(map, a, true).r0, kMiss);
  EXPECT_EQ(jit_lookup(map, b, true).r0, value_of(b));
}

// An element whose sequence word is odd (a writer is rewriting it) is not the key's, as the
// entry decides; once even again it is found.
TEST(JitInlineHash, AnElementBeingRewrittenIsNotFound) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 4, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  insert(map, 21);
  const HashLookup l = runtime::direct_map_call(map, 0)->inline_lookup;
  uint8_t* e = element_of(l, 21, 4);
  ASSERT_NE(e, nullptr);
  uint32_t seq;
  std::memcpy(&seq, e + l.seq_offset, 4);
  const uint32_t writing = seq + 1;
  std::memcpy(e + l.seq_offset, &writing, 4);
  EXPECT_EQ(jit_lookup(map, 21, true).r0, kMiss);
  const uint32_t key = 21;
  EXPECT_EQ(map.lookup(&key), nullptr);  // the entry agrees
  std::memcpy(e + l.seq_offset, &seq, 4);
  EXPECT_EQ(jit_lookup(map, 21, true).r0, value_of(21));
}

// An LRU lookup marks the element referenced (so the clock spares it), as the helper does.
TEST(JitInlineHash, LruLookupsMarkTheElementReferenced) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_LRU_HASH, 8, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  insert(map, 3);
  const HashLookup l = runtime::direct_map_call(map, 0)->inline_lookup;
  ASSERT_GE(l.reference_offset, 0);
  uint8_t* e = element_of(l, 3, 8);
  ASSERT_NE(e, nullptr);
  const uint32_t cleared = 0;
  std::memcpy(e + l.reference_offset, &cleared, 4);
  EXPECT_EQ(jit_lookup(map, 3, true).r0, value_of(3));
  uint32_t ref;
  std::memcpy(&ref, e + l.reference_offset, 4);
  EXPECT_EQ(ref, 1u);
  // A plain hash map has no reference word.
  auto plain = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 16));
  ASSERT_TRUE(plain.ok());
  EXPECT_LT(runtime::direct_map_call(**plain, 0)->inline_lookup.reference_offset, 0);
}

// A map too large for the low 2 GiB: its buckets and elements are reached through 64-bit bases.
TEST(JitInlineHash, FindsKeysOfAMapMappedAnywhere) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 4, 1u << 20));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const HashLookup layout = runtime::direct_map_call(map, 0)->inline_lookup;
  const uint64_t end =
      reinterpret_cast<uint64_t>(layout.elements) + uint64_t{layout.capacity} * layout.element_size;
  if (end <= uint64_t{INT32_MAX}) GTEST_SKIP() << "the map was mapped below 2 GiB";
  for (uint64_t k = 0; k < 1000; k += 7) insert(map, k);
  for (uint64_t k = 0; k < 1000; ++k) {
    const Lookup l = jit_lookup(map, k, k % 2 == 0);
    EXPECT_EQ(l.r0, k % 7 == 0 ? value_of(k) : kMiss) << k;
  }
}

// Without a description, or with one the JIT does not know, the lookup calls the entry.
TEST(JitInlineHash, AnUnknownLayoutCallsTheEntry) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 4, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  insert(map, 9);
  const auto code = lookup_program(reinterpret_cast<uint64_t>(&map), 4, 9, true);
  for (int variant = 0; variant < 3; ++variant) {
    CompileOptions options = options_for(map, call_index(code));
    HashLookup& l = options.direct_maps[0].inline_lookup;
    if (variant == 0) l.buckets = nullptr;
    if (variant == 1) l.slots = 8;
    if (variant == 2) l.key_offset = l.element_size;  // the key outside the element
    g_entry_calls = 0;
    const EngineResult r = run_engine(code, true, {}, map_helpers(), nullptr, options);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.r0, value_of(9)) << variant;
    EXPECT_EQ(g_entry_calls, 1) << variant;
  }
}

// What update_program reads from the memory r1 points to.
struct UpdateArgs {
  uint64_t key;
  uint8_t value[24];
};

// How update_program passes the key and the value: the key stored from r6 (the JIT takes it
// from r6) or r6 changed after the store (it reads the key through r2); r3 as r10 + offset (the
// JIT reads the value from the stack) or copied through r8 (it reads through r3).
struct UpdateForm {
  bool key_in_register;
  bool value_on_stack;
};

// bpf_map_update_elem(map, &args->key, copy of args->value, flags), r0 its answer.
std::vector<RawInsn> update_program(uint64_t handle, uint32_t key_size, uint32_t value_size,
                                    int32_t flags, UpdateForm form) {
  Builder p;
  p.ldx(BPF_DW, 6, 1, 0);
  p.stx(key_size == 4 ? BPF_W : BPF_DW, 10, 6, -8);
  for (uint32_t at = 0; at < value_size;) {  // the value to fp-32..
    const uint32_t n = value_size - at >= 8 ? 8 : value_size - at >= 4 ? 4 : 1;
    const uint8_t size = n == 8 ? BPF_DW : n == 4 ? BPF_W : BPF_B;
    p.ldx(size, 2, 1, static_cast<int16_t>(8 + at));
    p.stx(size, 10, 2, static_cast<int16_t>(-32 + static_cast<int>(at)));
    at += n;
  }
  if (!form.key_in_register) p.mov64_imm(6, 0);
  p.mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -32);
  if (!form.value_on_stack) p.mov64_reg(8, 3).mov64_reg(3, 8);
  p.lddw(1, handle).mov64_imm(4, flags).call_helper(BPF_FUNC_map_update_elem).exit();
  return p.finish();
}

// Updates in place answer as the map's own update, for 4- and 8-byte keys, values of 8, 13 and
// 6 bytes (every copy width), every way of passing key and value, plain and LRU maps: existing
// keys in a bucket's slots are rewritten without calling the entry; keys on the overflow list,
// new keys and BPF_EXIST of absent keys go to the entry, which inserts or answers -ENOENT.
TEST(JitInlineHash, UpdatesInPlaceAnswerAsTheMap) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH})
    for (uint32_t key_size : {4u, 8u})
      for (uint32_t value_size : {8u, 13u, 6u})
        for (UpdateForm form : {UpdateForm{true, true}, UpdateForm{false, false}}) {
          SCOPED_TRACE("type " + std::to_string(type) + " key " + std::to_string(key_size) +
                       " value " + std::to_string(value_size) +
                       (form.key_in_register ? " key in a register" : " key through r2"));
          maps::MapSpec spec = hash_spec(type, key_size, 64);
          spec.value_size = value_size;
          auto jit_map = maps::create_map(spec), model = maps::create_map(spec);
          ASSERT_TRUE(jit_map.ok() && model.ok());
          maps::Map& map = **jit_map;
          const HashLookup layout = runtime::direct_map_call(map, 0)->inline_lookup;
          ASSERT_GE(layout.lock_offset, 0);
          // Ten keys of bucket 0 (three on its list), ten of other buckets.
          std::vector<uint64_t> crowded, spread;
          for (uint64_t k = 1; crowded.size() < 10 || spread.size() < 10; ++k)
            (bucket_of(layout, k) == 0 ? crowded : spread).push_back(k);
          crowded.resize(10);
          spread.resize(10);
          uint8_t fill = 1;
          const auto update = [&](uint64_t key, int32_t flags, int expect_calls) {
            UpdateArgs args{key, {}};
            for (uint8_t& b : args.value) b = fill++;
            const auto code =
                update_program(reinterpret_cast<uint64_t>(&map), key_size, value_size, flags, form);
            const CompileOptions options = options_for(map, call_index(code));
            auto jit = load(code, true, map_helpers(), options);
            ASSERT_TRUE(jit.ok()) << jit.error().to_string();
            g_entry_calls = 0;
            auto r = jit->run(reinterpret_cast<uint64_t>(&args), sizeof(args), {});
            ASSERT_TRUE(r.ok()) << r.error().to_string();
            const int64_t want = (*model)->update(&args.key, args.value, flags);
            EXPECT_EQ(static_cast<int64_t>(r->r0), want) << key << " flags " << flags;
            EXPECT_EQ(g_entry_calls, expect_calls) << key;
            EXPECT_TRUE(all_unlocked(layout)) << "a bucket left locked by " << key;
          };
          for (uint64_t k : crowded) update(k, BPF_ANY, 1);   // new keys: the entry inserts
          for (uint64_t k : spread) update(k, BPF_EXIST, 1);  // -ENOENT from the entry
          for (uint64_t k : spread) update(k, BPF_ANY, 1);
          for (size_t i = 0; i < crowded.size(); ++i)
            update(crowded[i], i % 2 ? BPF_EXIST : BPF_ANY, i < 7 ? 0 : 1);
          for (uint64_t k : spread) update(k, BPF_EXIST, 0);
          ASSERT_EQ(map.erase(&crowded[2]), 0);
          ASSERT_EQ((*model)->erase(&crowded[2]), 0);
          update(crowded[2], BPF_EXIST, 1);  // gone: -ENOENT
          update(crowded[2], BPF_ANY, 1);    // back, in the freed slot
          update(crowded[2], BPF_ANY, 0);
          EXPECT_EQ(contents(map), contents(**model));
        }
}

// An update emitted in place reads the flags' immediate and the value from its stack slot: the
// move of r4 and `r3 = r10; r3 += off` get no code (the path that calls the entry sets rcx and
// rdx itself, which UpdatesInPlaceAnswerAsTheMap checks). A value pointer that is not r10 +
// offset keeps its setup.
TEST(JitInlineHash, AnUpdatesFlagsAndValuePointerGetNoCode) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  for (bool on_stack : {true, false}) {
    SCOPED_TRACE(on_stack ? "value on the stack" : "value through r8");
    const auto code =
        update_program(reinterpret_cast<uint64_t>(&map), 8, 8, BPF_ANY, {true, on_stack});
    const size_t call = call_index(code);
    // ... r3 = r10; r3 += -32; [r8 = r3; r3 = r8;] r1 = map (two slots); r4 = flags; call
    const size_t flags = call - 1, value_add = on_stack ? call - 4 : call - 6;
    auto jit = load(code, true, map_helpers(), options_for(map, call));
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    const auto& at = jit->native()->insn_offsets;
    EXPECT_EQ(at[flags], at[flags + 1]);
    EXPECT_EQ(at[value_add - 1] == at[value_add + 1], on_stack);
    UpdateArgs args{5, {7}};
    auto r = jit->run(reinterpret_cast<uint64_t>(&args), sizeof(args), {});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->r0, 0u);
  }
}

// Keys with the same hash: an update of one never rewrites the other's value.
TEST(JitInlineHash, UpdatesTellKeysWithTheSameHashApart) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const auto [a, b] = same_hash_pair(runtime::direct_map_call(map, 0)->inline_lookup);
  ASSERT_NE(b, 0u);
  insert(map, a);
  const auto code = update_program(reinterpret_cast<uint64_t>(&map), 8, 8, BPF_EXIST, {true, true});
  auto jit = load(code, true, map_helpers(), options_for(map, call_index(code)));
  ASSERT_TRUE(jit.ok());
  UpdateArgs args{b, {9}};
  auto r = jit->run(reinterpret_cast<uint64_t>(&args), sizeof(args), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(static_cast<int64_t>(r->r0), -ENOENT);
  uint64_t value = 0;
  ASSERT_EQ(map.lookup_copy(&a, &value), 0);
  EXPECT_EQ(value, value_of(a));
  args.key = a;
  r = jit->run(reinterpret_cast<uint64_t>(&args), sizeof(args), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->r0, 0u);
  ASSERT_EQ(map.lookup_copy(&a, &value), 0);
  EXPECT_EQ(value, 9u);
}

// The first four slots' tags are compared on the hit path and the other three only when those
// have no candidate left: two keys with the same tag in slots (3, 4), (4, 5), (2, 6) and (0, 1)
// (fillers of the same bucket ahead of them) are each found, and updated, in their own element,
// without the entry.
TEST(JitInlineHash, KeysWithTheSameHashInEitherGroupOfSlots) {
  const std::pair<int, int> placements[] = {{3, 4}, {4, 5}, {2, 6}, {0, 1}};
  for (const auto& [first, second] : placements) {
    SCOPED_TRACE("slots " + std::to_string(first) + " and " + std::to_string(second));
    auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 64));
    ASSERT_TRUE(created.ok());
    maps::Map& map = **created;
    const HashLookup l = runtime::direct_map_call(map, 0)->inline_lookup;
    const auto [a, b] = same_hash_pair(l);
    ASSERT_NE(b, 0u);
    std::vector<uint64_t> fillers;  // other keys of the pair's bucket, in the remaining slots
    for (uint64_t k = 1; fillers.size() < 5; ++k)
      if (bucket_of(l, k) == bucket_of(l, a) && described_hash(l, k) != described_hash(l, a))
        fillers.push_back(k);
    size_t next_filler = 0;
    for (int slot = 0; slot <= second; ++slot) {  // a bucket fills its free slots in order
      if (slot == first)
        insert(map, a);
      else if (slot == second)
        insert(map, b);
      else
        insert(map, fillers[next_filler++]);
    }
    ASSERT_EQ(slot_of(l, a), first);
    ASSERT_EQ(slot_of(l, b), second);
    for (uint64_t k : {a, b}) {
      const Lookup found = jit_lookup(map, k, true);
      EXPECT_EQ(found.r0, value_of(k)) << k;
      EXPECT_EQ(found.entry_calls, 0) << k;
    }
    for (size_t i = 0; i < next_filler; ++i)
      EXPECT_EQ(jit_lookup(map, fillers[i], false).r0, value_of(fillers[i]));
    const auto code =
        update_program(reinterpret_cast<uint64_t>(&map), 8, 8, BPF_EXIST, {true, true});
    auto jit = load(code, true, map_helpers(), options_for(map, call_index(code)));
    ASSERT_TRUE(jit.ok());
    for (uint64_t k : {b, a}) {
      UpdateArgs args{k, {}};
      const uint64_t value = k ^ 0x55;
      std::memcpy(args.value, &value, sizeof value);
      auto r = jit->run(reinterpret_cast<uint64_t>(&args), sizeof(args), {});
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->r0, 0u);
    }
    for (uint64_t k : {a, b}) {
      uint64_t value = 0;
      ASSERT_EQ(map.lookup_copy(&k, &value), 0);
      EXPECT_EQ(value, k ^ 0x55) << k;
    }
  }
}

// An update in place waits while another writer holds the bucket's lock, and writes once it is
// released.
TEST(JitInlineHash, UpdatesInPlaceWaitForTheBucketLock) {
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const uint64_t key = 11;
  insert(map, key);
  const HashLookup layout = runtime::direct_map_call(map, 0)->inline_lookup;
  const auto code = update_program(reinterpret_cast<uint64_t>(&map), 8, 8, BPF_ANY, {true, true});
  auto jit = load(code, true, map_helpers(), options_for(map, call_index(code)));
  ASSERT_TRUE(jit.ok());
  std::atomic<uint32_t>& lock = bucket_lock(layout, bucket_of(layout, key));
  ASSERT_EQ(lock.exchange(1), 0u);  // another writer holds it
  std::atomic<bool> finished{false};
  uint64_t r0 = 1;
  std::thread updater([&] {
    UpdateArgs args{key, {42}};
    auto r = jit->run(reinterpret_cast<uint64_t>(&args), sizeof(args), {});
    if (r.ok()) r0 = r->r0;
    finished = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(finished.load()) << "the update did not wait for the lock";
  uint64_t value = 0;
  EXPECT_EQ(map.lookup_copy(&key, &value), 0);
  EXPECT_EQ(value, value_of(key));
  lock.store(0);
  updater.join();
  EXPECT_EQ(r0, 0u);
  EXPECT_EQ(lock.load(), 0u);
  ASSERT_EQ(map.lookup_copy(&key, &value), 0);
  EXPECT_EQ(value, 42u);
}

// Updates in place take the bucket's lock as the map's own writers do: JIT updaters and map
// writers rewriting the same keys never leave a mix of two writes (each value is two equal
// halves), and updates never land in an element recycled for another key while deleters run
// (each value's first word names its key).
TEST(JitInlineHash, UpdatesInPlaceAreSerialisedWithTheMapsWriters) {
  constexpr uint32_t kKeys = 16;
  maps::MapSpec spec = hash_spec(
      BPF_MAP_TYPE_HASH, 8, 4 * kKeys);  // room: no -E2BIG while a deleted element is being freed
  spec.value_size = 16;
  auto created = maps::create_map(spec);
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const auto code = update_program(reinterpret_cast<uint64_t>(&map), 8, 16, BPF_ANY, {true, true});
  CompileOptions options = options_for(map, call_index(code));
  // Not counted: several threads call them.
  options.direct_maps[0].update_value = g_update_value;
  options.direct_maps[0].update = g_update;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0}, jit_updates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {  // JIT updaters
    threads.emplace_back([&, t] {
      auto jit = load(code, true, map_helpers(), options);
      if (!jit.ok()) {
        ++failures;
        return;
      }
      UpdateArgs args{};
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        args.key = (i * 7 + static_cast<uint64_t>(t)) % kKeys;
        const uint64_t half = args.key << 32 | (i & 0xffffffff);
        std::memcpy(args.value, &half, 8);
        std::memcpy(args.value + 8, &half, 8);
        auto r = jit->run(reinterpret_cast<uint64_t>(&args), sizeof(args), {});
        if (!r.ok() || r->r0 != 0) ++failures;
        ++jit_updates;
      }
    });
  }
  threads.emplace_back([&] {  // a map writer and deleter of the same keys
    std::mt19937 rng(5);
    for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      uint64_t key = rng() % kKeys;
      if (rng() % 3 == 0) {
        map.erase(&key);
      } else {
        const uint64_t half = key << 32 | 0xabcd;
        uint64_t value[2] = {half, half};
        if (map.update(&key, value, BPF_ANY) != 0) ++failures;
      }
    }
  });
  while (jit_updates.load() < 200000) std::this_thread::yield();
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0u);
  for (uint64_t key = 0; key < kKeys; ++key) {
    uint64_t value[2];
    if (map.lookup_copy(&key, value) != 0) continue;
    EXPECT_EQ(value[0], value[1]) << "a mix of two writes at key " << key;
    EXPECT_EQ(value[0] >> 32, key) << "another key's value at key " << key;
  }
}

// bpf_map_update_elem(map, &key, &i, BPF_ANY), then the probe (bpf_get_prandom_u32's id), for
// i = 0..n-1; r0 = 0.
std::vector<RawInsn> update_loop_program(uint64_t handle, uint64_t key, int32_t n) {
  Builder p;
  p.mov64_imm(6, 0);
  p.label("loop").lddw(7, key).stx(BPF_DW, 10, 7, -8).stx(BPF_DW, 10, 6, -16);
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -16).mov64_imm(4, BPF_ANY);
  p.call_helper(BPF_FUNC_map_update_elem).call_helper(BPF_FUNC_get_prandom_u32);
  p.alu64_imm(BPF_ADD, 6, 1).jmp_imm(BPF_JLT, 6, n, "loop");
  p.mov64_imm(0, 0).exit();
  return p.finish();
}

// The probe: the map's writer token holder after each update, and whether a waiting writer had
// finished by then.
const base::WriterToken* g_token = nullptr;
std::vector<uint32_t> g_holders;
std::vector<bool> g_waiter_done_seen;
std::atomic<bool> g_waiter_done{false};
std::chrono::microseconds g_probe_pause{0};
uint64_t probe(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::CallContext&) {
  g_holders.push_back(g_token->holder.load());
  g_waiter_done_seen.push_back(g_waiter_done.load());
  if (g_probe_pause.count() != 0) std::this_thread::sleep_for(g_probe_pause);
  return 0;
}

vm::HelperTable probed_map_helpers() {
  vm::HelperTable t = map_helpers();
  t.set(BPF_FUNC_get_prandom_u32, vm::Helper{"get_prandom_u32", &probe, false});
  return t;
}

void reset_probe(const base::WriterToken* token, std::chrono::microseconds pause) {
  g_token = token;
  g_holders.clear();
  g_waiter_done_seen.clear();
  g_waiter_done = false;
  g_probe_pause = pause;
}

// A run that updates a plain hash map's key again and again takes the bucket lock for the first
// update, then holds the map's writer token (no lock, no entry) until the run ends. LRU maps have
// no token: every update takes the lock.
TEST(JitInlineHash, UpdatesInALoopHoldTheWriterTokenUntilTheRunEnds) {
  constexpr int32_t kRounds = 20;
  base::WriterToken unused{};
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    SCOPED_TRACE("type " + std::to_string(type));
    auto created = maps::create_map(hash_spec(type, 8, 16));
    ASSERT_TRUE(created.ok());
    maps::Map& map = **created;
    const uint64_t key = 77;
    insert(map, key);
    const HashLookup layout = runtime::direct_map_call(map, 0)->inline_lookup;
    const bool has_token = layout.writer_token != nullptr;
    EXPECT_EQ(has_token, type == BPF_MAP_TYPE_HASH);
    const auto code = update_loop_program(reinterpret_cast<uint64_t>(&map), key, kRounds);
    auto jit = load(code, true, probed_map_helpers(), options_for(map, call_index(code)));
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    reset_probe(has_token ? layout.writer_token : &unused, {});
    g_entry_calls = 0;
    uint64_t ctx = 0;
    auto r = jit->run(reinterpret_cast<uint64_t>(&ctx), sizeof(ctx), {});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->r0, 0u);
    EXPECT_EQ(g_entry_calls, 0);
    ASSERT_EQ(g_holders.size(), size_t{kRounds});
    EXPECT_EQ(g_holders[0], 0u) << "claimed at the first update";
    for (int32_t i = 1; i < kRounds; ++i)
      EXPECT_EQ(g_holders[i], has_token ? base::current_thread_id() : 0u) << "after update " << i;
    if (has_token) {
      EXPECT_EQ(layout.writer_token->holder.load(), 0u) << "kept after the run";
    }
    EXPECT_TRUE(all_unlocked(layout));
    uint64_t value = 0;
    ASSERT_EQ(map.lookup_copy(&key, &value), 0);
    EXPECT_EQ(value, uint64_t{kRounds - 1});
  }
}

// A writer that needs a recycled element while a run holds the token waits; the run notices at
// its next update and lets go (not only when it ends), then claims the token again.
TEST(JitInlineHash, AHolderLetsGoOfTheTokenWhenAWriterWaits) {
  constexpr int32_t kRounds = 60;
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 16));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const uint64_t key = 77, freed = 5, waiting = 6;
  insert(map, key);
  insert(map, freed);
  ASSERT_EQ(map.erase(&freed), 0);  // its element waits on the free stack
  const HashLookup layout = runtime::direct_map_call(map, 0)->inline_lookup;
  ASSERT_NE(layout.writer_token, nullptr);
  const auto code = update_loop_program(reinterpret_cast<uint64_t>(&map), key, kRounds);
  auto jit = load(code, true, probed_map_helpers(), options_for(map, call_index(code)));
  ASSERT_TRUE(jit.ok()) << jit.error().to_string();
  reset_probe(layout.writer_token, std::chrono::milliseconds(5));  // room for a busy host
  const uint32_t runner = base::current_thread_id();
  std::atomic<bool> run_over{false};
  std::thread writer([&] {
    while (layout.writer_token->holder.load() != runner && !run_over.load())
      std::this_thread::yield();
    insert(map, waiting);
    g_waiter_done = true;
  });
  uint64_t ctx = 0;
  auto r = jit->run(reinterpret_cast<uint64_t>(&ctx), sizeof(ctx), {});
  run_over = true;  // a writer that never saw the token held: no wait for it
  writer.join();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(g_waiter_done_seen.size(), size_t{kRounds});
  size_t done_at = kRounds;
  for (size_t i = 0; i < g_waiter_done_seen.size() && done_at == kRounds; ++i)
    if (g_waiter_done_seen[i]) done_at = i;
  EXPECT_LT(done_at, size_t{kRounds - 1}) << "the writer waited for the end of the run";
  EXPECT_EQ(g_holders.back(), runner) << "the token was not claimed again";
  EXPECT_EQ(layout.writer_token->holder.load(), 0u);
  EXPECT_EQ(layout.writer_token->waiters.load(), 0u);
  uint64_t value = 0;
  ASSERT_EQ(map.lookup_copy(&key, &value), 0);
  EXPECT_EQ(value, uint64_t{kRounds - 1});
  ASSERT_EQ(map.lookup_copy(&waiting, &value), 0);
  EXPECT_EQ(value, value_of(waiting));
}

// For i = 0..n-1: look `looked` up (its element becomes the run's hint), delete it when
// `delete_looked`, then bpf_map_update_elem(map, &updated, &i, BPF_ANY); r0 = the sum of the
// updates' results.
std::vector<RawInsn> hint_program(uint64_t handle, uint64_t looked, bool delete_looked,
                                  uint64_t updated, int32_t n) {
  Builder p;
  p.mov64_imm(6, 0).mov64_imm(9, 0);
  p.label("loop").lddw(7, looked).stx(BPF_DW, 10, 7, -8);
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
  p.call_helper(BPF_FUNC_map_lookup_elem);
  if (delete_looked) {
    p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
    p.call_helper(BPF_FUNC_map_delete_elem);
  }
  p.lddw(7, updated).stx(BPF_DW, 10, 7, -24).stx(BPF_DW, 10, 6, -16);
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -24);
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -16).mov64_imm(4, BPF_ANY);
  p.call_helper(BPF_FUNC_map_update_elem).alu64_reg(BPF_ADD, 9, 0);
  p.alu64_imm(BPF_ADD, 6, 1).jmp_imm(BPF_JLT, 6, n, "loop");
  p.mov64_reg(0, 9).exit();
  return p.finish();
}

// An update without the lock takes the hint's element only when it holds the key now: not when
// the hint is another key's element, nor when the key was deleted since (its element freed, the
// key then inserted again, into the same element).
TEST(JitInlineHash, TheElementHintIsTakenOnlyForItsKey) {
  constexpr int32_t kRounds = 20;
  for (bool delete_looked : {false, true}) {
    SCOPED_TRACE(delete_looked ? "the looked-up key deleted" : "another key looked up");
    auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 16));
    ASSERT_TRUE(created.ok());
    maps::Map& map = **created;
    const uint64_t looked = 21, updated = delete_looked ? looked : 22;
    insert(map, looked);
    insert(map, updated == looked ? 23 : updated);
    const auto code =
        hint_program(reinterpret_cast<uint64_t>(&map), looked, delete_looked, updated, kRounds);
    auto jit = load(code, true, map_helpers(), options_for_every_call(map, code));
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    uint64_t ctx = 0;
    auto r = jit->run(reinterpret_cast<uint64_t>(&ctx), sizeof(ctx), {});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->r0, 0u) << "an update failed";
    uint64_t value = 0;
    ASSERT_EQ(map.lookup_copy(&updated, &value), 0) << "the updated key is gone";
    EXPECT_EQ(value, uint64_t{kRounds - 1});
    if (!delete_looked) {
      ASSERT_EQ(map.lookup_copy(&looked, &value), 0);
      EXPECT_EQ(value, value_of(looked)) << "the looked-up key's value was written";
    }
    EXPECT_EQ(map.size(), 2u);
  }
}

// For i = 0..n-1: key = (i * 7 + first) % 16, v = bpf_map_lookup_elem(map, &key) (the hint),
// then bpf_map_update_elem(map, &key, &(key << 32 | i), BPF_ANY); r0 = the number of updates
// that failed.
std::vector<RawInsn> keyed_update_loop(uint64_t handle, int32_t first, int32_t n) {
  Builder p;
  p.mov64_imm(6, 0).mov64_imm(9, 0);
  p.label("loop").mov64_reg(7, 6).alu64_imm(BPF_MUL, 7, 7).alu64_imm(BPF_ADD, 7, first);
  p.alu64_imm(BPF_AND, 7, 15).stx(BPF_DW, 10, 7, -8);
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
  p.call_helper(BPF_FUNC_map_lookup_elem);
  p.mov64_reg(8, 7).alu64_imm(BPF_LSH, 8, 32).alu64_reg(BPF_OR, 8, 6).stx(BPF_DW, 10, 8, -16);
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -16).mov64_imm(4, BPF_ANY);
  p.call_helper(BPF_FUNC_map_update_elem).jmp_imm(BPF_JEQ, 0, 0, "next");
  p.alu64_imm(BPF_ADD, 9, 1);
  p.label("next").alu64_imm(BPF_ADD, 6, 1).jmp_imm(BPF_JLT, 6, n, "loop");
  p.mov64_reg(0, 9).exit();
  return p.finish();
}

// Runs that hold the writer token (two threads taking turns with it) update keys without the
// lock while a map writer deletes and inserts the same keys, recycling their elements: every
// value ever read names its own key (no update landed in an element reused for another key) and
// the token is free at the end.
TEST(JitInlineHash, UpdatesWithoutTheLockNeverLandInAnotherKeysElement) {
  constexpr uint32_t kKeys = 16;
  auto created = maps::create_map(hash_spec(BPF_MAP_TYPE_HASH, 8, 4 * kKeys));
  ASSERT_TRUE(created.ok());
  maps::Map& map = **created;
  const HashLookup layout = runtime::direct_map_call(map, 0)->inline_lookup;
  ASSERT_NE(layout.writer_token, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0}, runs{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int32_t t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      const auto code = keyed_update_loop(reinterpret_cast<uint64_t>(&map), t, 64);
      auto jit = load(code, true, map_helpers(), options_for_every_call(map, code));
      if (!jit.ok()) {
        ++failures;
        return;
      }
      uint64_t ctx = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = jit->run(reinterpret_cast<uint64_t>(&ctx), sizeof(ctx), {});
        if (!r.ok() || r->r0 != 0) ++failures;
        ++runs;
      }
    });
  }
  threads.emplace_back([&] {  // deletes and inserts the same keys, and reads them
    std::mt19937 rng(11);
    while (!stop.load(std::memory_order_relaxed)) {
      uint64_t key = rng() % kKeys, value = 0;
      if (rng() % 2 == 0) {
        map.erase(&key);
      } else {
        value = key << 32 | 0xabcd;
        if (map.update(&key, &value, BPF_ANY) != 0) ++failures;
      }
      key = rng() % kKeys;
      if (map.lookup_copy(&key, &value) == 0 && value >> 32 != key) ++wrong;
    }
  });
  while (runs.load() < 3000) std::this_thread::yield();
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(wrong.load(), 0u) << "another key's value read";
  for (uint64_t key = 0; key < kKeys; ++key) {
    uint64_t value = 0;
    if (map.lookup_copy(&key, &value) == 0) {
      EXPECT_EQ(value >> 32, key) << key;
    }
  }
  EXPECT_EQ(layout.writer_token->holder.load(), 0u);
  EXPECT_EQ(layout.writer_token->waiters.load(), 0u);
}

// r0 = (missed << 32) | wrong over lookups of keys 0..kStable-1 by the JIT, `passes` times.
std::vector<RawInsn> reader_program(uint64_t handle, int64_t stable, int32_t passes) {
  Builder p;
  p.mov64_imm(7, 0).mov64_imm(8, 0).mov64_imm(9, 0);
  p.label("pass").mov64_imm(6, 0);
  p.label("loop").stx(BPF_DW, 10, 6, -8);
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -8);
  p.call_helper(BPF_FUNC_map_lookup_elem).jmp_imm(BPF_JEQ, 0, 0, "miss");
  p.ldx(BPF_DW, 1, 0, 0).jmp_reg(BPF_JEQ, 1, 6, "next");
  p.alu64_imm(BPF_ADD, 8, 1).ja("next");
  p.label("miss").alu64_imm(BPF_ADD, 7, 1);
  p.label("next")
      .alu64_imm(BPF_ADD, 6, 1)
      .jmp_imm(BPF_JLT, 6, static_cast<int32_t>(stable), "loop");
  p.alu64_imm(BPF_ADD, 9, 1).jmp_imm(BPF_JLT, 9, passes, "pass");
  p.mov64_reg(0, 7).alu64_imm(BPF_LSH, 0, 32).alu64_reg(BPF_OR, 0, 8).exit();
  return p.finish();
}

// Writers insert and delete keys of the same buckets (slots freed and reused, elements recycled
// between keys, lists growing and shrinking) while the JIT looks up keys that stay: it must never
// miss one nor read another key's value.
TEST(JitInlineHash, ReadersNeverMissStableKeysDuringChurn) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    SCOPED_TRACE("type " + std::to_string(type));
    constexpr uint32_t kMax = 128;  // 32 buckets
    constexpr uint64_t kStable = 64;
    constexpr uint64_t kChurn = 28;
    auto created = maps::create_map(hash_spec(type, 8, kMax));
    ASSERT_TRUE(created.ok());
    maps::Map& map = **created;
    for (uint64_t k = 0; k < kStable; ++k) ASSERT_EQ(map.update(&k, &k, BPF_NOEXIST), 0);
    const auto code = reader_program(reinterpret_cast<uint64_t>(&map), kStable, 50);
    const CompileOptions options = options_for(map, call_index(code));
    auto jit = load(code, true, map_helpers(), options);
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    std::atomic<bool> stop{false};
    std::atomic<int> rounds{0};
    std::atomic<uint64_t> write_errors{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        const uint64_t base = 1000 + uint64_t(w) * 1000;
        for (int round = 0; !stop.load(std::memory_order_relaxed); ++round) {
          for (uint64_t i = 0; i < kChurn; ++i) {
            const uint64_t key = base + (round % 7) * 100 + i;
            if (map.update(&key, &key, BPF_NOEXIST) != 0) ++write_errors;
          }
          for (uint64_t i = 0; i < kChurn; ++i) {
            const uint64_t key = base + (round % 7) * 100 + i;
            if (map.erase(&key) != 0) ++write_errors;
          }
          ++rounds;
        }
      });
    }
    while (rounds.load() < 2) std::this_thread::yield();
    uint64_t missed = 0, wrong = 0;
    // At least 200 runs and 2,000 writer rounds beside them.
    for (int run = 0; run < 200 || rounds.load() < 2000; ++run) {
      auto r = jit->run(0, 0, {});
      ASSERT_TRUE(r.ok());
      missed += r->r0 >> 32;
      wrong += r->r0 & 0xffffffff;
    }
    stop = true;
    for (auto& t : writers) t.join();
    EXPECT_EQ(write_errors.load(), 0u);
    EXPECT_EQ(missed, 0u);
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(map.size(), kStable);
  }
}

}  // namespace
}  // namespace userbpf::jit::testing

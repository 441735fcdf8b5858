// The JIT's direct calls of a map's own entry points (CompileOptions::direct_maps,
// maps/program_entries.hpp) on real hash-family maps, against the interpreter calling the generic
// helpers on a twin map: every operation's r0 (lookups write through the returned pointer),
// the maps' contents and sizes must agree, the answers must be Linux's (misses, -EEXIST,
// -ENOENT, -E2BIG, -EINVAL, LRU eviction), and the JIT must call the generic helper exactly when
// r1 is not the map it was told about.
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "helpers/linux_helpers.hpp"
#include "jit_test_util.hpp"
#include "maps/program_entries.hpp"
#include "runtime/jit_options.hpp"
#include "userbpf/map.hpp"

namespace userbpf::jit::testing {
namespace {

int g_helper_calls = 0;

// The real helper `kId`, counted.
template <int kId>
uint64_t counted(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                 vm::CallContext& call) {
  ++g_helper_calls;
  return helpers::linux_helpers().find(kId)->fn(r1, r2, r3, r4, r5, call);
}

vm::HelperTable counting_map_helpers() {
  vm::HelperTable t;
  t.set(BPF_FUNC_map_lookup_elem, vm::Helper{"map_lookup_elem", counted<BPF_FUNC_map_lookup_elem>});
  t.set(BPF_FUNC_map_update_elem, vm::Helper{"map_update_elem", counted<BPF_FUNC_map_update_elem>});
  t.set(BPF_FUNC_map_delete_elem, vm::Helper{"map_delete_elem", counted<BPF_FUNC_map_delete_elem>});
  return t;
}

uint64_t err(int e) {
  return static_cast<uint64_t>(-static_cast<int64_t>(e));
}
constexpr uint64_t kMiss = ~uint64_t{0};  // a lookup program's r0 for NULL

struct Op {
  enum Kind { lookup, update, erase } kind;
  uint64_t key;
  uint64_t value = 0;
  int32_t flags = BPF_ANY;
  bool other_map = false;               // r1 is another map: the JIT must take the helper
  std::optional<uint64_t> expect = {};  // r0 both engines must give, when the test knows it
};

// The key's bytes: the low bytes of `key`, and for keys beyond 8 bytes a second word derived
// from it (so 12-byte keys differ in their tail too).
std::vector<uint8_t> key_bytes(uint64_t key, uint32_t key_size) {
  std::vector<uint8_t> out(key_size);
  const uint64_t words[2] = {key, key * 0x9e3779b97f4a7c15ull};
  std::memcpy(out.data(), words, std::min<size_t>(key_size, sizeof(words)));
  return out;
}

// Whether op_program stores a 4- or 8-byte key from a register (r6, with junk above a u32
// key) rather than as immediates: the JIT then passes the register to the by-value entry.
bool g_key_from_register = false;
// Whether the JIT is also given the map's description of its lookup and in-place update
// (DirectMapCall::inline_lookup), so lookups and BPF_ANY / BPF_EXIST updates are emitted in place
// and call the by-value entries only for what they leave to them (overflow lists, new keys).
bool g_in_place = false;

// The by-value entries of the map under test, called through counting wrappers.
maps::ProgramEntries g_entries;
int g_by_value_calls = 0;
void* counted_lookup_value(void* map, uint64_t key) {
  ++g_by_value_calls;
  return g_entries.lookup_value(map, key);
}
int64_t counted_update_value(void* map, uint64_t key, const void* value, uint64_t flags) {
  ++g_by_value_calls;
  return g_entries.update_value(map, key, value, flags);
}

// One helper call on `handle`: the key at fp-16, the value at fp-24. A lookup answers
// *value + 0x100 and stores that through the pointer, or kMiss.
std::vector<RawInsn> op_program(uint64_t handle, uint32_t key_size, const Op& op) {
  Builder p;
  const std::vector<uint8_t> key = key_bytes(op.key, key_size);
  if (g_key_from_register && (key_size == 4 || key_size == 8)) {
    p.lddw(6, key_size == 4 ? (op.key & 0xffffffffull) | 0xdead'0000'0000'0000ull : op.key);
    p.stx(key_size == 4 ? BPF_W : BPF_DW, 10, 6, -16);
  } else {
    for (uint32_t at = 0; at < key_size; at += 4) {
      int32_t word;
      std::memcpy(&word, key.data() + at, 4);
      p.st(BPF_W, 10, static_cast<int16_t>(-16 + static_cast<int>(at)), word);
    }
  }
  p.lddw(3, op.value).stx(BPF_DW, 10, 3, -24);
  p.lddw(1, handle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -16);
  switch (op.kind) {
    case Op::lookup:
      p.call_helper(BPF_FUNC_map_lookup_elem).jmp_imm(BPF_JEQ, 0, 0, "miss");
      p.ldx(BPF_DW, 1, 0, 0).alu64_imm(BPF_ADD, 1, 0x100).stx(BPF_DW, 0, 1, 0);
      p.mov64_reg(0, 1).exit();
      p.label("miss").mov64_imm(0, -1).exit();
      break;
    case Op::update:
      p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -24).mov64_imm(4, op.flags);
      p.call_helper(BPF_FUNC_map_update_elem).exit();
      break;
    case Op::erase: p.call_helper(BPF_FUNC_map_delete_elem).exit(); break;
  }
  return p.finish();
}

uint32_t call_index(const std::vector<RawInsn>& code) {
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i].code == (BPF_JMP | BPF_CALL)) return static_cast<uint32_t>(i);
  }
  return UINT32_MAX;
}

// A map and another of the same spec (the "wrong map" of Op::other_map).
struct Side {
  std::shared_ptr<maps::Map> map, other;
};

Side make_side(const maps::MapSpec& spec) {
  Side s;
  auto map = maps::create_map(spec);
  auto other = maps::create_map(spec);
  EXPECT_TRUE(map.ok() && other.ok());
  if (map.ok()) s.map = *map;
  if (other.ok()) s.other = *other;
  return s;
}

// Every key's bytes and value bytes (every CPU's, for per-CPU maps), ordered.
std::map<std::vector<uint8_t>, std::vector<uint8_t>> contents(maps::Map& map) {
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> out;
  const uint32_t key_size = map.spec().key_size;
  std::vector<uint8_t> key(key_size), next(key_size);
  bool first = true;
  while (map.get_next_key(first ? nullptr : key.data(), next.data()) == 0) {
    std::vector<uint8_t> value(map.user_value_size());
    EXPECT_EQ(map.lookup_copy(next.data(), value.data()), 0);
    out[next] = value;
    key = next;
    first = false;
    if (out.size() > map.spec().max_entries) break;  // a broken iteration: stop
  }
  return out;
}

// Runs `ops` in order in both engines, each on its own maps; checks every r0 and the final
// contents.
void run_both(const maps::MapSpec& spec, const std::vector<Op>& ops) {
  Side interp = make_side(spec), jit = make_side(spec);
  if (!interp.map || !jit.map) return;
  const maps::ProgramEntries entries = maps::program_entries(*jit.map);
  EXPECT_NE(entries.lookup, nullptr);
  g_entries = entries;
  g_by_value_calls = 0;
  int direct_by_value = 0;  // lookups and updates on the map the JIT was told about
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    SCOPED_TRACE("op " + std::to_string(i) + " key " + std::to_string(op.key) + " flags " +
                 std::to_string(op.flags));
    const auto interp_code =
        op_program(reinterpret_cast<uint64_t>((op.other_map ? interp.other : interp.map).get()),
                   spec.key_size, op);
    const auto jit_code = op_program(
        reinterpret_cast<uint64_t>((op.other_map ? jit.other : jit.map).get()), spec.key_size, op);
    CompileOptions options;
    DirectMapCall direct;
    direct.insn = call_index(jit_code);
    direct.handle = reinterpret_cast<uint64_t>(jit.map.get());
    direct.object = static_cast<void*>(jit.map.get());
    direct.lookup = entries.lookup;
    direct.update = entries.update;
    direct.erase = entries.erase;
    direct.key_size = entries.key_size;
    direct.lookup_value = entries.lookup_value ? &counted_lookup_value : nullptr;
    direct.update_value = entries.update_value ? &counted_update_value : nullptr;
    if (g_in_place) {
      direct.inline_lookup = runtime::direct_map_call(*jit.map, 0)->inline_lookup;
      direct.value_size = spec.value_size;
    }
    options.direct_maps.push_back(direct);
    if (!op.other_map && ((op.kind == Op::lookup && direct.lookup_value) ||
                          (op.kind == Op::update && direct.update_value)))
      ++direct_by_value;

    const EngineResult a = run_engine(interp_code, false, {}, counting_map_helpers());
    g_helper_calls = 0;
    const EngineResult b = run_engine(jit_code, true, {}, counting_map_helpers(), nullptr, options);
    ASSERT_TRUE(a.ok && b.ok) << a.error.to_string() << " / " << b.error.to_string();
    EXPECT_EQ(a.r0, b.r0) << std::hex << a.r0 << " / " << b.r0;
    if (op.expect) {
      EXPECT_EQ(b.r0, *op.expect) << std::hex << b.r0;
    }
    EXPECT_EQ(g_helper_calls, op.other_map ? 1 : 0) << "JIT helper calls";
  }
  EXPECT_EQ(contents(*interp.map), contents(*jit.map)) << "map contents differ";
  EXPECT_EQ(contents(*interp.other), contents(*jit.other)) << "other map contents differ";
  EXPECT_EQ(interp.map->size(), jit.map->size());
  // The by-value entries serve exactly the calls whose key was stored from a register; what is
  // emitted in place calls them only for what it leaves to them: at most once per call.
  const bool by_value = g_key_from_register && (spec.key_size == 4 || spec.key_size == 8);
  if (g_in_place) {
    EXPECT_LE(g_by_value_calls, direct_by_value);
  } else {
    EXPECT_EQ(g_by_value_calls, by_value ? direct_by_value : 0);
  }
}

maps::MapSpec spec_of(uint32_t type, uint32_t key_size, uint32_t max_entries) {
  maps::MapSpec spec;
  spec.type = type;
  spec.key_size = key_size;
  spec.value_size = 8;
  spec.max_entries = max_entries;
  spec.name = "direct";
  return spec;
}

TEST(JitDirectMaps, HashAnswersAsTheHelperForEveryKeySize) {
  for (const bool inline_lookups : {false, true})
    for (const bool from_register : {false, true})
      for (uint32_t key_size : {4u, 8u, 12u}) {
        SCOPED_TRACE("key size " + std::to_string(key_size) +
                     (from_register ? ", stored from a register" : "") +
                     (inline_lookups ? ", lookups in place" : ""));
        g_key_from_register = from_register;
        g_in_place = inline_lookups;
        const uint64_t k1 = 0x1111'2222'3333'0001ull, k2 = 0x0abc'0000'0000'0002ull;
        std::vector<Op> ops = {
            {Op::lookup, k1, 0, 0, false, kMiss},
            {Op::update, k1, 5, BPF_ANY, false, 0},
            {Op::lookup, k1, 0, 0, false, 0x105},  // and writes 0x105 through the pointer
            {Op::lookup, k1, 0, 0, false, 0x205},
            {Op::update, k1, 6, BPF_NOEXIST, false, err(EEXIST)},
            {Op::update, k2, 7, BPF_EXIST, false, err(ENOENT)},
            {Op::update, k2, 7, BPF_NOEXIST, false, 0},
            {Op::update, k1, 8, BPF_EXIST, false, 0},
            {Op::lookup, k1, 0, 0, false, 0x108},
            {Op::update, k1, 9, BPF_F_LOCK, false, err(EINVAL)},  // no spin lock in the value
            {Op::update, k1, 9, 3, false, err(EINVAL)},
            {Op::update, k1, 9, -1, false, err(EINVAL)},
            {Op::erase, 0x77, 0, 0, false, err(ENOENT)},
            {Op::erase, k2, 0, 0, false, 0},
            {Op::lookup, k2, 0, 0, false, kMiss},
            // r1 another map: the helper, on that map.
            {Op::update, k2, 3, BPF_ANY, true, 0},
            {Op::lookup, k2, 0, 0, true, 0x103},
            {Op::lookup, k1, 0, 0, true, kMiss},
            {Op::erase, k2, 0, 0, true, 0},
        };
        // Fill the map (8 entries, k1 is one): the ninth key is refused with -E2BIG, an existing
        // one may still be updated.
        for (uint64_t k = 100; k < 108; ++k) {
          ops.push_back({Op::update, k, k, BPF_ANY, false, k < 107 ? 0 : err(E2BIG)});
        }
        ops.push_back({Op::update, k1, 1, BPF_ANY, false, 0});
        ops.push_back({Op::update, k1, 1, BPF_EXIST, false, 0});
        ops.push_back({Op::lookup, 106, 0, 0, false, 106 + 0x100});
        ops.push_back({Op::erase, 100, 0, 0, false, 0});
        ops.push_back({Op::update, 107, 107, BPF_NOEXIST, false, 0});
        run_both(spec_of(BPF_MAP_TYPE_HASH, key_size, 8), ops);
      }
  g_key_from_register = false;
  g_in_place = false;
}

TEST(JitDirectMaps, LruHashEvictsAsTheHelper) {
  // 16 entries; 40 distinct keys inserted with lookups of a few hot ones between: both engines
  // must evict the same elements (the clock and its reference bits are deterministic in one
  // thread), never refuse, and keep the map full.
  std::vector<Op> ops;
  for (uint64_t k = 1; k <= 40; ++k) {
    ops.push_back({Op::update, k, k * 3, BPF_ANY, false, 0});
    ops.push_back({Op::lookup, 1 + k % 3, 0, 0, false});
    if (k % 5 == 0) ops.push_back({Op::update, k, 1, BPF_NOEXIST, false, err(EEXIST)});
    if (k % 4 == 0) ops.push_back({Op::update, k, 5, BPF_ANY, false, 0});  // in place
    if (k % 6 == 0) ops.push_back({Op::update, k, 6, BPF_EXIST, false, 0});
  }
  ops.push_back({Op::lookup, 1, 0, 0, false});
  const maps::MapSpec spec = spec_of(BPF_MAP_TYPE_LRU_HASH, 4, 16);
  run_both(spec, ops);
  // The same with the lookups emitted in place: they must mark the elements referenced too.
  g_in_place = true;
  run_both(spec, ops);
  g_key_from_register = true;
  run_both(spec, ops);
  g_key_from_register = g_in_place = false;

  // The same on a map the test can inspect: full, the hot keys survived.
  auto map = maps::create_map(spec);
  ASSERT_TRUE(map.ok());
  const maps::ProgramEntries entries = maps::program_entries(**map);
  ASSERT_NE(entries.update, nullptr);
  for (uint32_t k = 1; k <= 40; ++k) {
    const uint64_t value = k;
    ASSERT_EQ(entries.update(map->get(), &k, &value, BPF_ANY), 0);
    const uint32_t hot = 1;
    ASSERT_NE(entries.lookup(map->get(), &hot), nullptr) << "the hot key was evicted at " << k;
  }
  EXPECT_EQ((*map)->size(), 16u);
}

// Random lookups, updates (every flag) and deletes of few keys in small maps (crowded buckets,
// overflow lists, a full map refusing, LRU evicting), with lookups and updates in place: every
// answer and the final contents as the helpers give them.
TEST(JitDirectMaps, RandomOperationsInPlaceAnswerAsTheHelper) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH})
    for (uint32_t key_size : {4u, 8u})
      for (const bool from_register : {false, true}) {
        SCOPED_TRACE("type " + std::to_string(type) + " key size " + std::to_string(key_size) +
                     (from_register ? ", stored from a register" : ""));
        // BPF_F_ZERO_SEED: every map of the spec hashes alike, so the keys can be picked to
        // crowd two buckets (lists of up to nine elements on each).
        maps::MapSpec spec = spec_of(type, key_size, 16);
        spec.map_flags = BPF_F_ZERO_SEED;
        auto probe = maps::create_map(spec);
        ASSERT_TRUE(probe.ok());
        const HashLookup layout = runtime::direct_map_call(**probe, 0)->inline_lookup;
        std::vector<uint64_t> keys;  // 24 keys of buckets 0 and 1: more keys than room
        for (uint64_t k = 1; keys.size() < 24; ++k) {
          const uint64_t key = key_size == 8 ? k * 0x0101'0101'0001ull : k;
          if ((described_hash(layout, key) & layout.bucket_mask) < 2) keys.push_back(key);
        }
        std::mt19937_64 rng(type * 100 + key_size * 10 + from_register);
        std::vector<Op> ops;
        for (int i = 0; i < 300; ++i) {
          const uint64_t key = keys[rng() % keys.size()];
          const int32_t flags[] = {BPF_ANY, BPF_ANY, BPF_EXIST, BPF_NOEXIST};
          switch (rng() % 5) {
            case 0:
            case 1: ops.push_back({Op::lookup, key}); break;
            case 2:
            case 3: ops.push_back({Op::update, key, rng(), flags[rng() % 4]}); break;
            default: ops.push_back({Op::erase, key}); break;
          }
        }
        g_key_from_register = from_register;
        g_in_place = true;
        run_both(spec, ops);
      }
  g_key_from_register = g_in_place = false;
}

TEST(JitDirectMaps, PerCpuHashUpdatesAndErasesAsTheHelper) {
  // Lookups answer the calling CPU's slot, which the thread may change between engines: only
  // updates, deletes and misses are compared here.
  std::vector<Op> ops = {
      {Op::update, 5, 1, BPF_ANY, false, 0},
      {Op::update, 5, 1, BPF_NOEXIST, false, err(EEXIST)},
      {Op::update, 6, 1, BPF_EXIST, false, err(ENOENT)},
      {Op::lookup, 6, 0, 0, false, kMiss},
      {Op::erase, 5, 0, 0, false, 0},
      {Op::erase, 5, 0, 0, false, err(ENOENT)},
      {Op::update, 7, 1, BPF_F_LOCK, false, err(EINVAL)},
  };
  maps::MapSpec spec = spec_of(BPF_MAP_TYPE_PERCPU_HASH, 4, 4);
  run_both(spec, ops);
}

TEST(JitDirectMaps, EntriesReachEveryElementOfAFullMap) {
  // A full map has elements beyond a bucket's seven slots (its overflow lists): the entries must
  // find, update and erase those as well, for each key size.
  for (uint32_t key_size : {4u, 8u, 12u}) {
    SCOPED_TRACE("key size " + std::to_string(key_size));
    constexpr uint32_t kCount = 1024;
    auto map = maps::create_map(spec_of(BPF_MAP_TYPE_HASH, key_size, kCount));
    ASSERT_TRUE(map.ok());
    void* m = map->get();
    const maps::ProgramEntries e = maps::program_entries(**map);
    for (uint64_t k = 0; k < kCount; ++k) {
      const uint64_t value = k;
      ASSERT_EQ(e.update(m, key_bytes(k, key_size).data(), &value, BPF_NOEXIST), 0) << k;
    }
    const uint64_t one = 1;
    EXPECT_EQ(e.update(m, key_bytes(kCount, key_size).data(), &one, BPF_ANY), -E2BIG);
    for (uint64_t k = 0; k < kCount; ++k) {
      const uint64_t value = k * 7 + 1;
      ASSERT_EQ(e.update(m, key_bytes(k, key_size).data(), &value, k % 2 ? BPF_ANY : BPF_EXIST), 0)
          << k;
    }
    for (uint64_t k = 0; k < kCount; ++k) {
      const auto* value = static_cast<const uint64_t*>(e.lookup(m, key_bytes(k, key_size).data()));
      ASSERT_NE(value, nullptr) << k;
      EXPECT_EQ(*value, k * 7 + 1) << k;
      uint64_t copy = 0;
      EXPECT_EQ((*map)->lookup_copy(key_bytes(k, key_size).data(), &copy), 0);
      EXPECT_EQ(copy, k * 7 + 1);
    }
    for (uint64_t k = 0; k < kCount; k += 2) {
      ASSERT_EQ(e.erase(m, key_bytes(k, key_size).data()), 0) << k;
      EXPECT_EQ(e.erase(m, key_bytes(k, key_size).data()), -ENOENT) << k;
    }
    EXPECT_EQ((*map)->size(), kCount / 2);
    EXPECT_EQ(contents(**map).size(), kCount / 2);
  }
}

TEST(JitDirectMaps, OnlyTheHashFamilyOffersEntries) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH,
                        BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    auto map = maps::create_map(spec_of(type, 4, 4));
    ASSERT_TRUE(map.ok());
    const maps::ProgramEntries e = maps::program_entries(**map);
    EXPECT_TRUE(e.lookup && e.update && e.erase) << type;
  }
  auto array = maps::create_map(spec_of(BPF_MAP_TYPE_ARRAY, 4, 4));
  ASSERT_TRUE(array.ok());
  const maps::ProgramEntries e = maps::program_entries(**array);
  EXPECT_FALSE(e.lookup || e.update || e.erase);
}

TEST(JitDirectMaps, WithoutAnEntryOrInliningTheHelperIsCalled) {
  auto map = maps::create_map(spec_of(BPF_MAP_TYPE_HASH, 4, 4));
  ASSERT_TRUE(map.ok());
  const Op op{Op::update, 3, 4, BPF_ANY};
  const auto code = op_program(reinterpret_cast<uint64_t>(map->get()), 4, op);
  DirectMapCall direct;
  direct.insn = call_index(code);
  direct.handle = reinterpret_cast<uint64_t>(map->get());
  direct.object = map->get();
  direct.lookup = maps::program_entries(**map).lookup;  // no update entry
  CompileOptions options;
  options.direct_maps.push_back(direct);
  g_helper_calls = 0;
  EngineResult r = run_engine(code, true, {}, counting_map_helpers(), nullptr, options);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.r0, 0u);
  EXPECT_EQ(g_helper_calls, 1);
  options.direct_maps[0].update = maps::program_entries(**map).update;
  options.inline_helpers = false;
  g_helper_calls = 0;
  r = run_engine(code, true, {}, counting_map_helpers(), nullptr, options);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(g_helper_calls, 1);
  options.inline_helpers = true;
  g_helper_calls = 0;
  r = run_engine(code, true, {}, counting_map_helpers(), nullptr, options);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(g_helper_calls, 0);
  EXPECT_EQ((*map)->size(), 1u);
}

// Options with `map` proven at the program's helper call, offering every entry it has.
CompileOptions proven_direct(maps::Map& map, const std::vector<RawInsn>& code) {
  const maps::ProgramEntries entries = maps::program_entries(map);
  DirectMapCall direct;
  direct.insn = call_index(code);
  direct.handle = reinterpret_cast<uint64_t>(&map);
  direct.object = &map;
  direct.lookup = entries.lookup;
  direct.update = entries.update;
  direct.erase = entries.erase;
  direct.key_size = entries.key_size;
  direct.value_size = map.spec().value_size;
  direct.lookup_value = entries.lookup_value;
  direct.update_value = entries.update_value;
  direct.r1_proven = true;
  CompileOptions options;
  options.direct_maps.push_back(direct);
  return options;
}

// A map the verifier proved (r1_proven) is called without comparing r1 with its handle, as
// Linux calls it: a program that passed another map (which a verified one cannot) reaches the
// proven map's entry with the proven map, not the helper (the call loads the entry's object
// itself, so the map's lddw may be left out).
TEST(JitDirectMaps, ProvenMapsAreCalledWithoutACheck) {
  Side side = make_side(spec_of(BPF_MAP_TYPE_HASH, 4, 4));
  ASSERT_TRUE(side.map && side.other);
  const Op op{Op::update, 3, 4, BPF_ANY};
  const auto code = op_program(reinterpret_cast<uint64_t>(side.other.get()), 4, op);
  const CompileOptions options = proven_direct(*side.map, code);
  g_helper_calls = 0;
  const EngineResult r = run_engine(code, true, {}, counting_map_helpers(), nullptr, options);
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, 0u);
  EXPECT_EQ(g_helper_calls, 0);
  EXPECT_EQ(side.map->size(), 1u);
  EXPECT_EQ(side.other->size(), 0u);
}

// A lookup on a proven map with its key passed by value reads neither r1, r2 nor the key's slot:
// the map's lddw, the key pointer's setup and the key's store get no code (and the value's store,
// which nothing reads, neither). The lookup still finds what an update stored.
TEST(JitDirectMaps, SetupsAByValueCallDoesNotReadGetNoCode) {
  Side side = make_side(spec_of(BPF_MAP_TYPE_HASH, 4, 4));
  ASSERT_TRUE(side.map);
  const uint32_t key = 3;
  const uint64_t value = 0x40;
  ASSERT_EQ(side.map->update(&key, &value, BPF_ANY), 0);
  g_key_from_register = true;
  const auto code = op_program(reinterpret_cast<uint64_t>(side.map.get()), 4, {Op::lookup, key});
  g_key_from_register = false;
  const CompileOptions options = proven_direct(*side.map, code);
  // lddw r6, key store, lddw r3, value store, lddw r1, r2 = r10 - 16, the call
  ASSERT_EQ(options.direct_maps[0].insn, 10u);
  auto jit = load(code, true, counting_map_helpers(), options);
  ASSERT_TRUE(jit.ok()) << jit.error().to_string();
  const auto& offsets = jit->native()->insn_offsets;
  for (size_t i : {2u, 5u, 6u, 8u, 9u})
    EXPECT_EQ(offsets[i + 1] - offsets[i], 0u) << "instruction " << i;
  EXPECT_NE(offsets[1] - offsets[0], 0u);  // r6's lddw: the key
  g_helper_calls = 0;
  const EngineResult r = run_engine(code, true, {}, counting_map_helpers(), nullptr, options);
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, value + 0x100);
  EXPECT_EQ(g_helper_calls, 0);
}

}  // namespace
}  // namespace userbpf::jit::testing

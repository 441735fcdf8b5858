// CO-RE relocation (object/core_relo.hpp) against target BTFs built here with libbpf's btf__add_*
// API, where fields moved, changed size or disappeared; against libbpf's own relocation of the
// same objects for the same targets; and against the host kernel's vmlinux BTF.
// The BPF programs are tests/object/progs/core_fields.bpf.c and core_task.bpf.c.
#ifdef USERBPF_BPF_OBJECT_DIR

#include "object/core_relo.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "isa/decode.hpp"
#include "object/object.hpp"

namespace userbpf::object {
namespace {

using BtfPtr = std::shared_ptr<::btf>;

BtfPtr new_btf() {
  return BtfPtr(btf__new_empty(), [](::btf* b) { btf__free(b); });
}

std::string obj_path(const std::string& name) {
  return std::string(USERBPF_BPF_OBJECT_DIR) + "/" + name;
}

Object open_ok(const std::string& name) {
  auto r = open(obj_path(name));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  if (!r.ok()) return Object{};
  return std::move(r).value();
}

const char* relo_kind_name(bpf_core_relo_kind k) {
  static const char* names[] = {"byte_off",    "byte_sz",    "field_exists",   "signed",
                                "lshift_u64",  "rshift_u64", "local_type_id",  "target_type_id",
                                "type_exists", "type_size",  "enumval_exists", "enumval_value",
                                "type_matches"};
  return k <= BPF_CORE_TYPE_MATCHES ? names[k] : "?";
}

// A readable name for a relocation, from the object's BTF: "byte_off:core_sample.inner.b",
// "byte_off:core_sample.arr[2]", "type_size:core_sample", "enumval_value:core_color::CORE_BLUE".
std::string describe(const ::btf* b, const CoreRelo& r) {
  std::string out = std::string(relo_kind_name(r.kind)) + ":";
  const btf_type* root = btf__type_by_id(b, r.type_id);
  out += btf__name_by_offset(b, root->name_off);
  std::vector<uint32_t> idx;
  for (size_t p = 0; p < r.access.size();) {
    size_t q = r.access.find(':', p);
    if (q == std::string::npos) q = r.access.size();
    idx.push_back(static_cast<uint32_t>(std::stoul(r.access.substr(p, q - p))));
    p = q + 1;
  }
  if (r.kind == BPF_CORE_ENUMVAL_EXISTS || r.kind == BPF_CORE_ENUMVAL_VALUE)
    return out + "::" + btf__name_by_offset(b, btf_enum(root)[idx[0]].name_off);
  if (r.kind >= BPF_CORE_TYPE_ID_LOCAL) return out;
  if (idx[0] != 0) out += "[" + std::to_string(idx[0]) + "]";
  uint32_t id = r.type_id;
  for (size_t i = 1; i < idx.size(); ++i) {
    const btf_type* t = btf__type_by_id(b, id);
    while (btf_is_typedef(t) || btf_is_mod(t)) t = btf__type_by_id(b, id = t->type);
    if (btf_is_array(t)) {
      out += "[" + std::to_string(idx[i]) + "]";
      id = btf_array(t)->type;
    } else {
      const btf_member* m = btf_members(t) + idx[i];
      if (m->name_off) out += std::string(".") + btf__name_by_offset(b, m->name_off);
      id = m->type;
    }
  }
  return out;
}

bool poisoned(const isa::RawInsn& i) {
  return i.code == (BPF_JMP | BPF_CALL) && i.imm == kCorePoisonImm && i.src_reg == 0 &&
         i.dst_reg == 0 && i.off == 0;
}

// The value a relocated instruction carries: imm (ALU), off (memory), imm64 (lddw).
int64_t relocated_value(const std::vector<isa::RawInsn>& insns, uint32_t at) {
  const isa::RawInsn& i = insns[at];
  switch (BPF_CLASS(i.code)) {
    case BPF_ALU:
    case BPF_ALU64: return i.imm;
    case BPF_LD:
      return static_cast<int64_t>(
          static_cast<uint32_t>(i.imm) |
          (static_cast<uint64_t>(static_cast<uint32_t>(insns[at + 1].imm)) << 32));
    default: return i.off;
  }
}

constexpr int64_t kPoison = INT64_MIN;

// Checks every relocation of every program: each relocated instruction must hold the expected
// value (or be poisoned), and each relocation must have an expectation.
void expect_relocated(const Object& obj, const std::map<std::string, int64_t>& want) {
  size_t checked = 0;
  for (const Program& p : obj.programs) {
    for (const CoreRelo& r : p.core_relos) {
      const std::string what =
          p.name + " insn " + std::to_string(r.insn) + " " + describe(obj.btf.get(), r);
      auto it = want.find(describe(obj.btf.get(), r));
      if (it == want.end()) {
        ADD_FAILURE() << "no expectation for " << what;
        continue;
      }
      ++checked;
      if (it->second == kPoison) {
        EXPECT_TRUE(poisoned(p.insns[r.insn])) << what;
      } else {
        EXPECT_FALSE(poisoned(p.insns[r.insn])) << what;
        EXPECT_EQ(relocated_value(p.insns, r.insn), it->second) << what;
      }
    }
  }
  EXPECT_GT(checked, 0u);
}

// A target where struct core_sample is laid out differently from core_kernel.h: fields moved,
// `narrow` grew to u32, `signed_narrow` to s32, `gone` is missing, the anonymous struct swapped
// its members, `arr` has 8 elements, bitfields moved, `renamed_in_v2` exists (for the ___v2
// flavor). enum core_color has CORE_BLUE = 5 and no CORE_GONE; struct core_missing is missing.
struct MovedTarget {
  BtfPtr btf;
  int sample_id = 0;
};

MovedTarget build_moved_target() {
  MovedTarget m;
  m.btf = new_btf();
  ::btf* b = m.btf.get();
  const int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const int u32 = btf__add_int(b, "unsigned int", 4, 0);
  const int s64 = btf__add_int(b, "long long int", 8, BTF_INT_SIGNED);
  const int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
  const int name = btf__add_array(b, s32, chr, 16);
  const int arr = btf__add_array(b, s32, s32, 8);
  const int inner = btf__add_struct(b, "core_inner", 8);
  btf__add_field(b, "b", s32, 0, 0);
  btf__add_field(b, "a", s32, 32, 0);
  const int anon = btf__add_struct(b, nullptr, 8);
  btf__add_field(b, "anon_y", s32, 0, 0);
  btf__add_field(b, "anon_x", s32, 32, 0);
  const int ptr = btf__add_ptr(b, btf__type_cnt(b) + 1);
  m.sample_id = btf__add_struct(b, "core_sample", 112);
  EXPECT_EQ(m.sample_id, ptr + 1);
  btf__add_field(b, "name", name, 0, 0);
  btf__add_field(b, "first", s32, 16 * 8, 0);
  btf__add_field(b, "narrow", u32, 20 * 8, 0);
  btf__add_field(b, "signed_narrow", s32, 24 * 8, 0);
  btf__add_field(b, nullptr, anon, 28 * 8, 0);
  btf__add_field(b, "wide", s64, 40 * 8, 0);
  btf__add_field(b, "inner", inner, 48 * 8, 0);
  btf__add_field(b, "arr", arr, 56 * 8, 0);
  btf__add_field(b, "bf_lo", u32, 88 * 8, 3);
  btf__add_field(b, "bf_hi", u32, 88 * 8 + 5, 9);
  btf__add_field(b, "bf_signed", s32, 88 * 8 + 20, 5);
  btf__add_field(b, "next", ptr, 96 * 8, 0);
  btf__add_field(b, "renamed_in_v2", s32, 104 * 8, 0);
  btf__add_enum(b, "core_color", 4);
  btf__add_enum_value(b, "CORE_RED", 0);
  btf__add_enum_value(b, "CORE_GREEN", 1);
  btf__add_enum_value(b, "CORE_BLUE", 5);
  return m;
}

// What every relocation of core_fields.bpf.o must become against build_moved_target().
std::map<std::string, int64_t> moved_expectations(const Object& obj, int target_sample_id) {
  const int local_sample = btf__find_by_name_kind(obj.btf.get(), "core_sample", BTF_KIND_STRUCT);
  return {
      {"byte_off:core_sample.wide", 40},
      {"byte_off:core_sample.narrow", 20},
      {"byte_off:core_sample.anon_y", 28},
      {"byte_off:core_sample.inner.b", 48},
      {"byte_off:core_sample.arr[2]", 64},
      {"byte_off:core_sample.next", 96},
      {"byte_off:core_sample.first", 16},
      // bf_hi: bits 709..717 of an unsigned int: 4-byte load at 88, << (64-14), >> 55.
      {"byte_off:core_sample.bf_hi", 88},
      {"byte_sz:core_sample.bf_hi", 4},
      {"lshift_u64:core_sample.bf_hi", 50},
      {"rshift_u64:core_sample.bf_hi", 55},
      {"signed:core_sample.bf_hi", 0},
      // bf_signed: bits 724..728 of an int.
      {"byte_off:core_sample.bf_signed", 88},
      {"byte_sz:core_sample.bf_signed", 4},
      {"lshift_u64:core_sample.bf_signed", 39},
      {"rshift_u64:core_sample.bf_signed", 59},
      {"signed:core_sample.bf_signed", 1},
      {"field_exists:core_sample.gone", 0},
      {"byte_off:core_sample.gone", kPoison},  // guarded by the existence check
      {"byte_sz:core_sample.name", 16},
      {"field_exists:core_sample___v2.renamed_in_v2", 1},
      {"type_exists:core_missing", 0},
      {"type_size:core_sample", 112},
      {"enumval_exists:core_color::CORE_GONE", 0},
      {"enumval_value:core_color::CORE_BLUE", 5},
      {"byte_sz:core_sample.signed_narrow", 4},
      {"target_type_id:core_sample", target_sample_id},
      {"local_type_id:core_sample", local_sample},
      // core_direct's loads: s16 -> s32 can't be widened safely, so that load is poisoned.
      {"byte_off:core_sample.signed_narrow", kPoison},
      {"byte_off:core_sample.inner.a", 52},
      {"byte_off:core_sample.arr[3]", 68},
  };
}

TEST(CoreRelo, EssentialNames) {
  EXPECT_EQ(core_essential_name_len("task_struct___old"), 11u);
  EXPECT_EQ(core_essential_name_len("task_struct___2"), 11u);
  EXPECT_EQ(core_essential_name_len("a___b___c"), 5u);  // only the last separator counts
  EXPECT_EQ(core_essential_name_len("task_struct"), 11u);
  EXPECT_EQ(core_essential_name_len("__u64"), 5u);
  EXPECT_EQ(core_essential_name_len("a____b"), 6u);  // "____b": Y would start with '_'
  EXPECT_EQ(core_essential_name_len("_____b"), 6u);
  EXPECT_EQ(core_essential_name_len("x___"), 4u);
  EXPECT_EQ(core_essential_name_len("a___b"), 1u);
  EXPECT_EQ(core_essential_name_len(""), 0u);
}

TEST(CoreRelo, RecordsOfTheTestProgram) {
  Object obj = open_ok("core_fields.bpf.o");
  ASSERT_NE(obj.btf, nullptr);
  const Program* p = obj.find_program("core_fields");
  ASSERT_NE(p, nullptr);
  // Every relocation kind the compiler emits for these builtins appears.
  std::map<bpf_core_relo_kind, int> kinds;
  for (const Program& prog : obj.programs)
    for (const CoreRelo& r : prog.core_relos) ++kinds[r.kind];
  for (bpf_core_relo_kind k :
       {BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_BYTE_SIZE, BPF_CORE_FIELD_EXISTS,
        BPF_CORE_FIELD_SIGNED, BPF_CORE_FIELD_LSHIFT_U64, BPF_CORE_FIELD_RSHIFT_U64,
        BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_ID_TARGET, BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_SIZE,
        BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE})
    EXPECT_GT(kinds[k], 0) << relo_kind_name(k);
}

TEST(CoreRelo, AgainstItsOwnBtfOnlyBitfieldLoadsChange) {
  Object obj = open_ok("core_fields.bpf.o");
  const Object before = obj;
  ASSERT_TRUE(apply_core(obj, obj.btf.get()).ok());
  ASSERT_EQ(obj.programs.size(), before.programs.size());
  for (size_t i = 0; i < obj.programs.size(); ++i) {
    // Bitfield loads are the one place where libbpf's choice (the smallest aligned load of the
    // field's type size covering it) may differ from clang's; their values aren't validated.
    std::set<uint32_t> bitfield_insns;
    for (const CoreRelo& r : obj.programs[i].core_relos)
      if (describe(obj.btf.get(), r).find(".bf_") != std::string::npos)
        bitfield_insns.insert(r.insn);
    const auto& a = obj.programs[i].insns;
    const auto& b = before.programs[i].insns;
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      if (bitfield_insns.count(static_cast<uint32_t>(k))) continue;
      EXPECT_EQ(std::memcmp(&a[k], &b[k], sizeof(a[k])), 0) << obj.programs[i].name << " " << k;
    }
  }
}

TEST(CoreRelo, MovedResizedAndMissingFields) {
  Object obj = open_ok("core_fields.bpf.o");
  MovedTarget target = build_moved_target();
  const Object before = obj;
  auto st = apply_core(obj, target.btf.get());
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  expect_relocated(obj, moved_expectations(obj, target.sample_id));

  // The u16 -> u32 field: the direct load is widened to a 4-byte access.
  const Program* direct = obj.find_program("core_direct");
  ASSERT_NE(direct, nullptr);
  for (const CoreRelo& r : direct->core_relos) {
    const std::string d = describe(obj.btf.get(), r);
    const uint8_t old_code = before.find_program("core_direct")->insns[r.insn].code;
    if (d == "byte_off:core_sample.narrow") {
      EXPECT_EQ(BPF_SIZE(old_code), BPF_H);
      EXPECT_EQ(direct->insns[r.insn].code, BPF_LDX | BPF_MEM | BPF_W);
    } else if (!poisoned(direct->insns[r.insn])) {
      EXPECT_EQ(direct->insns[r.insn].code, old_code) << d;
    }
  }
  // Only relocated instructions changed, and the results still decode.
  for (size_t i = 0; i < obj.programs.size(); ++i) {
    std::set<uint32_t> relocated;
    for (const CoreRelo& r : obj.programs[i].core_relos) {
      relocated.insert(r.insn);
      relocated.insert(r.insn + 1);  // an lddw's second slot
    }
    for (size_t k = 0; k < obj.programs[i].insns.size(); ++k)
      if (!relocated.count(static_cast<uint32_t>(k))) {
        EXPECT_EQ(std::memcmp(&obj.programs[i].insns[k], &before.programs[i].insns[k], 8), 0);
      }
    EXPECT_TRUE(isa::decode(obj.programs[i].insns).ok()) << obj.programs[i].name;
  }
}

TEST(CoreRelo, PoisonedLddwCoversBothSlots) {
  // Without enum core_color in the target, CORE_BLUE's value (an lddw) is poisoned whole.
  Object obj = open_ok("core_fields.bpf.o");
  BtfPtr t = new_btf();
  btf__add_int(t.get(), "int", 4, BTF_INT_SIGNED);
  ASSERT_TRUE(apply_core(obj, t.get()).ok());
  bool seen = false;
  for (const CoreRelo& r : obj.find_program("core_fields")->core_relos) {
    const auto& insns = obj.find_program("core_fields")->insns;
    const std::string d = describe(obj.btf.get(), r);
    if (d == "enumval_value:core_color::CORE_BLUE") {
      seen = true;
      EXPECT_TRUE(poisoned(insns[r.insn]) && poisoned(insns[r.insn + 1]));
    }
    // Existence checks resolve to 0, never to a poisoned instruction.
    if (r.kind == BPF_CORE_FIELD_EXISTS || r.kind == BPF_CORE_TYPE_EXISTS ||
        r.kind == BPF_CORE_ENUMVAL_EXISTS) {
      EXPECT_FALSE(poisoned(insns[r.insn])) << d;
      EXPECT_EQ(relocated_value(insns, r.insn), 0) << d;
    }
    if (r.kind == BPF_CORE_TYPE_SIZE || r.kind == BPF_CORE_TYPE_ID_TARGET) {
      EXPECT_EQ(relocated_value(insns, r.insn), 0) << d;
    }
    if (r.kind == BPF_CORE_FIELD_BYTE_OFFSET) {
      EXPECT_TRUE(poisoned(insns[r.insn])) << d;
    }
  }
  EXPECT_TRUE(seen);
}

// Two candidates (a struct and a flavor of it) that disagree on where `first` is.
TEST(CoreRelo, AmbiguousCandidatesAreRefused) {
  Object obj = open_ok("core_fields.bpf.o");
  BtfPtr t = new_btf();
  ::btf* b = t.get();
  const int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  btf__add_struct(b, "core_sample", 8);
  btf__add_field(b, "first", s32, 0, 0);
  btf__add_struct(b, "core_sample___other", 8);
  btf__add_field(b, "first", s32, 32, 0);
  auto st = apply_core(obj, b);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("ambiguity"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("prog 'core_fields'"), std::string::npos);
  EXPECT_EQ(st.error().where.section, "raw_tp/sys_enter");
  // The instruction named is the one reading next->first.
  const Program* p = obj.find_program("core_fields");
  bool named = false;
  for (const CoreRelo& r : p->core_relos)
    if (r.insn == st.error().where.insn)
      named = describe(obj.btf.get(), r) == "byte_off:core_sample.first";
  EXPECT_TRUE(named) << st.error().to_string();
}

TEST(CoreRelo, IdenticalCandidatesAreNotAmbiguousAndArePruned) {
  Object obj = open_ok("core_fields.bpf.o");
  const int local = btf__find_by_name_kind(obj.btf.get(), "core_sample", BTF_KIND_STRUCT);
  BtfPtr t = new_btf();
  ::btf* b = t.get();
  const int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const int a = btf__add_struct(b, "core_sample", 8);
  btf__add_field(b, "first", s32, 0, 0);
  btf__add_field(b, "gone", s32, 32, 0);
  const int c = btf__add_struct(b, "core_sample___2", 8);
  btf__add_field(b, "first", s32, 0, 0);
  btf__add_field(b, "gone", s32, 32, 0);
  const int d = btf__add_struct(b, "core_sample___3", 4);  // no `gone`
  btf__add_field(b, "first", s32, 0, 0);

  CoreCandidateCache cache;
  CoreRelo first{0, static_cast<uint32_t>(local), "0:0", BPF_CORE_FIELD_BYTE_OFFSET};
  auto r = resolve_core_relo(obj.btf.get(), first, b, cache);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->new_val, 0u);
  EXPECT_EQ(cache[local], (std::vector<uint32_t>{uint32_t(a), uint32_t(c), uint32_t(d)}));
  // `gone` (member 10) exists in two candidates only: the cache keeps those two.
  CoreRelo gone{0, static_cast<uint32_t>(local), "0:10", BPF_CORE_FIELD_BYTE_OFFSET};
  r = resolve_core_relo(obj.btf.get(), gone, b, cache);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->new_val, 4u);
  EXPECT_FALSE(r->poison);
  EXPECT_EQ(cache[local], (std::vector<uint32_t>{uint32_t(a), uint32_t(c)}));
}

// A local BTF with `struct s { int a; long b; }` and the given target, for TYPE_* relocations.
struct TypePair {
  BtfPtr local = new_btf();
  BtfPtr target = new_btf();
  int local_s = 0;
};

Result<CoreReloResult> type_relo(TypePair& p, bpf_core_relo_kind kind) {
  CoreCandidateCache cache;
  return resolve_core_relo(p.local.get(), CoreRelo{0, uint32_t(p.local_s), "0", kind},
                           p.target.get(), cache);
}

TypePair make_local_s() {
  TypePair p;
  const int i = btf__add_int(p.local.get(), "int", 4, BTF_INT_SIGNED);
  const int l = btf__add_int(p.local.get(), "long", 8, BTF_INT_SIGNED);
  p.local_s = btf__add_struct(p.local.get(), "s", 16);
  btf__add_field(p.local.get(), "a", i, 0, 0);
  btf__add_field(p.local.get(), "b", l, 64, 0);
  return p;
}

TEST(CoreRelo, TypeMatchesIsStricterThanTypeExists) {
  {  // Reordered and extended, same member types: matches.
    TypePair p = make_local_s();
    ::btf* t = p.target.get();
    const int l = btf__add_int(t, "long", 8, BTF_INT_SIGNED);
    const int i = btf__add_int(t, "int", 4, BTF_INT_SIGNED);
    btf__add_struct(t, "s___flavor", 24);
    btf__add_field(t, "b", l, 0, 0);
    btf__add_field(t, "a", i, 64, 0);
    btf__add_field(t, "c", i, 96, 0);
    auto m = type_relo(p, BPF_CORE_TYPE_MATCHES);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    EXPECT_EQ(m->new_val, 1u);
    auto sz = type_relo(p, BPF_CORE_TYPE_SIZE);
    ASSERT_TRUE(sz.ok());
    EXPECT_EQ(sz->orig_val, 16u);
    EXPECT_EQ(sz->new_val, 24u);
  }
  {  // `b` shrank to int: exists, but doesn't match.
    TypePair p = make_local_s();
    ::btf* t = p.target.get();
    const int i = btf__add_int(t, "int", 4, BTF_INT_SIGNED);
    btf__add_struct(t, "s", 8);
    btf__add_field(t, "a", i, 0, 0);
    btf__add_field(t, "b", i, 32, 0);
    auto m = type_relo(p, BPF_CORE_TYPE_MATCHES);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->new_val, 0u);
    auto e = type_relo(p, BPF_CORE_TYPE_EXISTS);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->new_val, 1u);
  }
  {  // A union of the same name is neither.
    TypePair p = make_local_s();
    const int i = btf__add_int(p.target.get(), "int", 4, BTF_INT_SIGNED);
    btf__add_union(p.target.get(), "s", 4);
    btf__add_field(p.target.get(), "a", i, 0, 0);
    EXPECT_EQ(type_relo(p, BPF_CORE_TYPE_MATCHES)->new_val, 0u);
    EXPECT_EQ(type_relo(p, BPF_CORE_TYPE_EXISTS)->new_val, 0u);
  }
}

TEST(CoreRelo, EnumFlavorsAndSignedValues) {
  BtfPtr local = new_btf(), target = new_btf();
  const int le = btf__add_enum(local.get(), "e___mine", 4);
  btf__add_enum_value(local.get(), "E_A", 1);
  btf__add_enum_value(local.get(), "E_B___old", 2);
  btf__add_enum(target.get(), "e", 4);
  btf__add_enum_value(target.get(), "E_B", -3);
  CoreCandidateCache cache;
  auto r = resolve_core_relo(local.get(), CoreRelo{0, uint32_t(le), "1", BPF_CORE_ENUMVAL_VALUE},
                             target.get(), cache);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->orig_val, 2u);
  EXPECT_EQ(r->new_val, static_cast<uint64_t>(-3));  // an s32, widened with its sign
  auto a = resolve_core_relo(local.get(), CoreRelo{0, uint32_t(le), "0", BPF_CORE_ENUMVAL_VALUE},
                             target.get(), cache);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->poison);
  auto ex = resolve_core_relo(local.get(), CoreRelo{0, uint32_t(le), "0", BPF_CORE_ENUMVAL_EXISTS},
                              target.get(), cache);
  ASSERT_TRUE(ex.ok());
  EXPECT_FALSE(ex->poison);
  EXPECT_EQ(ex->new_val, 0u);
}

TEST(CoreRelo, BadRecordsAreErrors) {
  Object obj = open_ok("core_fields.bpf.o");
  const int local = btf__find_by_name_kind(obj.btf.get(), "core_sample", BTF_KIND_STRUCT);
  CoreCandidateCache cache;
  auto check = [&](CoreRelo r, const char* needle) {
    auto res = resolve_core_relo(obj.btf.get(), r, obj.btf.get(), cache);
    ASSERT_FALSE(res.ok()) << r.access;
    EXPECT_NE(res.error().message.find(needle), std::string::npos) << res.error().message;
  };
  const uint32_t id = static_cast<uint32_t>(local);
  check({0, id, "0:99", BPF_CORE_FIELD_BYTE_OFFSET}, "out of range");
  check({0, id, "", BPF_CORE_FIELD_BYTE_OFFSET}, "empty");
  check({0, id, "0:x", BPF_CORE_FIELD_BYTE_OFFSET}, "malformed");
  check({0, id, "0:99999999999", BPF_CORE_FIELD_BYTE_OFFSET}, "too large");
  check({0, id, "0:0:1", BPF_CORE_FIELD_BYTE_OFFSET}, "neither struct");  // into an int
  check({0, id, "1", BPF_CORE_TYPE_SIZE}, "type relocation");
  check({0, 100000, "0", BPF_CORE_TYPE_SIZE}, "no such type");
  check({0, id, "0:6:9", BPF_CORE_FIELD_BYTE_OFFSET}, "out of bounds");  // arr[9] of int[4]
  // (An unknown kind never reaches a CoreRelo: open() refuses it while reading .BTF.ext.)
  std::string deep = "0";
  for (int i = 0; i < 70; ++i) deep += ":0";
  check({0, id, deep, BPF_CORE_FIELD_BYTE_OFFSET}, "too deep");

  // An instruction that doesn't hold the compiler's value is refused, naming the instruction.
  Object bad = open_ok("core_fields.bpf.o");
  Program& p = bad.programs.front();
  const CoreRelo& first = p.core_relos.front();
  p.insns[first.insn].imm += 1000;
  auto st = apply_core(bad, bad.btf.get());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().where.insn, first.insn);
  EXPECT_NE(st.error().message.find("expected"), std::string::npos) << st.error().message;
  // A record beyond the program.
  Object past = open_ok("core_fields.bpf.o");
  past.programs.front().core_relos.front().insn = 1u << 20;
  st = apply_core(past, past.btf.get());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("beyond"), std::string::npos) << st.error().message;
  // No target at all.
  Object none = open_ok("core_fields.bpf.o");
  EXPECT_FALSE(apply_core(none, nullptr).ok());
}

// ---- libbpf and the host kernel as references.

// Whether the last libbpf_relocated() call's bpf_object__load passed the kernel's verifier.
bool& libbpf_loaded() {
  static bool loaded = false;
  return loaded;
}

std::string& libbpf_log() {
  static std::string log;
  return log;
}

int capture_print(enum libbpf_print_level, const char* fmt, va_list args) {
  char buf[2048];
  vsnprintf(buf, sizeof(buf), fmt, args);
  libbpf_log() += buf;
  return 0;
}

// Each program's instructions as libbpf relocated them for `target` (nullptr: the running
// kernel's BTF), after bpf_object__load (which applies CO-RE, then may or may not pass the
// verifier: only the relocation matters here).
std::optional<std::map<std::string, std::vector<bpf_insn>>> libbpf_relocated(
    const std::string& file, const ::btf* target) {
  std::string btf_file;
  if (target) {
    uint32_t size = 0;
    const void* raw = btf__raw_data(target, &size);
    btf_file = "/tmp/userbpf_core_target_" + std::to_string(getpid()) + ".btf";
    std::ofstream(btf_file, std::ios::binary).write(static_cast<const char*>(raw), size);
  }
  libbpf_log().clear();
  libbpf_loaded() = false;
  libbpf_print_fn_t old = libbpf_set_print(capture_print);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = target ? btf_file.c_str() : nullptr);
  bpf_object* lb = bpf_object__open_file(file.c_str(), &opts);
  std::optional<std::map<std::string, std::vector<bpf_insn>>> out;
  if (lb) {
    libbpf_loaded() = bpf_object__load(lb) == 0;
    out.emplace();
    bpf_program* prog;
    bpf_object__for_each_program(prog, lb) {
      const bpf_insn* insns = bpf_program__insns(prog);
      (*out)[bpf_program__name(prog)].assign(insns, insns + bpf_program__insn_cnt(prog));
    }
    bpf_object__close(lb);
  }
  libbpf_set_print(old);
  if (!btf_file.empty()) std::filesystem::remove(btf_file);
  return out;
}

// Compares every CO-RE relocated instruction (both slots of an lddw) with libbpf's.
void expect_same_as_libbpf(const Object& mine,
                           const std::map<std::string, std::vector<bpf_insn>>& lb) {
  size_t compared = 0;
  for (const Program& p : mine.programs) {
    auto it = lb.find(p.name);
    ASSERT_NE(it, lb.end()) << p.name;
    for (const CoreRelo& r : p.core_relos) {
      const bool two_slots = r.insn + 1 < p.insns.size() &&
                             (BPF_CLASS(p.insns[r.insn].code) == BPF_LD ||
                              (poisoned(p.insns[r.insn]) && poisoned(p.insns[r.insn + 1])));
      for (uint32_t k = r.insn; k <= r.insn + (two_slots ? 1u : 0u); ++k) {
        ASSERT_LT(k, it->second.size());
        const bpf_insn& a = p.insns[k];
        const bpf_insn& b = it->second[k];
        EXPECT_TRUE(a.code == b.code && a.dst_reg == b.dst_reg && a.src_reg == b.src_reg &&
                    a.off == b.off && a.imm == b.imm)
            << p.name << " insn " << k << " (" << describe(mine.btf.get(), r) << "): userbpf "
            << int(a.code) << " off " << a.off << " imm " << a.imm << ", libbpf " << int(b.code)
            << " off " << b.off << " imm " << b.imm;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 0u);
}

TEST(CoreRelo, SameAsLibbpfForMovedTarget) {
  if (geteuid() != 0) GTEST_SKIP() << "libbpf applies CO-RE only in bpf_object__load (needs bpf())";
  Object obj = open_ok("core_fields.bpf.o");
  MovedTarget target = build_moved_target();
  ASSERT_TRUE(apply_core(obj, target.btf.get()).ok());
  auto lb = libbpf_relocated(obj_path("core_fields.bpf.o"), target.btf.get());
  ASSERT_TRUE(lb.has_value()) << libbpf_log();
  expect_same_as_libbpf(obj, *lb);
}

TEST(CoreRelo, SameAsLibbpfAndKernelForVmlinux) {
  if (geteuid() != 0) GTEST_SKIP() << "needs bpf() to load into the kernel";
  BtfPtr vmlinux(btf__load_vmlinux_btf(), [](::btf* b) { btf__free(b); });
  if (!vmlinux) GTEST_SKIP() << "no vmlinux BTF";
  Object obj = open_ok("core_task.bpf.o");
  auto st = apply_core(obj, vmlinux.get());
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  auto lb = libbpf_relocated(obj_path("core_task.bpf.o"), nullptr);
  ASSERT_TRUE(lb.has_value()) << libbpf_log();
  // The kernel's verifier accepted the program libbpf relocated, so it accepts ours: they are
  // the same instructions.
  EXPECT_TRUE(libbpf_loaded()) << libbpf_log();
  expect_same_as_libbpf(obj, *lb);
  // The offsets are the kernel's: pid and tgid are adjacent s32s, comm is 16 bytes, and nothing
  // was poisoned.
  const Program& p = obj.programs.front();
  std::map<std::string, int64_t> got;
  for (const CoreRelo& r : p.core_relos) {
    EXPECT_FALSE(poisoned(p.insns[r.insn])) << describe(obj.btf.get(), r);
    got[describe(obj.btf.get(), r)] = relocated_value(p.insns, r.insn);
  }
  EXPECT_EQ(got["byte_off:task_struct.tgid"], got["byte_off:task_struct.pid"] + 4);
  EXPECT_EQ(got["byte_sz:task_struct.comm"], 16);
  const int ts = btf__find_by_name_kind(vmlinux.get(), "task_struct", BTF_KIND_STRUCT);
  ASSERT_GT(ts, 0);
  const btf_type* t = btf__type_by_id(vmlinux.get(), ts);
  for (int i = 0; i < btf_vlen(t); ++i) {
    const std::string name = btf__name_by_offset(vmlinux.get(), btf_members(t)[i].name_off);
    if (name == "pid" || name == "real_parent" || name == "comm") {
      EXPECT_EQ(got["byte_off:task_struct." + name], btf_member_bit_offset(t, i) / 8) << name;
    }
  }
}

TEST(CoreRelo, RandomTargetsSameAsLibbpf) {
  // Random struct core_sample layouts built from random members: every outcome is a value, a
  // poison or an error, never a crash; results stay decodable; and where bpf() is available,
  // libbpf relocates the same object for the same target to the same instructions, or fails
  // to relocate it when we refuse it.
  const bool with_libbpf = geteuid() == 0;
  std::mt19937 rng(7);
  const char* names[] = {"first",     "wide", "narrow", "signed_narrow", "inner",  "arr", "bf_hi",
                         "bf_signed", "gone", "name",   "next",          "anon_y", "b",   "a"};
  size_t ok = 0, errors = 0, compared = 0;
  for (int round = 0; round < 400; ++round) {
    Object obj = open_ok("core_fields.bpf.o");
    BtfPtr t = new_btf();
    ::btf* b = t.get();
    const int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
    const int u16 = btf__add_int(b, "unsigned short", 2, 0);
    const int s64 = btf__add_int(b, "long", 8, BTF_INT_SIGNED);
    const int arr = btf__add_array(b, s32, s32, rng() % 6);
    const int inner = btf__add_struct(b, "core_inner", 8);
    btf__add_field(b, names[rng() % 14], s32, 0, 0);
    btf__add_field(b, names[rng() % 14], s32, 32, 0);
    const int ptr = btf__add_ptr(b, btf__type_cnt(b) + 1);  // to core_sample, added next
    const int types[] = {s32, u16, s64, arr, inner, ptr};
    const int n = 1 + static_cast<int>(rng() % 10);
    btf__add_struct(b, rng() % 2 ? "core_sample" : "core_sample___r", 8u * n + 8);
    // A bitfield of a non-integer type is hostile BTF that libbpf (1.1 and 6.12's relo_core.c)
    // divides by zero on (SIGFPE); we refuse it, libbpf isn't asked about those targets.
    bool hostile = false;
    for (int i = 0; i < n; ++i) {
      const int ty = types[rng() % 6];
      const uint32_t bits = rng() % 4 == 0 ? 1 + rng() % 7 : 0;
      hostile |= bits && ty != s32 && ty != u16 && ty != s64;
      btf__add_field(b, rng() % 8 ? names[rng() % 14] : nullptr, ty,
                     static_cast<uint32_t>(i * 64 + (bits ? rng() % 24 : 0)), bits);
    }
    auto st = apply_core(obj, b);
    std::optional<std::map<std::string, std::vector<bpf_insn>>> lb;
    const bool compare = with_libbpf && !hostile;
    compared += compare;
    if (compare) lb = libbpf_relocated(obj_path("core_fields.bpf.o"), b);
    const bool libbpf_refused = libbpf_log().find("failed to relocate") != std::string::npos ||
                                libbpf_log().find("failed to patch") != std::string::npos;
    if (!st.ok()) {
      ++errors;
      EXPECT_FALSE(st.error().message.empty());
      if (compare) {
        EXPECT_TRUE(libbpf_refused) << st.error().to_string();
      }
      continue;
    }
    ++ok;
    for (const Program& p : obj.programs) EXPECT_TRUE(isa::decode(p.insns).ok());
    if (compare) {
      EXPECT_FALSE(libbpf_refused) << libbpf_log();
      ASSERT_TRUE(lb.has_value());
      expect_same_as_libbpf(obj, *lb);
    }
  }
  EXPECT_EQ(ok + errors, 400u);
  EXPECT_GT(ok, 0u);
  EXPECT_GT(errors, 0u);
  if (with_libbpf) {
    EXPECT_GT(compared, 150u);
  }
  EXPECT_GT(ok, 100u) << errors << " refused";
}

}  // namespace
}  // namespace userbpf::object

#endif  // USERBPF_BPF_OBJECT_DIR

// The object loader against the BPF programs of tests/object/progs (compiled at build time), the
// seed tutorial's hello_kern.c, and libbpf itself (same relocated instructions and map
// definitions). Needs the build to define USERBPF_BPF_OBJECT_DIR (cmake/BpfPrograms.cmake,
// userbpf_add_object_tests); without it there are no objects to test and the file is empty.
#ifdef USERBPF_BPF_OBJECT_DIR

#include "object/object.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "isa/decode.hpp"
#include "object/elf_file.hpp"

namespace userbpf::object {
namespace {

std::string obj_path(const std::string& name) {
  return std::string(USERBPF_BPF_OBJECT_DIR) + "/" + name;
}

Object open_ok(const std::string& name) {
  auto r = open(obj_path(name));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  if (!r.ok()) return Object{};
  return std::move(r).value();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

size_t map_index(const Object& obj, const std::string& name) {
  auto idx = obj.find_map(name);
  EXPECT_TRUE(idx.has_value()) << name;
  return idx.value_or(SIZE_MAX);
}

TEST(ObjectLoader, SeedTutorialHello) {
  Object obj = open_ok("seed/hello_kern.o");
  ASSERT_EQ(obj.programs.size(), 1u);
  const Program& p = obj.programs[0];
  EXPECT_EQ(p.name, "hello");
  EXPECT_EQ(p.section, "tracepoint/syscalls/sys_enter_execve");
  EXPECT_EQ(p.def.prog_type, BPF_PROG_TYPE_TRACEPOINT);
  EXPECT_EQ(p.def.attach_target, "syscalls/sys_enter_execve");
  EXPECT_EQ(obj.license, "GPL");
  EXPECT_EQ(obj.name, "hello_kern");
  EXPECT_EQ(obj.btf, nullptr);  // built without -g, as the tutorial does
  // The string literal lives in .rodata.str1.1, which becomes a frozen internal map.
  ASSERT_EQ(obj.maps.size(), 1u);
  EXPECT_EQ(obj.maps[0].name, ".rodata.str1.1");
  EXPECT_TRUE(obj.maps[0].frozen);
  EXPECT_EQ(std::string(obj.maps[0].initial_data.begin(), obj.maps[0].initial_data.end()),
            std::string("Hello, eBPF World!") + '\0');
  auto decoded = isa::decode(p.insns);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(p.insns.size(), p.own_insns);
}

TEST(ObjectLoader, GlobalDataMapsAndVariables) {
  Object obj = open_ok("globals.bpf.o");
  EXPECT_EQ(obj.license, "Dual BSD/GPL");
  std::vector<std::string> names;
  for (const MapDef& m : obj.maps) names.push_back(m.name);
  // libbpf's order: .maps in declaration order, then data sections in ELF order.
  EXPECT_EQ(names,
            (std::vector<std::string>{"counts", "scratch", "events", "pinned_lru", "globals.rodata",
                                      "globals.data", ".data.custom", "globals.bss"}));
  const MapDef& counts = obj.maps[0];
  EXPECT_EQ(counts.type, BPF_MAP_TYPE_HASH);
  EXPECT_EQ(counts.key_size, 4u);
  EXPECT_EQ(counts.value_size, 8u);
  EXPECT_EQ(counts.max_entries, 1024u);
  EXPECT_NE(counts.key_type_id, 0u);
  const MapDef& scratch = obj.maps[1];
  EXPECT_EQ(scratch.type, BPF_MAP_TYPE_PERCPU_ARRAY);
  EXPECT_EQ(scratch.value_size, 16u);
  EXPECT_EQ(scratch.map_flags, uint32_t{BPF_F_NUMA_NODE});
  EXPECT_EQ(scratch.key_type_id, 0u);  // key_size only, no BTF type
  EXPECT_EQ(obj.maps[2].type, BPF_MAP_TYPE_RINGBUF);
  EXPECT_EQ(obj.maps[3].pinning, 1u);

  const MapDef& rodata = obj.maps[map_index(obj, ".rodata")];
  EXPECT_TRUE(rodata.frozen);
  EXPECT_TRUE(rodata.map_flags & BPF_F_RDONLY_PROG);
  EXPECT_EQ(rodata.value_size, 16u);
  const Variable* threshold = obj.find_variable("config_threshold");
  const Variable* mask = obj.find_variable("config_mask");
  ASSERT_TRUE(threshold && mask);
  EXPECT_EQ(threshold->offset, 0u);
  EXPECT_EQ(mask->offset, 8u);
  EXPECT_EQ(mask->size, 8u);
  int32_t initial;
  std::memcpy(&initial, rodata.initial_data.data() + threshold->offset, 4);
  EXPECT_EQ(initial, 7);
  const MapDef& data = obj.maps[map_index(obj, ".data")];
  std::memcpy(&initial, data.initial_data.data(), 4);
  EXPECT_EQ(initial, 3);
  const MapDef& custom = obj.maps[map_index(obj, ".data.custom")];
  std::memcpy(&initial, custom.initial_data.data(), 4);
  EXPECT_EQ(initial, 42);
  EXPECT_TRUE(obj.maps[map_index(obj, ".bss")].initial_data.empty()) << ".bss starts zeroed";
  EXPECT_EQ(obj.maps[map_index(obj, ".bss")].value_size, 16u);

  // set_global before load, like a skeleton's rodata->config_threshold = 99.
  const int32_t want = 99;
  ASSERT_TRUE(
      set_global(obj, "config_threshold", {reinterpret_cast<const uint8_t*>(&want), sizeof(want)})
          .ok());
  std::memcpy(&initial, rodata.initial_data.data(), 4);
  EXPECT_EQ(initial, 99);
  EXPECT_FALSE(set_global(obj, "config_mask", {reinterpret_cast<const uint8_t*>(&want), 4}).ok());
  EXPECT_EQ(set_global(obj, "nope", {}).error().code, Errc::not_found);

  // The load of config_mask is an ld_imm64 map-value reference into .rodata at offset 8.
  const Program* prog = obj.find_program("count_writes");
  ASSERT_NE(prog, nullptr);
  bool found_mask = false, found_counts = false;
  for (size_t i = 0; i + 1 < prog->insns.size(); ++i) {
    const auto& in = prog->insns[i];
    if (in.code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
    if (in.src_reg == BPF_PSEUDO_MAP_IDX_VALUE &&
        in.imm == static_cast<int32_t>(map_index(obj, ".rodata")) && prog->insns[i + 1].imm == 8)
      found_mask = true;
    if (in.src_reg == BPF_PSEUDO_MAP_IDX && in.imm == 0) found_counts = true;
  }
  EXPECT_TRUE(found_mask);
  EXPECT_TRUE(found_counts);
}

TEST(ObjectLoader, SubprogramsAppendedAndCallsFixed) {
  Object obj = open_ok("subprogs.bpf.o");
  const Program* one = obj.find_program("entry_one");
  const Program* two = obj.find_program("entry_two");
  const Program* none = obj.find_program("no_calls");
  ASSERT_TRUE(one && two && none);
  EXPECT_EQ(one->subprograms, (std::vector<std::string>{"sum_of_squares", "square"}));
  EXPECT_EQ(two->subprograms, (std::vector<std::string>{"loop_step", "global_twice", "square"}));
  EXPECT_TRUE(none->subprograms.empty());
  EXPECT_EQ(none->insns.size(), none->own_insns);
  EXPECT_EQ(obj.find_program("square"), nullptr);  // .text functions are not programs
  for (const Program* p : {one, two}) {
    auto decoded = isa::decode(p->insns);
    ASSERT_TRUE(decoded.ok()) << p->name << ": " << decoded.error().to_string();
    // Every bpf-to-bpf call and function address lands on the start of an appended function,
    // which func_info records (one per function).
    std::vector<uint32_t> starts;
    for (const FuncInfo& fi : p->func_info) starts.push_back(fi.insn);
    EXPECT_EQ(starts.size(), p->subprograms.size() + 1);
    EXPECT_EQ(starts.front(), 0u);
    for (size_t i = 0; i < p->insns.size(); ++i) {
      const auto& in = p->insns[i];
      const bool call = in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL;
      const bool func = in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src_reg == BPF_PSEUDO_FUNC;
      if (!call && !func) continue;
      const uint32_t target = static_cast<uint32_t>(static_cast<int64_t>(i) + in.imm + 1);
      EXPECT_NE(std::find(starts.begin(), starts.end(), target), starts.end())
          << p->name << " insn " << i;
    }
  }
  // The bpf_loop callback is loaded with BPF_PSEUDO_FUNC and points at loop_step (appended first).
  bool saw_callback = false;
  for (size_t i = 0; i < two->insns.size(); ++i)
    if (two->insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
        two->insns[i].src_reg == BPF_PSEUDO_FUNC) {
      EXPECT_EQ(i + two->insns[i].imm + 1, two->own_insns);
      saw_callback = true;
    }
  EXPECT_TRUE(saw_callback);
  // Line info follows the code, including the appended subprograms.
  auto line = line_of(obj, *one, 0);
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->text.find("sum_of_squares(3, 4)"), std::string::npos) << line->text;
  EXPECT_NE(line->file.find("subprogs.bpf.c"), std::string::npos);
  auto in_square = line_of(obj, *one, one->insns.size() - 1);
  ASSERT_TRUE(in_square.has_value());
  EXPECT_NE(in_square->text.find("x * x"), std::string::npos) << in_square->text;
}

TEST(ObjectLoader, MapInMapAndProgArrayInitialValues) {
  Object obj = open_ok("map_in_map.bpf.o");
  const MapDef& outer = obj.maps[map_index(obj, "outer")];
  EXPECT_EQ(outer.type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  EXPECT_EQ(outer.value_size, 4u);
  ASSERT_TRUE(outer.inner);
  EXPECT_EQ(outer.inner->name, "outer.inner");
  EXPECT_EQ(outer.inner->type, BPF_MAP_TYPE_ARRAY);
  EXPECT_EQ(outer.inner->max_entries, 2u);
  ASSERT_EQ(outer.initial_slots.size(), 2u);
  EXPECT_EQ(outer.initial_slots[0].index, 0u);
  EXPECT_EQ(outer.initial_slots[0].target, "inner_a");
  EXPECT_EQ(outer.initial_slots[1].index, 3u);
  EXPECT_EQ(outer.initial_slots[1].target, "inner_b");
  const MapDef& hash = obj.maps[map_index(obj, "outer_hash")];
  ASSERT_TRUE(hash.inner);
  EXPECT_EQ(hash.inner->type, BPF_MAP_TYPE_HASH);
  EXPECT_EQ(hash.inner->key_size, 8u);
  EXPECT_EQ(hash.inner->value_size, 12u);
  EXPECT_EQ(hash.inner->max_entries, 64u);
  EXPECT_TRUE(hash.initial_slots.empty());
  const MapDef& jumps = obj.maps[map_index(obj, "jumps")];
  EXPECT_EQ(jumps.type, BPF_MAP_TYPE_PROG_ARRAY);
  ASSERT_EQ(jumps.initial_slots.size(), 2u);
  EXPECT_EQ(jumps.initial_slots[0].index, 1u);
  EXPECT_EQ(jumps.initial_slots[0].target, "tail_a");
  EXPECT_EQ(jumps.initial_slots[1].index, 2u);
  EXPECT_EQ(jumps.initial_slots[1].target, "tail_b");
  // Three programs in one "socket" section.
  int sockets = 0;
  for (const Program& p : obj.programs) sockets += p.section == "socket";
  EXPECT_EQ(sockets, 3);
}

TEST(ObjectLoader, LegacyMapsSectionWithWarning) {
  Object obj = open_ok("legacy_maps.bpf.o");
  ASSERT_EQ(obj.maps.size(), 2u);
  EXPECT_EQ(obj.maps[0].name, "legacy_hash");
  EXPECT_EQ(obj.maps[0].origin, MapOrigin::legacy);
  EXPECT_EQ(obj.maps[0].type, BPF_MAP_TYPE_HASH);
  EXPECT_EQ(obj.maps[0].value_size, 8u);
  EXPECT_EQ(obj.maps[0].max_entries, 128u);
  EXPECT_EQ(obj.maps[1].type, BPF_MAP_TYPE_ARRAY);
  EXPECT_EQ(obj.kern_version, 0x050a00u);
  ASSERT_FALSE(obj.warnings.empty());
  EXPECT_NE(obj.warnings[0].find("legacy"), std::string::npos);
  const Program& p = obj.programs.at(0);
  int refs[2] = {0, 0};
  for (const auto& in : p.insns)
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src_reg == BPF_PSEUDO_MAP_IDX && in.imm >= 0 &&
        in.imm < 2)
      ++refs[in.imm];
  EXPECT_EQ(refs[0], 1);
  EXPECT_EQ(refs[1], 1);
}

TEST(ObjectLoader, SectionTableAndExterns) {
  Object obj = open_ok("sections.bpf.o");
  struct Want {
    const char* name;
    bpf_prog_type type;
    int attach;
    const char* target;
    bool sleepable;
  };
  const Want wants[] = {
      {"kp", BPF_PROG_TYPE_KPROBE, 0, "do_exit", false},
      {"krp", BPF_PROG_TYPE_KPROBE, 0, "do_exit", false},
      {"up", BPF_PROG_TYPE_KPROBE, 0, "/bin/bash:readline", false},
      {"tp1", BPF_PROG_TYPE_TRACEPOINT, 0, "sched/sched_switch", false},
      {"tp2", BPF_PROG_TYPE_TRACEPOINT, 0, "sched/sched_switch", false},
      {"rawtp", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, "sys_enter", false},
      {"fent", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, "do_unlinkat", false},
      {"fex", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, "do_unlinkat", false},
      {"lsm_open", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "file_open", false},
      {"lsm_sleep", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "bprm_committed_creds", true},
      {"tc_prog", BPF_PROG_TYPE_SCHED_CLS, 0, "", false},
      {"cls", BPF_PROG_TYPE_SCHED_CLS, 0, "", false},
      {"xdp_frags", BPF_PROG_TYPE_XDP, BPF_XDP, "", false},
      {"perf", BPF_PROG_TYPE_PERF_EVENT, 0, "", false},
      {"sys", BPF_PROG_TYPE_SYSCALL, 0, "", true},
      {"cg_in", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, "", false},
      {"cg_conn", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, "", false},
      {"ksys", BPF_PROG_TYPE_KPROBE, 0, "openat", false},
      {"usdt_prog", BPF_PROG_TYPE_KPROBE, 0, "libc.so.6:libc:setjmp", false},
      {"reuse", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, "", false},
      {"mystery", BPF_PROG_TYPE_UNSPEC, 0, "", false},
  };
  ASSERT_EQ(obj.programs.size(), std::size(wants));
  for (const Want& w : wants) {
    const Program* p = obj.find_program(w.name);
    ASSERT_NE(p, nullptr) << w.name;
    EXPECT_EQ(p->def.prog_type, w.type) << w.name;
    EXPECT_EQ(static_cast<int>(p->def.expected_attach_type), w.attach) << w.name;
    EXPECT_EQ(p->def.attach_target, w.target) << w.name;
    EXPECT_EQ(p->def.sleepable, w.sleepable) << w.name;
  }
  // Unknown executable section: a program of type unspec, with libbpf's warning; the unknown
  // data section .notes.custom is skipped with a warning.
  bool warned_prog = false, warned_data = false;
  for (const std::string& w : obj.warnings) {
    warned_prog |= w.find("unknown_kind/whatever") != std::string::npos;
    warned_data |= w.find(".notes.custom") != std::string::npos;
  }
  EXPECT_TRUE(warned_prog);
  EXPECT_TRUE(warned_data);

  // .kconfig externs: laid out in one frozen map; LINUX_KERNEL_VERSION resolved through the hook.
  ASSERT_EQ(obj.externs.size(), 2u);
  const MapDef& kconfig = obj.maps[map_index(obj, ".kconfig")];
  EXPECT_EQ(kconfig.origin, MapOrigin::kconfig);
  EXPECT_TRUE(kconfig.frozen);
  const Extern* lkv = nullptr;
  for (const Extern& e : obj.externs)
    if (e.name == "LINUX_KERNEL_VERSION") lkv = &e;
  ASSERT_NE(lkv, nullptr);
  EXPECT_FALSE(lkv->weak);
  const uint32_t version = 0x061200;
  ASSERT_TRUE(
      resolve_kconfig(obj, [&](const std::string& name) -> std::optional<std::vector<uint8_t>> {
        if (name != "LINUX_KERNEL_VERSION") return std::nullopt;
        const auto* b = reinterpret_cast<const uint8_t*>(&version);
        return std::vector<uint8_t>(b, b + 4);
      }).ok());
  uint32_t stored;
  std::memcpy(&stored, kconfig.initial_data.data() + lkv->kconfig_offset, 4);
  EXPECT_EQ(stored, version);
  // The program reads it as a map value at the extern's offset.
  const Program* kp = obj.find_program("kp");
  bool found = false;
  for (size_t i = 0; i + 1 < kp->insns.size(); ++i)
    if (kp->insns[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE &&
        kp->insns[i].imm == static_cast<int32_t>(map_index(obj, ".kconfig")) &&
        kp->insns[i + 1].imm == static_cast<int32_t>(lkv->kconfig_offset))
      found = true;
  EXPECT_TRUE(found);
  // A strong extern nobody can resolve is an error; weak ones stay zero.
  auto st = resolve_kconfig(obj, [](const std::string&) { return std::nullopt; });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("LINUX_KERNEL_VERSION"), std::string::npos);
}

TEST(ObjectLoader, CoreRelocationsRecorded) {
  Object obj = open_ok("core.bpf.o");
  const Program& p = obj.programs.at(0);
  ASSERT_EQ(p.core_relos.size(), 15u);
  std::set<int> kinds;
  for (const CoreRelo& c : p.core_relos) {
    kinds.insert(c.kind);
    EXPECT_LT(c.insn, p.insns.size());
    EXPECT_FALSE(c.access.empty());
  }
  // Field byte offset/size/exists/signed/lshift/rshift, type id/exists/size, enum exists/value.
  for (int k : {0, 1, 2, 3, 4, 5, 8, 9, 10, 11}) EXPECT_TRUE(kinds.count(k)) << k;
  EXPECT_EQ(p.core_relos[0].access, "0:0");  // t->pid
}

// libbpf (open, record-only load through its gen_loader, which encodes maps by index exactly as
// userbpf does) must produce the very same instructions and map definitions.
// With `kernel`, libbpf really loads into the host kernel (for what its gen_loader cannot record,
// e.g. map-in-map initial slots) and map fds are translated back to map indexes.
void compare_with_libbpf(const std::string& file, bool kernel = false) {
  SCOPED_TRACE(file);
  auto mine = open(obj_path(file));
  ASSERT_TRUE(mine.ok()) << mine.error().to_string();
  libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });
  bpf_object* lb = bpf_object__open_file(obj_path(file).c_str(), nullptr);
  ASSERT_NE(lb, nullptr);
  gen_loader_opts gen{};
  gen.sz = sizeof(gen);
  if (!kernel) {
    ASSERT_EQ(bpf_object__gen_loader(lb, &gen), 0);
  }
  bpf_map* pin_map;
  bpf_object__for_each_map(pin_map, lb) bpf_map__set_pin_path(pin_map, nullptr);
  bpf_program* p;
  size_t n_progs = 0;
  bpf_object__for_each_program(p, lb) {
    ++n_progs;
    const Program* own = mine->find_program(bpf_program__name(p));
    ASSERT_NE(own, nullptr) << bpf_program__name(p);
    EXPECT_EQ(own->section, bpf_program__section_name(p));
    if (bpf_program__type(p) == BPF_PROG_TYPE_UNSPEC) {
      EXPECT_FALSE(own->def.known);
      bpf_program__set_autoload(p, false);
      continue;
    }
    EXPECT_EQ(own->def.prog_type, bpf_program__type(p)) << own->name;
    EXPECT_EQ(own->def.expected_attach_type, bpf_program__expected_attach_type(p)) << own->name;
  }
  EXPECT_EQ(n_progs, mine->programs.size());
  ASSERT_EQ(bpf_object__load(lb), 0);
  bpf_object__for_each_program(p, lb) {
    if (!bpf_program__autoload(p)) continue;
    const Program* own = mine->find_program(bpf_program__name(p));
    const bpf_insn* insns = bpf_program__insns(p);
    const size_t n = bpf_program__insn_cnt(p);
    ASSERT_EQ(own->insns.size(), n) << own->name;
    for (size_t i = 0; i < n; ++i) {
      const bpf_insn& a = own->insns[i];
      bpf_insn b = insns[i];
      if (kernel && b.code == (BPF_LD | BPF_IMM | BPF_DW) &&
          (b.src_reg == BPF_PSEUDO_MAP_FD || b.src_reg == BPF_PSEUDO_MAP_VALUE)) {
        int index = 0;
        bpf_map* fm;
        bpf_object__for_each_map(fm, lb) {
          if (bpf_map__fd(fm) == b.imm) break;
          ++index;
        }
        b.src_reg = b.src_reg == BPF_PSEUDO_MAP_FD ? BPF_PSEUDO_MAP_IDX : BPF_PSEUDO_MAP_IDX_VALUE;
        b.imm = index;
      }
      EXPECT_TRUE(a.code == b.code && a.dst_reg == b.dst_reg && a.src_reg == b.src_reg &&
                  a.off == b.off && a.imm == b.imm)
          << own->name << " insn " << i << ": userbpf " << int(a.code) << "/" << int(a.src_reg)
          << "/" << a.imm << " libbpf " << int(b.code) << "/" << int(b.src_reg) << "/" << b.imm;
    }
  }
  size_t i = 0;
  bpf_map* m;
  bpf_object__for_each_map(m, lb) {
    ASSERT_LT(i, mine->maps.size());
    const MapDef& own = mine->maps[i++];
    EXPECT_EQ(own.name, bpf_map__name(m));
    EXPECT_EQ(own.type, bpf_map__type(m)) << own.name;
    EXPECT_EQ(own.key_size, bpf_map__key_size(m)) << own.name;
    EXPECT_EQ(own.value_size, bpf_map__value_size(m)) << own.name;
    EXPECT_EQ(own.max_entries, bpf_map__max_entries(m)) << own.name;
    EXPECT_EQ(own.map_flags, bpf_map__map_flags(m)) << own.name;
    size_t size = 0;
    const void* init = bpf_map__initial_value(m, &size);
    if (init && own.origin == MapOrigin::bss) {
      EXPECT_TRUE(own.initial_data.empty()) << own.name;
      const auto* bytes = static_cast<const uint8_t*>(init);
      EXPECT_TRUE(std::all_of(bytes, bytes + size, [](uint8_t b) { return b == 0; })) << own.name;
    } else if (init && own.origin != MapOrigin::kconfig) {
      ASSERT_EQ(size, own.initial_data.size()) << own.name;
      EXPECT_EQ(std::memcmp(init, own.initial_data.data(), size), 0) << own.name;
    }
  }
  EXPECT_EQ(i, mine->maps.size());
  bpf_object__close(lb);
}

TEST(ObjectLoader, SameAsLibbpfGlobals) {
  compare_with_libbpf("globals.bpf.o");
}
TEST(ObjectLoader, SameAsLibbpfSubprogs) {
  compare_with_libbpf("subprogs.bpf.o");
}
TEST(ObjectLoader, SameAsLibbpfMapInMap) {
  if (geteuid() != 0) GTEST_SKIP() << "needs bpf() to load into the kernel";
  compare_with_libbpf("map_in_map.bpf.o", true);
}
TEST(ObjectLoader, SameAsLibbpfCore) {
  compare_with_libbpf("core.bpf.o");
}
TEST(ObjectLoader, SameAsLibbpfSections) {
  compare_with_libbpf("sections.bpf.o");
}
TEST(ObjectLoader, SameAsLibbpfSeedHello) {
  compare_with_libbpf("seed/hello_kern.o");
}

// ---- Errors: precise, never a crash.

TEST(ObjectLoaderErrors, MissingFileAndNotElf) {
  auto r = open(obj_path("does-not-exist.o"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().where.file.find("does-not-exist.o"), std::string::npos);
  const uint8_t junk[100] = {1, 2, 3};
  auto j = open(junk, "junk.o");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().where.file, "junk.o");
  auto exe = open("/bin/true");
  ASSERT_FALSE(exe.ok());
  EXPECT_NE(exe.error().message.find("relocatable"), std::string::npos) << exe.error().message;
}

TEST(ObjectLoaderErrors, EveryTruncationFailsCleanly) {
  const auto bytes = read_bytes(obj_path("subprogs.bpf.o"));
  ASSERT_GT(bytes.size(), 1000u);
  size_t errors = 0;
  for (size_t len = 0; len < bytes.size(); len += 7) {
    auto r = open(std::span<const uint8_t>(bytes.data(), len), "cut.o");
    if (!r.ok()) {
      ++errors;
      EXPECT_EQ(r.error().where.file, "cut.o");
    }
  }
  // The section headers sit at the end of the file: every real truncation loses them.
  EXPECT_EQ(errors, (bytes.size() + 6) / 7);
}

// Finds a section of an object image by name, through the loader's own ELF reader.
ElfSection section_named(const std::vector<uint8_t>& bytes, const std::string& name) {
  auto elf = read_elf(bytes, "x.o");
  EXPECT_TRUE(elf.ok());
  for (const ElfSection& s : elf->sections)
    if (s.name == name) return s;
  ADD_FAILURE() << "no section " << name;
  return {};
}

TEST(ObjectLoaderErrors, RelocationAgainstUnknownSymbol) {
  auto bytes = read_bytes(obj_path("globals.bpf.o"));
  const ElfSection rel = section_named(bytes, ".reltracepoint/syscalls/sys_enter_write");
  ASSERT_GE(rel.data.size(), sizeof(Elf64_Rel));
  Elf64_Rel r;
  std::memcpy(&r, bytes.data() + rel.offset, sizeof(r));
  const uint64_t insn = r.r_offset / 8;
  r.r_info = ELF64_R_INFO(100000, ELF64_R_TYPE(r.r_info));
  std::memcpy(bytes.data() + rel.offset, &r, sizeof(r));
  auto obj = open(bytes, "broken.o");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().code, Errc::not_found);
  EXPECT_EQ(obj.error().where.file, "broken.o");
  EXPECT_EQ(obj.error().where.section, "tracepoint/syscalls/sys_enter_write");
  EXPECT_EQ(obj.error().where.insn, static_cast<int64_t>(insn));
  EXPECT_NE(obj.error().message.find("100000"), std::string::npos) << obj.error().message;
}

TEST(ObjectLoaderErrors, BrokenBtfIsAnErrorWhenMapsNeedIt) {
  auto bytes = read_bytes(obj_path("globals.bpf.o"));
  const ElfSection btf = section_named(bytes, ".BTF");
  bytes[btf.offset] ^= 0xff;  // the magic
  auto obj = open(bytes, "badbtf.o");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().where.section, ".BTF");
}

TEST(ObjectLoaderErrors, ImpossibleBtfMapDefinition) {
  // Turn the "max_entries" member name of a map definition into an unknown attribute.
  auto bytes = read_bytes(obj_path("globals.bpf.o"));
  const ElfSection btf = section_named(bytes, ".BTF");
  const std::string needle = "max_entries";
  auto it = std::search(bytes.begin() + btf.offset, bytes.begin() + btf.offset + btf.size,
                        needle.begin(), needle.end());
  ASSERT_NE(it, bytes.begin() + btf.offset + btf.size);
  *it = 'X';
  auto obj = open(bytes, "badmap.o");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().where.section, ".maps");
  EXPECT_NE(obj.error().message.find("unknown field 'Xax_entries'"), std::string::npos)
      << obj.error().message;
}

TEST(ObjectLoaderErrors, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(12345);
  size_t opened = 0, failed = 0;
  for (const char* name : {"globals.bpf.o", "subprogs.bpf.o", "map_in_map.bpf.o", "core.bpf.o"}) {
    const auto original = read_bytes(obj_path(name));
    for (int round = 0; round < 300; ++round) {
      auto bytes = original;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
      auto obj = open(bytes, "mutant.o");
      if (obj.ok()) {
        ++opened;
        for (const Program& p : obj->programs)
          for (size_t i = 0; i < p.insns.size(); i += 5) (void)line_of(*obj, p, i);
      } else {
        ++failed;
        EXPECT_FALSE(obj.error().message.empty());
      }
    }
  }
  EXPECT_EQ(opened + failed, 1200u);
}

}  // namespace
}  // namespace userbpf::object

#endif  // USERBPF_BPF_OBJECT_DIR

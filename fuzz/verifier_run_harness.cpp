#include "verifier_run_harness.hpp"

#include <asm/ptrace.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "isa/decode.hpp"
#include "isa/helper_ids.hpp"
#include "isa/helper_prototypes.hpp"
#include "jit/jit.hpp"
#include "runtime/jit_options.hpp"
#include "userbpf/map.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::fuzz {
namespace {

namespace tf = isa::type_flag;

constexpr uint32_t kMaxHelperId = 256;
constexpr uint64_t kInsnBudget = 64ull << 20;  // bpf_loop: 8M callbacks of up to 8 insns fit
constexpr int kRuns = 4;
constexpr size_t kPage = 4096;
constexpr size_t kXdpHeadroom = 256;  // XDP_PACKET_HEADROOM
constexpr size_t kXdpTailroom = 320;  // skb_shared_info, as the test runs reserve it
constexpr size_t kSkbHeadroom = 64;
constexpr size_t kTracepointCtx = 8192;  // PERF_MAX_TRACE_SIZE: what the verifier lets it read
constexpr uint32_t kPacketSizes[] = {14, 15, 20, 34, 42, 54, 60, 64, 100, 128, 1514, 3000};

// ---- Helpers wrapped with a prototype check

std::array<vm::HelperFn, kMaxHelperId> g_real{};
std::string* g_helper_fault = nullptr;  // first bad helper argument of the current run
uint64_t g_ctx = 0;

void helper_fault(uint32_t id, std::string what) {
  if (g_helper_fault && g_helper_fault->empty())
    *g_helper_fault = fmt::format("helper {}#{}: {}", isa::helper_name(id), id, std::move(what));
}

bool writes(const isa::ArgSpec& arg) {
  return (arg.flags & (tf::kMemUninit | tf::kMemWrite)) != 0;
}

void check_helper_args(uint32_t id, const uint64_t (&r)[5], vm::CallContext& call) {
  const isa::HelperPrototype* proto = isa::helper_prototype(id);
  if (!proto) return;
  const helpers::ProgramEnv* env = helpers::env_of(call);
  const maps::Map* map = nullptr;
  auto need = [&](int i, uint64_t size, bool write) {
    if (size != 0 && !call.can_access(r[i], size, write))
      helper_fault(id, fmt::format("R{} = {:#x}: {} bytes not {}", i + 1, r[i], size,
                                   write ? "writable" : "readable"));
  };
  for (int i = 0; i < 5; ++i) {
    const isa::ArgSpec& arg = proto->args[i];
    if (arg.type == isa::ArgType::dontcare) break;
    if (arg.maybe_null() && r[i] == 0) continue;
    switch (arg.type) {
      case isa::ArgType::const_map_ptr:
        if (!env->knows_map(r[i]))
          helper_fault(id, fmt::format("R{} = {:#x} is not a map of the program", i + 1, r[i]));
        else
          map = reinterpret_cast<const maps::Map*>(r[i]);
        break;
      case isa::ArgType::ptr_to_map_key:
        if (map) need(i, map->spec().key_size, false);
        break;
      case isa::ArgType::ptr_to_map_value:
        if (map) need(i, map->spec().value_size, writes(arg));
        break;
      case isa::ArgType::ptr_to_mem: {
        uint64_t size = 0;
        if (arg.flags & tf::kMemFixedSize)
          size = arg.size;
        else if (i + 1 < 5 && (proto->args[i + 1].type == isa::ArgType::const_size ||
                               proto->args[i + 1].type == isa::ArgType::const_size_or_zero))
          size = r[i + 1];
        need(i, size, writes(arg));
        break;
      }
      case isa::ArgType::ptr_to_const_str: need(i, 1, false); break;
      case isa::ArgType::ptr_to_ctx:
        if (r[i] != g_ctx)
          helper_fault(id, fmt::format("R{} = {:#x} is not the context {:#x}", i + 1, r[i], g_ctx));
        break;
      default: break;
    }
  }
}

template <uint32_t Id>
uint64_t checked_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                        vm::CallContext& call) {
  const uint64_t r[5] = {r1, r2, r3, r4, r5};
  check_helper_args(Id, r, call);
  return g_real[Id](r1, r2, r3, r4, r5, call);
}

// Helpers that act on this process as a whole (signals) stay out: a program calling them does
// not load here, which the harness treats as "cannot run", not as a finding.
bool left_out(uint32_t id) {
  return id == BPF_FUNC_send_signal || id == BPF_FUNC_send_signal_thread ||
         id == BPF_FUNC_probe_write_user || id == BPF_FUNC_override_return;
}

template <uint32_t Id>
void wrap_one(const vm::HelperTable& real, vm::HelperTable& out) {
  const vm::Helper* h = real.find(Id);
  if (!h || left_out(Id)) return;
  g_real[Id] = h->fn;
  out.set(Id, {h->name, &checked_helper<Id>, h->gpl_only});
}

template <uint32_t... Ids>
void wrap_all(const vm::HelperTable& real, vm::HelperTable& out,
              std::integer_sequence<uint32_t, Ids...>) {
  (wrap_one<Ids>(real, out), ...);
}

const vm::HelperTable& checked_helpers() {
  static const vm::HelperTable table = [] {
    vm::HelperTable t;
    wrap_all(helpers::linux_helpers(), t, std::make_integer_sequence<uint32_t, kMaxHelperId>());
    return t;
  }();
  return table;
}

// ---- The world of one case

// Packet memory below 4 GiB: programs load data/data_end as u32 (see runtime/test_run_packet.cpp).
uint8_t* packet_page() {
  static uint8_t* page = [] {
    void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                   -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }();
  return page;
}

void fill_random(std::mt19937_64& rng, void* p, size_t n) {
  auto* b = static_cast<uint8_t*>(p);
  const bool zeros = rng() % 4 == 0;
  for (size_t i = 0; i < n; ++i) b[i] = zeros ? 0 : static_cast<uint8_t>(rng());
}

void fill_maps(std::mt19937_64& rng, const std::vector<std::shared_ptr<maps::Map>>& maps) {
  uint8_t value[64];
  for (const auto& m : maps) {
    const maps::MapSpec& s = m->spec();
    if (s.type == BPF_MAP_TYPE_ARRAY) {
      for (uint32_t k = 0; k < s.max_entries; ++k) {
        fill_random(rng, value, s.value_size);
        m->update(&k, value, BPF_ANY);
      }
    } else if (s.type == BPF_MAP_TYPE_HASH) {
      for (uint32_t k = 0; k < 8; ++k) {
        m->erase(&k);
        if (rng() % 2 == 0) continue;
        fill_random(rng, value, s.value_size);
        m->update(&k, value, BPF_ANY);
      }
    }
  }
}

struct RunWorld {
  std::vector<uint64_t> ctx_storage;  // 8-byte aligned context
  std::vector<vm::Region> regions;
  helpers::PacketState packet;
  std::span<const uint8_t> ld_abs;
  uint64_t ctx = 0;
};

void build_world(uint32_t prog_type, std::mt19937_64& rng, RunWorld& w) {
  const uint32_t len = kPacketSizes[rng() % std::size(kPacketSizes)];
  auto ctx_of = [&](size_t size) {
    w.ctx_storage.assign((size + 7) / 8, 0);
    fill_random(rng, w.ctx_storage.data(), size);
    w.ctx = reinterpret_cast<uint64_t>(w.ctx_storage.data());
  };
  switch (prog_type) {
    case BPF_PROG_TYPE_XDP: {
      uint8_t* page = packet_page();
      std::memset(page, 0, kPage);
      ctx_of(sizeof(xdp_md));
      w.packet.kind = helpers::PacketState::Kind::xdp;
      w.packet.hard_start = page;
      w.packet.hard_end = page + kPage - kXdpTailroom;
      w.packet.data_meta = w.packet.data = page + kXdpHeadroom;
      w.packet.data_end =
          w.packet.data + std::min<size_t>(len, kPage - kXdpHeadroom - kXdpTailroom);
      fill_random(rng, w.packet.data, w.packet.data_end - w.packet.data);
      w.packet.ctx = w.ctx_storage.data();
      w.packet.sync_ctx();
      w.regions.push_back({w.ctx, sizeof(xdp_md), false, "ctx"});
      w.regions.push_back({reinterpret_cast<uint64_t>(w.packet.data_meta),
                           static_cast<uint64_t>(w.packet.data_end - w.packet.data_meta), true,
                           "packet"});
      break;
    }
    case BPF_PROG_TYPE_SOCKET_FILTER: {
      uint8_t* page = packet_page();
      std::memset(page, 0, kPage);
      ctx_of(sizeof(__sk_buff));
      w.packet.kind = helpers::PacketState::Kind::skb;
      w.packet.hard_start = page;
      w.packet.hard_end = page + kPage;
      w.packet.data_meta = w.packet.data = page + kSkbHeadroom;
      w.packet.data_end = w.packet.data + std::min<size_t>(len, kPage - kSkbHeadroom);
      fill_random(rng, w.packet.data, w.packet.data_end - w.packet.data);
      w.packet.ctx = w.ctx_storage.data();
      w.packet.writable = false;
      w.packet.sync_ctx();
      w.ld_abs = {w.packet.data, static_cast<size_t>(w.packet.data_end - w.packet.data)};
      // Socket filters may write only cb[]; the packet itself is not theirs to touch directly.
      const uint64_t cb = offsetof(__sk_buff, cb), cb_size = sizeof(__sk_buff::cb);
      w.regions.push_back({w.ctx, cb, false, "ctx"});
      w.regions.push_back({w.ctx + cb, cb_size, true, "ctx cb[]"});
      w.regions.push_back({w.ctx + cb + cb_size, sizeof(__sk_buff) - cb - cb_size, false, "ctx"});
      break;
    }
    case BPF_PROG_TYPE_KPROBE:
      ctx_of(sizeof(pt_regs));
      w.regions.push_back({w.ctx, sizeof(pt_regs), false, "ctx"});
      break;
    default:
      ctx_of(kTracepointCtx);
      w.regions.push_back({w.ctx, kTracepointCtx, false, "ctx"});
      break;
  }
}

// ---- Pointer leaks (unprivileged programs may not expose addresses)

// Which memory `value` points into, if any: the context, packet and array values, any map's
// memory, or this thread's stack (where the interpreter keeps the program's frames).
std::optional<std::string> pointer_into(uint64_t value, const std::vector<vm::Region>& regions,
                                        const std::vector<std::shared_ptr<maps::Map>>& maps) {
  for (const vm::Region& r : regions)
    if (value >= r.start && value - r.start <= r.size) return std::string(r.name);
  for (const auto& m : maps) {
    const auto start = reinterpret_cast<uint64_t>(m->mapping());
    if (value >= start && value - start <= m->mapping_size()) return std::string("map memory");
  }
  const uint64_t here = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  constexpr uint64_t kStackReach = 8u << 20;  // the interpreter's frames are below this one
  if (value <= here && here - value <= kStackReach) return std::string("stack");
  return std::nullopt;
}

// An address in any 8-byte word of the array and hash maps' values.
std::optional<std::string> pointer_in_maps(const std::vector<vm::Region>& regions,
                                           const std::vector<std::shared_ptr<maps::Map>>& maps) {
  for (const auto& m : maps) {
    const maps::MapSpec& s = m->spec();
    if (s.type != BPF_MAP_TYPE_ARRAY && s.type != BPF_MAP_TYPE_HASH) continue;
    for (uint32_t key = 0; key < 8; ++key) {
      const auto* value = static_cast<const uint8_t*>(m->lookup(&key));
      if (!value) continue;
      for (uint32_t off = 0; off + 8 <= s.value_size; off += 4) {  // 4: stores may be unaligned
        uint64_t word;
        std::memcpy(&word, value + off, 8);
        if (auto where = pointer_into(word, regions, maps))
          return fmt::format("{} key {} offset {} holds {:#x} ({})", maps::map_type_name(s.type),
                             key, off, word, *where);
      }
    }
  }
  return std::nullopt;
}

// ---- The same program in the JIT

// Helpers whose effects depend only on their arguments and the program's memory, so a JIT run
// from the same state must end in the same state as the interpreter's. Programs calling any other
// helper (time, random numbers, CPU ids, ...) are run in the JIT only to see that it survives.
bool deterministic_helper(int32_t id) {
  switch (id) {
    case BPF_FUNC_map_lookup_elem:
    case BPF_FUNC_map_update_elem:
    case BPF_FUNC_map_delete_elem:
    case BPF_FUNC_map_push_elem:
    case BPF_FUNC_map_pop_elem:
    case BPF_FUNC_map_peek_elem:
    case BPF_FUNC_loop:
    case BPF_FUNC_xdp_adjust_head:
    case BPF_FUNC_xdp_adjust_meta:
    case BPF_FUNC_xdp_adjust_tail:
    case BPF_FUNC_skb_load_bytes:
    case BPF_FUNC_csum_diff: return true;
    default: return false;
  }
}

bool calls_helper(const isa::Program& program, int32_t id) {
  return std::any_of(program.insns.begin(), program.insns.end(), [&](const isa::Insn& insn) {
    return insn.opcode == (BPF_JMP | BPF_CALL) && insn.src == 0 && insn.imm == id;
  });
}

bool calls_only_deterministic_helpers(const isa::Program& program) {
  return std::all_of(program.insns.begin(), program.insns.end(), [](const isa::Insn& insn) {
    return insn.opcode != (BPF_JMP | BPF_CALL) || insn.src != 0 || deterministic_helper(insn.imm);
  });
}

// One engine's program with its own maps: the interpreter and the JIT each get a set, filled
// identically, so their states can be compared after every run.
struct Instance {
  std::vector<std::shared_ptr<maps::Map>> maps;
  std::optional<vm::Interpreter> interp;
  helpers::ProgramEnv env;
  std::vector<vm::Region> array_values;  // direct value access reaches the array's values
};

enum class Loaded { ok, cannot_run };

Loaded load_instance(const isa::Program& program, Instance& out) {
  for (const FuzzMapSpec& spec : kFuzzMaps) {
    maps::MapSpec s;
    s.type = spec.type;
    s.key_size = spec.key_size;
    s.value_size = spec.value_size;
    s.max_entries = spec.max_entries;
    s.name = "fuzz";
    auto m = maps::create_map(s);
    if (!m) return Loaded::cannot_run;  // out of descriptors or memory: not the verifier's fault
    out.maps.push_back(std::move(*m));
  }
  vm::LoadOptions load;
  auto& maps = out.maps;
  load.resolve_lddw = [&maps](const isa::Insn& insn, size_t) -> Result<uint64_t> {
    if (insn.src != BPF_PSEUDO_MAP_IDX && insn.src != BPF_PSEUDO_MAP_IDX_VALUE)
      return make_error(Errc::unsupported, "lddw form");
    if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= maps.size())
      return make_error(Errc::invalid_argument, "map index");
    maps::Map* map = maps[insn.imm].get();
    if (insn.src == BPF_PSEUDO_MAP_IDX) return reinterpret_cast<uint64_t>(map);
    if (!map->data()) return make_error(Errc::unsupported, "no direct value access");
    return reinterpret_cast<uint64_t>(map->data()) + static_cast<uint32_t>(insn.next_imm);
  };
  auto interp = vm::Interpreter::load(program, checked_helpers(), load);
  if (!interp) return Loaded::cannot_run;  // a helper the harness leaves out, a kfunc, ...
  out.interp.emplace(std::move(*interp));
  for (const auto& m : out.maps) out.env.maps.insert(m.get());
  out.env.checked = true;
  out.env.gpl = true;
  for (const auto& m : out.maps)
    if (m->spec().type == BPF_MAP_TYPE_ARRAY && m->data())
      out.array_values.push_back({reinterpret_cast<uint64_t>(m->data()),
                                  uint64_t{m->spec().value_size} * m->spec().max_entries, true,
                                  "array values"});
  return Loaded::ok;
}

// What a run leaves behind: r0, the context, the packet page and its bounds, every map's entries.
struct RunState {
  std::optional<uint64_t> r0;  // none when the run failed (an error both engines must agree on)
  std::vector<uint64_t> ctx;
  std::vector<uint8_t> page;
  std::array<ptrdiff_t, 3> packet_bounds{};       // data_meta, data, data_end from the page
  std::vector<std::vector<uint8_t>> map_entries;  // sorted key||value per map
};

std::vector<std::vector<uint8_t>> snapshot_maps(
    const std::vector<std::shared_ptr<maps::Map>>& maps) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& m : maps) {
    const maps::MapSpec& s = m->spec();
    std::vector<std::vector<uint8_t>> entries;
    std::vector<uint8_t> key(s.key_size), next(s.key_size);
    const void* previous = nullptr;
    for (uint32_t guard = 0; guard <= s.max_entries && m->get_next_key(previous, next.data()) == 0;
         ++guard) {
      std::vector<uint8_t> entry(next);
      if (const auto* value = static_cast<const uint8_t*>(m->lookup(next.data())))
        entry.insert(entry.end(), value, value + s.value_size);
      entries.push_back(std::move(entry));
      key = next;
      previous = key.data();
    }
    std::sort(entries.begin(), entries.end());
    std::vector<uint8_t> flat;
    for (const auto& e : entries) flat.insert(flat.end(), e.begin(), e.end());
    out.push_back(std::move(flat));
  }
  return out;
}

RunState capture(const Result<vm::RunResult>& result, const RunWorld& world,
                 const std::vector<std::shared_ptr<maps::Map>>& maps) {
  RunState state;
  if (result) state.r0 = result->r0;
  state.ctx = world.ctx_storage;
  if (world.packet.hard_start) {
    const uint8_t* page = world.packet.hard_start;
    state.page.assign(page, page + kPage);
    state.packet_bounds = {world.packet.data_meta - page, world.packet.data - page,
                           world.packet.data_end - page};
  }
  state.map_entries = snapshot_maps(maps);
  return state;
}

std::string first_difference(const RunState& interp, const RunState& jit) {
  if (interp.r0.has_value() != jit.r0.has_value())
    return fmt::format("the interpreter {} but the JIT {}", interp.r0 ? "returned" : "failed",
                       jit.r0 ? "returned" : "failed");
  if (interp.r0 && *interp.r0 != *jit.r0)
    return fmt::format("r0: interpreter {:#x}, JIT {:#x}", *interp.r0, *jit.r0);
  if (interp.ctx != jit.ctx) return "the context differs after the run";
  if (interp.packet_bounds != jit.packet_bounds) return "the packet bounds differ after the run";
  if (interp.page != jit.page) return "the packet bytes differ after the run";
  for (size_t m = 0; m < interp.map_entries.size(); ++m)
    if (interp.map_entries[m] != jit.map_entries[m])
      return fmt::format("map {} ({}) differs after the run", m,
                         maps::map_type_name(kFuzzMaps[m].type));
  return {};
}

// The interpreter runs checked (every access against the world's regions); the JIT's machine code
// runs only unchecked, as for every verified program.
// How many accepted programs ran in the JIT, and how many of those were compared with the
// interpreter; printed at exit when USERBPF_FUZZ_STATS is set (is the comparison reached?).
struct JitStats {
  uint64_t ran = 0, compared = 0, with_maps = 0;
  ~JitStats() {
    if (std::getenv("USERBPF_FUZZ_STATS"))
      std::fprintf(stderr,
                   "fuzz_verifier: %llu runs of accepted programs in the JIT (%llu with inlined "
                   "or direct map helpers), %llu compared\n",
                   static_cast<unsigned long long>(ran), static_cast<unsigned long long>(with_maps),
                   static_cast<unsigned long long>(compared));
  }
};
JitStats g_jit_stats;

vm::RunOptions run_options(RunWorld& world, Instance& instance, bool checked) {
  vm::RunOptions options;
  options.checked = checked;
  options.insn_budget = kInsnBudget;
  options.regions = world.regions;
  options.packet = world.ld_abs;
  options.user = &instance.env;
  instance.env.packet = world.packet.ctx ? &world.packet : nullptr;
  return options;
}

}  // namespace

std::optional<std::string> run_accepted_program(const FuzzCase& fc, uint64_t seed,
                                                std::span<const uint32_t> call_map) {
  auto decoded = isa::decode(fc.insns);
  if (!decoded)
    return "the verifier accepted a program the decoder refuses: " + decoded.error().message;
  Instance interp, jit;
  if (load_instance(*decoded, interp) != Loaded::ok) return std::nullopt;
  // The JIT takes programs the verifier accepted, exactly these; its machine code runs without
  // the interpreter's checks, so a verifier bug the interpreter survives may crash it here.
  // Compiled as the runtime compiles verified programs: array map helpers inlined and hash map
  // entries called directly where the verifier proved the map.
  std::vector<runtime::CallMap> call_maps;
  for (size_t insn = 0; insn < call_map.size(); ++insn)
    if (call_map[insn] < std::size(kFuzzMaps))
      call_maps.emplace_back(static_cast<uint32_t>(insn), call_map[insn]);
  bool with_jit = false, map_helpers = false;
  if (jit::available() && load_instance(*decoded, jit) == Loaded::ok) {
    jit::CompileOptions options = runtime::jit_options_for(call_maps, jit.maps);
    // Half the inputs with the dead-code searches (dead stack stores, unread register results)
    // on in every program, not only in those with map calls.
    if (seed & 1) options.dead_stores = jit::CompileOptions::DeadStores::everywhere;
    map_helpers = !options.array_maps.empty() || !options.direct_maps.empty();
    with_jit = jit::attach(*jit.interp, options).ok();
  }
  // Only unprivileged programs end in a state that depends on nothing but their input:
  // privileged ones may read uninitialised stack (whatever the engine left there) and keep
  // addresses, which differ between the two instances, in r0 and in maps.
  const bool comparable = with_jit && !fc.privileged && calls_only_deterministic_helpers(*decoded);
  const bool calls_loop = calls_helper(*decoded, BPF_FUNC_loop);

  for (int run = 0; run < kRuns; ++run) {
    std::mt19937_64 rng(seed * kRuns + run);
    fill_maps(rng, interp.maps);
    RunWorld world;
    build_world(fc.prog_type, rng, world);
    world.regions.insert(world.regions.end(), interp.array_values.begin(),
                         interp.array_values.end());
    std::string helper_problem;
    g_helper_fault = &helper_problem;
    g_ctx = world.ctx;
    auto result = interp.interp->run(world.ctx, 0, run_options(world, interp, true));
    g_helper_fault = nullptr;
    if (!helper_problem.empty()) return fmt::format("run {}: {}", run, helper_problem);
    // bpf_loop runs its callback up to 8M times, and a callback of more than 8 instructions then
    // outruns the budget: an accepted program that is only long, not endless. Such a run says
    // nothing (without bpf_loop, running out of budget is still a fault: a loop the verifier
    // should have refused).
    if (!result && result.error().code == Errc::budget && calls_loop) continue;
    if (!result && (result.error().code == Errc::fault || result.error().code == Errc::budget))
      return fmt::format("run {}: {} (insn {})", run, result.error().message,
                         result.error().where.insn);
    if (result && !fc.privileged) {
      if (auto where = pointer_into(result->r0, world.regions, interp.maps))
        return fmt::format("run {}: an unprivileged program returned the address {:#x} ({})", run,
                           result->r0, *where);
      if (auto leak = pointer_in_maps(world.regions, interp.maps))
        return fmt::format("run {}: an unprivileged program stored an address in a map: {}", run,
                           *leak);
    }
    if (!with_jit) continue;
    const RunState after_interp = capture(result, world, interp.maps);

    std::mt19937_64 same_rng(seed * kRuns + run);
    fill_maps(same_rng, jit.maps);
    RunWorld jit_world;
    build_world(fc.prog_type, same_rng, jit_world);
    jit_world.regions.insert(jit_world.regions.end(), jit.array_values.begin(),
                             jit.array_values.end());
    g_ctx = jit_world.ctx;
    auto jit_result = jit.interp->run(jit_world.ctx, 0, run_options(jit_world, jit, false));
    ++g_jit_stats.ran;
    if (map_helpers) ++g_jit_stats.with_maps;
    if (!comparable) continue;
    ++g_jit_stats.compared;
    const std::string difference =
        first_difference(after_interp, capture(jit_result, jit_world, jit.maps));
    if (!difference.empty()) return fmt::format("run {}: JIT and interpreter: {}", run, difference);
  }
  return std::nullopt;
}

}  // namespace userbpf::fuzz

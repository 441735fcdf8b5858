#include "verifier_run_harness.hpp"

#include <asm/ptrace.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/mman.h>

#include <array>
#include <cstddef>
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
#include "userbpf/map.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::fuzz {
namespace {

namespace tf = isa::type_flag;

constexpr uint32_t kMaxHelperId = 256;
constexpr uint64_t kInsnBudget = 64ull << 20;  // bpf_loop's 8M callbacks of a few insns fit
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

}  // namespace

std::optional<std::string> run_accepted_program(const FuzzCase& fc, uint64_t seed) {
  std::vector<std::shared_ptr<maps::Map>> maps;
  for (const FuzzMapSpec& spec : kFuzzMaps) {
    maps::MapSpec s;
    s.type = spec.type;
    s.key_size = spec.key_size;
    s.value_size = spec.value_size;
    s.max_entries = spec.max_entries;
    s.name = "fuzz";
    auto m = maps::create_map(s);
    if (!m) return std::nullopt;  // out of descriptors or memory: not the verifier's fault
    maps.push_back(std::move(*m));
  }
  auto decoded = isa::decode(fc.insns);
  if (!decoded)
    return "the verifier accepted a program the decoder refuses: " + decoded.error().message;
  vm::LoadOptions load;
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
  auto interp = vm::Interpreter::load(*decoded, checked_helpers(), load);
  if (!interp) return std::nullopt;  // a helper the harness leaves out, a kfunc, ...

  helpers::ProgramEnv env;
  for (const auto& m : maps) env.maps.insert(m.get());
  env.checked = true;
  env.gpl = true;
  std::vector<vm::Region> array_values;  // direct value access reaches the array's values
  for (const auto& m : maps)
    if (m->spec().type == BPF_MAP_TYPE_ARRAY && m->data())
      array_values.push_back({reinterpret_cast<uint64_t>(m->data()),
                              uint64_t{m->spec().value_size} * m->spec().max_entries, true,
                              "array values"});

  for (int run = 0; run < kRuns; ++run) {
    std::mt19937_64 rng(seed * kRuns + run);
    fill_maps(rng, maps);
    RunWorld world;
    build_world(fc.prog_type, rng, world);
    world.regions.insert(world.regions.end(), array_values.begin(), array_values.end());
    env.packet = world.packet.ctx ? &world.packet : nullptr;
    std::string helper_problem;
    g_helper_fault = &helper_problem;
    g_ctx = world.ctx;
    vm::RunOptions options;
    options.checked = true;
    options.insn_budget = kInsnBudget;
    options.regions = world.regions;
    options.packet = world.ld_abs;
    options.user = &env;
    auto result = interp->run(world.ctx, 0, options);
    g_helper_fault = nullptr;
    if (!helper_problem.empty()) return fmt::format("run {}: {}", run, helper_problem);
    if (!result && (result.error().code == Errc::fault || result.error().code == Errc::budget))
      return fmt::format("run {}: {} (insn {})", run, result.error().message,
                         result.error().where.insn);
    if (result && !fc.privileged) {
      if (auto where = pointer_into(result->r0, world.regions, maps))
        return fmt::format("run {}: an unprivileged program returned the address {:#x} ({})", run,
                           result->r0, *where);
      if (auto leak = pointer_in_maps(world.regions, maps))
        return fmt::format("run {}: an unprivileged program stored an address in a map: {}", run,
                           *leak);
    }
  }
  return std::nullopt;
}

}  // namespace userbpf::fuzz

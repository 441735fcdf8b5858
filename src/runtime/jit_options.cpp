// What the JIT is told about a program instance's maps: the array maps it inlines and the maps
// whose entries it calls directly, at the helper calls where the verifier proved the map.
#include "runtime/jit_options.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <cstdint>

#include "maps/program_entries.hpp"

namespace userbpf::runtime {
namespace {

// The JIT's description of the array maps the verifier found at helper calls: where key k's
// value lives, read from the map itself (lookup of keys 0, 1 and the last), so inlined accesses
// reach exactly the memory the helper returns. Per-CPU arrays and other types are left out.
std::vector<jit::InlineArrayMap> inline_array_maps(
    std::span<const CallMap> call_maps, const std::vector<std::shared_ptr<maps::Map>>& maps) {
  std::vector<jit::InlineArrayMap> out;
  for (const auto& [insn, index] : call_maps) {
    if (index >= maps.size()) continue;
    maps::Map& map = *maps[index];
    const maps::MapSpec& spec = map.spec();
    if (spec.type != BPF_MAP_TYPE_ARRAY || spec.max_entries == 0 || map.data() == nullptr) continue;
    const uint32_t first = 0, second = 1, last = spec.max_entries - 1;
    auto* values = static_cast<uint8_t*>(map.lookup(&first));
    if (values == nullptr || values != map.data()) continue;
    uint64_t stride = spec.value_size;
    if (spec.max_entries > 1) {
      auto* next = static_cast<uint8_t*>(map.lookup(&second));
      if (next == nullptr || next <= values) continue;
      stride = static_cast<uint64_t>(next - values);
      if (static_cast<uint8_t*>(map.lookup(&last)) != values + stride * last) continue;
    }
    if (stride < spec.value_size || stride > UINT32_MAX / 2) continue;
    jit::InlineArrayMap m;
    m.insn = insn;
    m.handle = reinterpret_cast<uint64_t>(&map);
    m.values = values;
    m.value_size = spec.value_size;
    m.stride = static_cast<uint32_t>(stride);
    m.max_entries = spec.max_entries;
    m.plain_values = spec.spin_lock_off < 0;
    m.r1_proven = true;  // call_maps are the verifier's: r1 holds this map on every path
    out.push_back(m);
  }
  return out;
}

// The maps at helper calls that offer direct entry points (maps/program_entries.hpp: the hash
// family), sorted by instruction as the JIT wants them. Array maps the JIT inlines have none.
std::vector<jit::DirectMapCall> direct_map_calls(
    std::span<const CallMap> call_maps, const std::vector<std::shared_ptr<maps::Map>>& maps) {
  std::vector<jit::DirectMapCall> out;
  for (const auto& [insn, index] : call_maps) {
    if (index >= maps.size()) continue;
    if (auto call = direct_map_call(*maps[index], insn)) out.push_back(*call);
  }
  std::sort(out.begin(), out.end(), [](const jit::DirectMapCall& a, const jit::DirectMapCall& b) {
    return a.insn < b.insn;
  });
  return out;
}

jit::HashLookup jit_hash_lookup(const maps::HashLookupLayout& l) {
  jit::HashLookup out;
  out.hash_xor = l.hash_xor;
  out.hash_multiplier = l.hash_multiplier;
  out.buckets = l.buckets;
  out.bucket_mask = l.bucket_mask;
  out.bucket_shift = l.bucket_shift;
  out.slots = l.slots;
  out.tag_offset = l.tag_offset;
  out.slot_offset = l.slot_offset;
  out.overflow_offset = l.overflow_offset;
  out.empty_list_bit = l.empty_list_bit;
  out.elements = l.elements;
  out.element_size = l.element_size;
  out.capacity = l.capacity;
  out.seq_offset = l.seq_offset;
  out.key_offset = l.key_offset;
  out.value_offset = l.value_offset;
  out.reference_offset = l.reference_offset;
  out.lock_offset = l.lock_offset;
  out.writer_token = l.writer_token;
  return out;
}

}  // namespace

std::optional<jit::DirectMapCall> direct_map_call(maps::Map& map, uint32_t insn) {
  const maps::ProgramEntries entries = maps::program_entries(map);
  if (!entries.lookup && !entries.update && !entries.erase) return std::nullopt;
  jit::DirectMapCall call;
  call.insn = insn;
  call.handle = reinterpret_cast<uint64_t>(&map);
  call.r1_proven = true;
  call.object = static_cast<void*>(&map);
  call.lookup = entries.lookup;
  call.update = entries.update;
  call.erase = entries.erase;
  call.key_size = entries.key_size;
  call.value_size = map.spec().value_size;  // one CPU's value for a per-CPU map
  call.lookup_value = entries.lookup_value;
  call.update_value = entries.update_value;
  call.inline_lookup = jit_hash_lookup(entries.lookup_layout);
  return call;
}

jit::CompileOptions jit_options_for(std::span<const CallMap> call_maps,
                                    const std::vector<std::shared_ptr<maps::Map>>& maps) {
  jit::CompileOptions options;
  options.array_maps = inline_array_maps(call_maps, maps);
  options.direct_maps = direct_map_calls(call_maps, maps);
  return options;
}

}  // namespace userbpf::runtime

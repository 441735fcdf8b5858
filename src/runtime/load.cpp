// Loading an object into the runtime: maps first (as libbpf creates them before programs), then
// one record per program.
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "runtime/kconfig.hpp"
#include "runtime/runtime.hpp"
#include "runtime/runtime_btf.hpp"
#include "runtime/tag.hpp"
#include "runtime/verify.hpp"
#include "userbpf/map_in_map.hpp"

namespace userbpf::runtime {
namespace {

// libbpf's LIBBPF_PIN_BY_NAME (enum libbpf_pin_type in the BPF-side bpf_helpers.h).
constexpr uint32_t kPinByName = 1;

// Writes the object's raw BTF once per load so dumps can print typed values later.
uint32_t save_btf(const StateDir& dir, const object::Object& obj) {
  if (!obj.btf) return 0;
  uint32_t size = 0;
  const void* raw = btf__raw_data(obj.btf.get(), &size);
  if (!raw || !size) return 0;
  auto id = dir.allocate_id();
  if (!id) return 0;
  auto written = write_file_atomic(dir.btf() / (std::to_string(*id) + ".btf"),
                                   std::string_view(static_cast<const char*>(raw), size));
  return written ? *id : 0;
}

Error at_map(const object::Object& obj, const object::MapDef& def, const std::string& message) {
  Location where;
  where.file = obj.path;
  where.section = def.section;
  return make_error(Errc::invalid_argument, "map '" + def.name + "': " + message, where);
}

}  // namespace

Result<uint32_t> Runtime::create_map(const object::Object& obj, const object::MapDef& def,
                                     uint32_t btf_id) {
  maps::MapSpec spec;
  spec.type = def.type;
  spec.key_size = def.key_size;
  spec.value_size = def.value_size;
  spec.max_entries = def.max_entries;
  spec.map_flags = def.map_flags;
  spec.map_extra = def.map_extra;
  spec.name = def.name.substr(0, 15);
  // libbpf sizes a perf event array with max_entries 0 to the possible CPUs.
  if (spec.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && spec.max_entries == 0)
    spec.max_entries = maps::possible_cpus();

  // libbpf's LIBBPF_PIN_BY_NAME: reuse the map pinned at /sys/fs/bpf/<name> when compatible.
  const std::string pin_path = "/sys/fs/bpf/" + def.name;
  if (def.pinning == kPinByName) {
    if (auto pinned = resolve_pin(pin_path); pinned && pinned->kind == PinKind::map) {
      auto record = map_record(pinned->id);
      if (!record) return record.take_error();
      const auto& s = record->spec;
      if (s.type != spec.type || s.key_size != spec.key_size || s.value_size != spec.value_size ||
          s.max_entries != spec.max_entries ||
          (s.map_flags & ~maps::forced_map_flags(s.type)) != spec.map_flags)
        return at_map(obj, def, "pinned map at " + pin_path + " is incompatible");
      return pinned->id;
    }
  }

  auto id = dir_.allocate_id();
  if (!id) return id.take_error();
  maps::Backing backing;
  backing.directory = dir_.maps().string();
  backing.file_name = std::to_string(*id) + ".map";
  Result<std::shared_ptr<maps::Map>> map = make_error(Errc::invalid_argument, "");
  const bool map_in_map =
      def.type == BPF_MAP_TYPE_ARRAY_OF_MAPS || def.type == BPF_MAP_TYPE_HASH_OF_MAPS;
  if (def.inner && map_in_map) {
    maps::MapSpec inner;
    inner.type = def.inner->type;
    inner.key_size = def.inner->key_size;
    inner.value_size = def.inner->value_size;
    inner.max_entries = def.inner->max_entries;
    inner.map_flags = def.inner->map_flags;
    map = maps::create_map_in_map(spec, inner, backing);
  } else {
    map = maps::create_map(spec, backing);
  }
  if (!map) {
    Error e = map.take_error();
    e.message = "map '" + def.name + "': " + e.message;
    e.where.file = obj.path;
    e.where.section = def.section;
    return e;
  }
  if (!def.initial_data.empty()) {
    void* data = (*map)->data();
    if (!data || def.initial_data.size() > def.value_size)
      return at_map(obj, def, "initial data does not fit the map");
    std::memcpy(data, def.initial_data.data(), def.initial_data.size());
  }

  MapRecord record;
  record.id = *id;
  record.spec = spec;
  record.spec.map_flags = (*map)->spec().map_flags;  // with the flags Linux adds
  record.frozen = def.frozen;
  record.owner_pid = getpid();
  record.owner_start = process_start_time(getpid());
  record.key_type_id = def.key_type_id;
  record.value_type_id = def.value_type_id;
  if (def.key_type_id || def.value_type_id) record.btf_id = btf_id;
  record.file = (*map)->path();
  auto written = write_file_atomic(dir_.maps() / (std::to_string(*id) + ".json"), to_json(record));
  if (!written) return written.take_error();
  if (def.pinning == kPinByName) {
    if (auto pinned = pin(pin_path, {PinKind::map, *id}); !pinned) return pinned.take_error();
  }
  return *id;
}

Result<std::vector<ProgramRecord>> Runtime::load(const object::Object& original,
                                                 const LoadOptions& options) {
  // CO-RE: relocate against the runtime's own BTF, the structures programs really get here.
  object::Object obj = original;
  if (Status prepared = prepare_for_runtime(obj); !prepared) return prepared.take_error();

  std::vector<const object::Program*> selected;
  for (const auto& prog : obj.programs)
    if (options.only_program.empty() || prog.name == options.only_program ||
        prog.section == options.only_program)
      selected.push_back(&prog);
  if (selected.empty()) {
    Location where;
    where.file = obj.path;
    return make_error(Errc::not_found,
                      options.only_program.empty()
                          ? "object has no programs"
                          : "object has no program '" + options.only_program + "'",
                      where);
  }

  // The verifier first, so that a refused program leaves nothing behind (no maps, no records).
  std::vector<uint64_t> verified_insns(selected.size(), 0);
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> call_maps(selected.size());
  if (!options.unverified) {
    for (size_t i = 0; i < selected.size(); ++i) {
      auto verdict = verify_program(obj, *selected[i], options.verifier, options.prog_type);
      if (!verdict) {
        Error e = verdict.take_error();
        if (e.where.file.empty()) e.where.file = obj.path;
        return e;
      }
      if (options.on_verdict) options.on_verdict(*selected[i], *verdict);
      if (!verdict->accepted) return rejection_error(obj.path, *selected[i], *verdict);
      verified_insns[i] = verdict->processed_insns;
      for (size_t insn = 0; insn < verdict->call_map.size(); ++insn) {
        const uint32_t map = verdict->call_map[insn];
        // Inner maps of map-in-map definitions follow the object's maps: no record of their own.
        if (map == verifier::Verdict::kNoMap || map == verifier::Verdict::kMixedMaps ||
            map >= obj.maps.size())
          continue;
        call_maps[i].emplace_back(static_cast<uint32_t>(insn), map);
      }
    }
  }

  // The object's BTF first: map records name it so dumps can print typed keys and values.
  const uint32_t btf_id = save_btf(dir_, obj);
  std::vector<uint32_t> map_ids;
  for (const auto& def : obj.maps) {
    auto id = create_map(obj, def, btf_id);
    if (!id) return id.take_error();
    map_ids.push_back(*id);
  }

  std::vector<ProgramRecord> loaded;
  for (size_t index = 0; index < selected.size(); ++index) {
    const object::Program* prog = selected[index];
    auto id = dir_.allocate_id();
    if (!id) return id.take_error();
    ProgramRecord r;
    r.id = *id;
    r.name = prog->name;
    r.section = prog->section;
    r.prog_type =
        options.prog_type ? options.prog_type : static_cast<uint32_t>(prog->def.prog_type);
    r.expected_attach_type = prog->def.expected_attach_type;
    r.attach_target = prog->def.attach_target;
    r.license = obj.license;
    r.gpl = gpl_compatible(obj.license);  // runtime/verify.hpp
    r.insns = prog->insns;
    r.tag = program_tag(r.insns);
    r.loaded_at = static_cast<uint64_t>(::time(nullptr));
    r.uid = getuid();
    r.owner_pid = getpid();
    r.owner_start = process_start_time(getpid());
    r.object_path = obj.path;
    r.map_ids = map_ids;
    r.btf_id = btf_id;
    r.verified = !options.unverified;
    r.verified_insns = verified_insns[index];
    r.call_maps = std::move(call_maps[index]);
    for (const auto& fi : prog->func_info) r.funcs.push_back({fi.insn, fi.type_id});
    for (const auto& li : prog->line_info) {
      auto line = object::line_of(obj, *prog, li.insn);
      if (line) r.lines.push_back({li.insn, line->file, line->text, line->line, line->column});
    }
    auto written = write_file_atomic(dir_.progs() / (std::to_string(r.id) + ".json"), to_json(r));
    if (!written) return written.take_error();
    loaded.push_back(std::move(r));
  }
  if (Status filled = fill_initial_slots(obj, map_ids, loaded); !filled) return filled.take_error();
  return loaded;
}

}  // namespace userbpf::runtime

// create_map / open_map: spec check, backing file, header, type-specific initialisation.
#include <linux/bpf.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "maps/map_file.hpp"
#include "maps/map_impls.hpp"
#include "maps/map_types.hpp"
#include "maps/map_in_map_internal.hpp"
#include "maps/perf_event_array_internal.hpp"
#include "maps/prog_array_internal.hpp"
#include "maps/redirect_maps_internal.hpp"
#include "maps/ringbuf_internal.hpp"
#include "maps/stack_trace_internal.hpp"

namespace userbpf::maps {
namespace {

constexpr uint64_t kMaxFileSize = 1ull << 40;  // refuse specs whose storage passes 1 TiB

const MapKind* kind_of(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY: return array_kind();
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH: return hash_kind();
    case BPF_MAP_TYPE_LPM_TRIE: return lpm_trie_kind();
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK: return queue_stack_kind();
    case BPF_MAP_TYPE_BLOOM_FILTER: return bloom_filter_kind();
    case BPF_MAP_TYPE_RINGBUF: return ringbuf_kind();
    case BPF_MAP_TYPE_PROG_ARRAY: return prog_array_kind();
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY: return perf_event_array_kind();
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS: return map_in_map_kind();
    case BPF_MAP_TYPE_STACK_TRACE: return stack_trace_kind();
    case BPF_MAP_TYPE_DEVMAP: return devmap_kind();
    case BPF_MAP_TYPE_DEVMAP_HASH: return devmap_hash_kind();
    case BPF_MAP_TYPE_CPUMAP: return cpumap_kind();
    case BPF_MAP_TYPE_XSKMAP: return xskmap_kind();
    default: return nullptr;
  }
}

const char* errno_name(int err) {
  switch (-err) {
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case kENOTSUPP: return "ENOTSUPP";
    default: return "error";
  }
}

std::string subject(const MapSpec& spec) {
  return std::string("map '") + spec.name + "' (" + map_type_name(spec.type) + ")";
}

// Linux adds some flags at creation (devmaps: BPF_F_RDONLY_PROG) and rounds max_entries of an
// LRU map with per-CPU lists to a multiple of the CPU count.
MapSpec normalized(MapSpec spec, uint32_t ncpus) {
  spec.map_flags |= forced_map_flags(spec.type);
  bool lru = spec.type == BPF_MAP_TYPE_LRU_HASH || spec.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  if (lru && (spec.map_flags & BPF_F_NO_COMMON_LRU)) {
    uint64_t up = (uint64_t{spec.max_entries} + ncpus - 1) / ncpus * ncpus;
    spec.max_entries =
        up <= 0xffffffffull ? static_cast<uint32_t>(up) : spec.max_entries / ncpus * ncpus;
  }
  return spec;
}

}  // namespace

Result<std::shared_ptr<Map>> create_map(const MapSpec& requested, const Backing& backing) {
  std::string why;
  if (int err = check_spec(requested, &why)) {
    Errc code =
        err == -EOPNOTSUPP || err == -kENOTSUPP ? Errc::unsupported : Errc::invalid_argument;
    return make_error(code, subject(requested) + ": " + why + " (" + errno_name(err) + ")");
  }
  const uint32_t ncpus = possible_cpus();
  const MapSpec spec = normalized(requested, ncpus);
  const MapKind* kind = kind_of(spec.type);
  uint64_t size = kind->file_size(spec, ncpus);
  if (size > kMaxFileSize) {
    return make_error(Errc::invalid_argument,
                      subject(spec) + ": needs " + std::to_string(size) +
                          " bytes of storage, more than the 1 TiB limit (ENOMEM)");
  }
  auto file = MapFile::create(backing, spec.name, size);
  if (!file) return file.take_error();

  FileHeader& h = file.value()->header();
  h.magic = kMapFileMagic;
  h.version = kMapFileVersion;
  h.total_size = size;
  if (getrandom(&h.generation, sizeof(h.generation), 0) != sizeof(h.generation)) {
    h.generation = reinterpret_cast<uintptr_t>(&h) ^ size;
  }
  h.type = spec.type;
  h.key_size = spec.key_size;
  h.value_size = spec.value_size;
  h.max_entries = spec.max_entries;
  h.map_flags = spec.map_flags;
  h.spin_lock_off = spec.spin_lock_off;
  h.map_extra = spec.map_extra;
  h.ncpus = ncpus;
  std::memset(h.name, 0, sizeof(h.name));
  std::memcpy(h.name, spec.name.data(), spec.name.size());

  std::shared_ptr<Map> map = kind->attach(file.value(), spec, ncpus);
  kind->initialize(*map);
  if (Status published = file.value()->publish(); !published) return published.take_error();
  return map;
}

Result<std::shared_ptr<Map>> open_map(const std::string& path) {
  auto file = MapFile::open(path);
  if (!file) return file.take_error();
  const FileHeader& h = file.value()->header();
  MapSpec spec;
  spec.type = h.type;
  spec.key_size = h.key_size;
  spec.value_size = h.value_size;
  spec.max_entries = h.max_entries;
  spec.map_flags = h.map_flags;
  spec.spin_lock_off = h.spin_lock_off;
  spec.map_extra = h.map_extra;
  spec.name.assign(h.name, strnlen(h.name, sizeof(h.name)));
  std::string why;
  MapSpec as_created = spec;  // the flags Linux adds would fail the creator's check
  as_created.map_flags &= ~forced_map_flags(spec.type);
  if (check_spec(as_created, &why) != 0) {
    return make_error(Errc::invalid_argument,
                      "map file '" + path + "' holds an invalid spec: " + why);
  }
  if (h.ncpus == 0 || h.ncpus > 65536) {
    return make_error(Errc::invalid_argument, "map file '" + path + "' has a bad CPU count");
  }
  const MapKind* kind = kind_of(spec.type);
  uint64_t size = kind->file_size(spec, h.ncpus);
  if (size != file.value()->size()) {
    return make_error(Errc::invalid_argument, "map file '" + path + "' is " +
                                                  std::to_string(file.value()->size()) +
                                                  " bytes, its spec needs " + std::to_string(size));
  }
  return kind->attach(file.value(), spec, h.ncpus);
}

}  // namespace userbpf::maps

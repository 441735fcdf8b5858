// BPF_MAP_TYPE_ARRAY_OF_MAPS / HASH_OF_MAPS (kernel/bpf/map_in_map.c, arraymap.c, hashtab.c):
// outer maps holding u32 inner map ids. The array keeps its slots itself (0 = empty); the hash
// delegates storage to a hash map with 4-byte values living in the same file. The inner
// template sits in the unused tail of the file's header page, so every process checks updates
// against the same template.
#include "userbpf/map_in_map.hpp"

#include <linux/bpf.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "maps/map_impls.hpp"
#include "maps/map_in_map_internal.hpp"

namespace userbpf::maps {
namespace {

constexpr uint64_t kTemplateOff = 3072;  // inside the header page, after FileHeader

struct InnerTemplate {
  uint32_t type;  // 0: none recorded (created without a template): any non-special map fits
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
  uint32_t map_flags;
};
static_assert(sizeof(FileHeader) <= kTemplateOff);

// The template create_map_in_map hands to initialize() of the map it is creating.
thread_local const MapSpec* t_pending_template = nullptr;

bool is_map_in_map(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

// Map types Linux refuses as inner maps (bpf_map_meta_alloc / map_meta_equal).
bool inner_allowed(uint32_t type) {
  return !is_map_in_map(type) && type != BPF_MAP_TYPE_PROG_ARRAY &&
         type != BPF_MAP_TYPE_PERF_EVENT_ARRAY && type != BPF_MAP_TYPE_RINGBUF && type != 0;
}

MapSpec storage_spec(const MapSpec& spec) {
  MapSpec s = spec;
  s.type = BPF_MAP_TYPE_HASH;
  return s;
}

class MapInMap final : public Map {
 public:
  MapInMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus), array_(spec.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
    if (!array_) storage_ = hash_kind()->attach(file_, storage_spec(spec), ncpus);
  }

  static uint64_t file_size(const MapSpec& spec, uint32_t ncpus) {
    if (spec.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
      return round_up_page(kHeaderSize + uint64_t{spec.max_entries} * 4);
    }
    return hash_kind()->file_size(storage_spec(spec), ncpus);
  }

  void initialize() {
    if (storage_) hash_kind()->initialize(*storage_);
    InnerTemplate& t = tmpl();
    if (const MapSpec* s = t_pending_template) {
      t = {s->type, s->key_size, s->value_size, s->max_entries, s->map_flags};
    }
  }

  InnerTemplate& tmpl() const { return *file_->at<InnerTemplate>(kTemplateOff); }

  void set_resolver(InnerMapResolver resolver) {
    std::lock_guard<std::mutex> guard(mutex_);
    resolver_ = std::move(resolver);
    cache_.clear();
  }

  // Program side: the inner map's handle.
  void* lookup(const void* key) override {
    const uint32_t id = id_at(key);
    return id ? resolve(id).get() : nullptr;
  }

  int erase(const void* key) override {
    if (!array_) return storage_->erase(key);
    const uint32_t index = load_u32(key);
    if (index >= spec_.max_entries) return -E2BIG;
    return slots()[index].exchange(0, std::memory_order_acq_rel) != 0 ? 0 : -ENOENT;
  }

  int get_next_key(const void* key, void* next_key) override {
    if (!array_) return storage_->get_next_key(key, next_key);
    uint32_t next = 0;
    if (key != nullptr) {
      const uint32_t index = load_u32(key);
      if (index < spec_.max_entries) {
        if (index == spec_.max_entries - 1) return -ENOENT;
        next = index + 1;
      }
    }
    std::memcpy(next_key, &next, sizeof(next));
    return 0;
  }

  uint32_t size() const override { return array_ ? spec_.max_entries : storage_->size(); }

 protected:
  // BPF_MAP_LOOKUP_ELEM answers the inner map's id, as Linux does.
  int sys_lookup(const void* key, void* value, uint64_t) override {
    const uint32_t id = id_at(key);
    if (id == 0) return -ENOENT;
    std::memcpy(value, &id, sizeof(id));
    return 0;
  }

  int sys_update(const void* key, const void* value, uint64_t flags) override {
    const uint32_t id = load_u32(value);
    std::shared_ptr<Map> inner = id ? resolve(id) : nullptr;
    if (!inner) return -EBADF;
    if (!fits_template(inner->spec())) return -EINVAL;
    if (!array_) return storage_->update(key, &id, flags);
    if (flags != BPF_ANY) return -EINVAL;
    const uint32_t index = load_u32(key);
    if (index >= spec_.max_entries) return -E2BIG;
    slots()[index].store(id, std::memory_order_release);
    return 0;
  }

 private:
  static uint32_t load_u32(const void* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }

  std::atomic<uint32_t>* slots() const {
    return reinterpret_cast<std::atomic<uint32_t>*>(file_->base() + kHeaderSize);
  }

  uint32_t id_at(const void* key) const {
    if (array_) {
      const uint32_t index = load_u32(key);
      return index < spec_.max_entries ? slots()[index].load(std::memory_order_acquire) : 0;
    }
    const void* v = storage_->lookup(key);
    return v ? reinterpret_cast<const std::atomic<uint32_t>*>(v)->load(std::memory_order_acquire)
             : 0;
  }

  bool fits_template(const MapSpec& inner) const {
    const InnerTemplate& t = tmpl();
    if (!inner_allowed(inner.type)) return false;
    if (t.type == 0) return true;
    return inner.type == t.type && inner.key_size == t.key_size &&
           inner.value_size == t.value_size && inner.map_flags == t.map_flags &&
           ((t.map_flags & BPF_F_INNER_MAP) || inner.max_entries == t.max_entries);
  }

  std::shared_ptr<Map> resolve(uint32_t id) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
    std::shared_ptr<Map> map;
    if (resolver_) {
      map = resolver_(id);
    } else if (!path().empty()) {
      const auto sibling =
          std::filesystem::path(path()).parent_path() / (std::to_string(id) + ".map");
      if (auto opened = open_map(sibling.string())) map = *opened;
    }
    if (map) cache_.emplace(id, map);
    return map;
  }

  const bool array_;
  std::shared_ptr<Map> storage_;  // hash of maps: the id table
  std::mutex mutex_;
  InnerMapResolver resolver_;
  std::map<uint32_t, std::shared_ptr<Map>> cache_;  // inner maps mapped in this process
};

const MapKind kMapInMapKind = {
    &MapInMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<MapInMap>(std::move(file), spec, ncpus);
    },
    [](Map& map) { static_cast<MapInMap&>(map).initialize(); },
};

}  // namespace

const MapKind* map_in_map_kind() {
  return &kMapInMapKind;
}

Result<std::shared_ptr<Map>> create_map_in_map(const MapSpec& outer, const MapSpec& inner,
                                               const Backing& backing) {
  if (!is_map_in_map(outer.type)) {
    return make_error(Errc::invalid_argument, "map '" + outer.name + "' is not a map-in-map type");
  }
  if (!inner_allowed(inner.type)) {
    return make_error(Errc::invalid_argument, "map '" + outer.name + "': inner map type " +
                                                  map_type_name(inner.type) +
                                                  " cannot be stored in a map-in-map (EINVAL)");
  }
  MapSpec inner_checked = inner;
  inner_checked.name.clear();
  std::string why;
  if (check_spec(inner_checked, &why) != 0) {
    return make_error(Errc::invalid_argument,
                      "map '" + outer.name + "': inner map template: " + why + " (EINVAL)");
  }
  t_pending_template = &inner;
  auto created = create_map(outer, backing);
  t_pending_template = nullptr;
  return created;
}

void set_inner_map_resolver(Map& outer, InnerMapResolver resolver) {
  if (auto* m = dynamic_cast<MapInMap*>(&outer)) m->set_resolver(std::move(resolver));
}

MapSpec inner_map_template(const Map& map) {
  MapSpec spec;
  if (const auto* m = dynamic_cast<const MapInMap*>(&map)) {
    const InnerTemplate& t = m->tmpl();
    spec.type = t.type;
    spec.key_size = t.key_size;
    spec.value_size = t.value_size;
    spec.max_entries = t.max_entries;
    spec.map_flags = t.map_flags;
  }
  return spec;
}

}  // namespace userbpf::maps

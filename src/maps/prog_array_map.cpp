// BPF_MAP_TYPE_PROG_ARRAY (kernel/bpf/arraymap.c, the fd-array part): max_entries u32 slots of
// runtime program ids, 0 meaning empty, in shared memory. Programs cannot look slots up (only
// bpf_tail_call reads them); user space updates with BPF_ANY, reads ids, deletes.
#include <linux/bpf.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "maps/map_impls.hpp"
#include "maps/prog_array_internal.hpp"
#include "userbpf/prog_array.hpp"

namespace userbpf::maps {
namespace {

class ProgArrayMap final : public Map {
 public:
  ProgArrayMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        slots_(reinterpret_cast<std::atomic<uint32_t>*>(file_->base() + kHeaderSize)) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    return round_up_page(kHeaderSize + uint64_t{spec.max_entries} * 4);
  }

  uint32_t slot(uint32_t index) const {
    return index < spec_.max_entries ? slots_[index].load(std::memory_order_acquire) : 0;
  }

  int erase(const void* key) override {
    const uint32_t index = load_index(key);
    if (index >= spec_.max_entries) return -E2BIG;
    return slots_[index].exchange(0, std::memory_order_acq_rel) != 0 ? 0 : -ENOENT;
  }

  int get_next_key(const void* key, void* next_key) override {
    uint32_t next = 0;
    if (key != nullptr) {
      const uint32_t index = load_index(key);
      if (index < spec_.max_entries) {
        if (index == spec_.max_entries - 1) return -ENOENT;
        next = index + 1;
      }
    }
    std::memcpy(next_key, &next, sizeof(next));
    return 0;
  }

  uint32_t size() const override { return spec_.max_entries; }

 protected:
  int sys_lookup(const void* key, void* value, uint64_t) override {
    const uint32_t id = slot(load_index(key));
    if (id == 0) return -ENOENT;
    std::memcpy(value, &id, sizeof(id));
    return 0;
  }

  int sys_update(const void* key, const void* value, uint64_t flags) override {
    if (flags != BPF_ANY) return -EINVAL;
    const uint32_t index = load_index(key);
    if (index >= spec_.max_entries) return -E2BIG;
    uint32_t id;
    std::memcpy(&id, value, sizeof(id));
    if (id == 0) return -EBADF;  // Linux: not a program fd
    slots_[index].store(id, std::memory_order_release);
    return 0;
  }

 private:
  static uint32_t load_index(const void* key) {
    uint32_t index;
    std::memcpy(&index, key, sizeof(index));
    return index;
  }

  std::atomic<uint32_t>* slots_;
};

const MapKind kProgArrayKind = {
    &ProgArrayMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<ProgArrayMap>(std::move(file), spec, ncpus);
    },
    [](Map&) {},  // every slot empty
};

}  // namespace

const MapKind* prog_array_kind() {
  return &kProgArrayKind;
}

uint32_t prog_array_slot(const Map& map, uint32_t index) {
  const auto* array = dynamic_cast<const ProgArrayMap*>(&map);
  return array ? array->slot(index) : 0;
}

}  // namespace userbpf::maps

// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (kernel/bpf/arraymap.c): max_entries values
// indexed by a u32 key, all existing from creation, zero-initialised, never deleted. The values
// start on a page boundary right after the header, so a BPF_F_MMAPABLE array's data() is what
// mmap() of the map would show. Per-CPU: value i of CPU c is slot i * ncpus + c.
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "maps/map_impls.hpp"
#include "maps/map_types.hpp"
#include "maps/value_ops.hpp"

namespace userbpf::maps {
namespace {

class ArrayMap final : public Map {
 public:
  ArrayMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        values_(file_->base() + kHeaderSize),
        elem_size_(round_up8(spec.value_size)),
        percpu_(spec.type == BPF_MAP_TYPE_PERCPU_ARRAY) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t ncpus) {
    uint64_t slots =
        uint64_t{spec.max_entries} * (spec.type == BPF_MAP_TYPE_PERCPU_ARRAY ? ncpus : 1);
    return round_up_page(kHeaderSize + slots * round_up8(spec.value_size));
  }

  void* lookup(const void* key) override {
    uint32_t index = load_index(key);
    if (index >= spec_.max_entries) return nullptr;
    return slot(index, percpu_ ? current_cpu() : 0);
  }

  void* lookup_percpu(const void* key, uint32_t cpu) override {
    uint32_t index = load_index(key);
    if (!percpu_ || index >= spec_.max_entries || cpu >= ncpus_) return nullptr;
    return slot(index, cpu);
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    uint32_t index = load_index(key);
    if (int err = check_update(index, flags)) return err;
    if (percpu_) {
      std::memcpy(slot(index, current_cpu()), value, spec_.value_size);
    } else {
      store(slot(index, 0), value, flags);
    }
    return 0;
  }

  int erase(const void*) override { return -EINVAL; }

  int get_next_key(const void* key, void* next_key) override {
    return index_get_next_key(key, next_key, spec_.max_entries);
  }

  void* data() override { return percpu_ ? nullptr : values_; }
  uint32_t size() const override { return spec_.max_entries; }

 protected:
  int sys_lookup(const void* key, void* value, uint64_t flags) override {
    if (!percpu_) return Map::sys_lookup(key, value, flags);
    uint32_t index = load_index(key);
    if (index >= spec_.max_entries) return -ENOENT;
    // Linux copies the whole rounded slot of every CPU.
    auto* out = static_cast<uint8_t*>(value);
    for (uint32_t cpu = 0; cpu < ncpus_; ++cpu) {
      std::memcpy(out + uint64_t{cpu} * elem_size_, slot(index, cpu), elem_size_);
    }
    return 0;
  }

  int sys_update(const void* key, const void* value, uint64_t flags) override {
    if (!percpu_) return update(key, value, flags);
    uint32_t index = load_index(key);
    if (int err = check_update(index, flags)) return err;
    const auto* in = static_cast<const uint8_t*>(value);
    for (uint32_t cpu = 0; cpu < ncpus_; ++cpu) {
      std::memcpy(slot(index, cpu), in + uint64_t{cpu} * elem_size_, spec_.value_size);
    }
    return 0;
  }

 private:
  static uint32_t load_index(const void* key) {
    uint32_t index;
    std::memcpy(&index, key, sizeof(index));
    return index;
  }

  uint8_t* slot(uint32_t index, uint32_t cpu) const {
    uint64_t n = percpu_ ? uint64_t{index} * ncpus_ + cpu : index;
    return values_ + n * elem_size_;
  }

  // Linux's order of checks in array_map_update_elem / bpf_percpu_array_update.
  int check_update(uint32_t index, uint64_t flags) const {
    uint64_t allowed_lock = percpu_ ? 0 : BPF_F_LOCK;
    if ((flags & ~allowed_lock) > BPF_EXIST) return -EINVAL;
    if (index >= spec_.max_entries) return -E2BIG;
    if (flags & BPF_NOEXIST) return -EEXIST;
    if ((flags & BPF_F_LOCK) && spec_.spin_lock_off < 0) return -EINVAL;
    return 0;
  }

  void store(uint8_t* dst, const void* value, uint64_t flags) const {
    if (flags & BPF_F_LOCK) {
      copy_value_locked(dst, value, spec_.value_size, spec_.spin_lock_off, dst);
    } else {
      copy_value(dst, value, spec_.value_size, spec_.spin_lock_off);
    }
  }

  uint8_t* values_;
  uint32_t elem_size_;
  bool percpu_;
};

const MapKind kArrayKind = {
    &ArrayMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<ArrayMap>(std::move(file), spec, ncpus);
    },
    [](Map&) {},  // a new file is all zeros: every value exists and is zero
};

}  // namespace

const MapKind* array_kind() {
  return &kArrayKind;
}

}  // namespace userbpf::maps

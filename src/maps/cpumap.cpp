// BPF_MAP_TYPE_CPUMAP (kernel/bpf/cpumap.c): one entry per CPU, the targets bpf_redirect_map
// hands XDP frames to. A value is struct bpf_cpumap_val: the queue size, and with 8-byte values
// the program run on the CPU (its fd on update, its id on lookup). A queue size of 0 empties
// the entry. Only possible CPUs of this machine may hold an entry, as in Linux.
//
// userbpf keeps no queues or kthreads: an entry records the queue size. Programs on entries
// (bpf_prog.fd > 0) are refused with ENOMEM, Linux's answer when the fd is not an XDP cpumap
// program (its entry allocation fails as a whole): userbpf does not run second-level programs.
//
// Layout after the header: max_entries 8-byte slots {qsize, prog_id}, each one 64-bit word.
#include <linux/bpf.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "maps/map_impls.hpp"
#include "maps/redirect_maps_internal.hpp"

namespace userbpf::maps {
namespace {

constexpr uint32_t kMaxQueueSize = 16384;  // cpu_map_update_elem's sanity limit

struct CpuVal {
  uint32_t qsize;
  int32_t prog;  // fd on update, id on lookup (always 0)
};

class CpuMap final : public Map {
 public:
  CpuMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        slots_(reinterpret_cast<std::atomic<uint64_t>*>(file_->base() + kHeaderSize)) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    return round_up_page(kHeaderSize + uint64_t{spec.max_entries} * sizeof(CpuVal));
  }

  void* lookup(const void* key) override {
    const uint32_t cpu = load_u32(key);
    if (cpu >= spec_.max_entries) return nullptr;
    auto* v = reinterpret_cast<CpuVal*>(&slots_[cpu]);
    return __atomic_load_n(&v->qsize, __ATOMIC_ACQUIRE) != 0 ? v : nullptr;
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    const uint32_t cpu = load_u32(key);
    CpuVal v{0, 0};
    std::memcpy(&v, value, spec_.value_size);
    if (flags > BPF_EXIST) return -EINVAL;
    if (cpu >= spec_.max_entries) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;
    if (v.qsize > kMaxQueueSize) return -EOVERFLOW;
    if (cpu >= ncpus_) return -ENODEV;  // not a possible CPU
    if (v.qsize != 0 && v.prog > 0) return -ENOMEM;
    v.prog = 0;
    uint64_t word;
    std::memcpy(&word, &v, sizeof(word));
    slots_[cpu].store(word, std::memory_order_release);  // qsize 0: same as deleting
    return 0;
  }

  int erase(const void* key) override {
    const uint32_t cpu = load_u32(key);
    if (cpu >= spec_.max_entries) return -EINVAL;
    slots_[cpu].store(0, std::memory_order_release);
    return 0;
  }

  int get_next_key(const void* key, void* next_key) override {
    return index_get_next_key(key, next_key, spec_.max_entries);
  }

  uint32_t size() const override { return spec_.max_entries; }

 private:
  std::atomic<uint64_t>* slots_;
};

const MapKind kCpuMapKind = {
    &CpuMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<CpuMap>(std::move(file), spec, ncpus);
    },
    [](Map&) {},
};

}  // namespace

const MapKind* cpumap_kind() {
  return &kCpuMapKind;
}

}  // namespace userbpf::maps

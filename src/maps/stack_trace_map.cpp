// BPF_MAP_TYPE_STACK_TRACE in shared memory, with the semantics of kernel/bpf/stackmap.c.
//
// Layout after the file header: a control block (free-list lock, free count, never-used
// count), n_buckets atomic u32 bucket words (element index + 1; 0 = empty), the free list (u32
// element indexes) and max_entries elements of {hash, nr, value_size bytes of data}. Like
// Linux's xchg on bucket pointers, a bucket is swapped whole: bpf_get_stackid builds a new
// element off to the side and exchanges it in (freeing the old one), a user-space lookup
// exchanges the element out while it copies and back afterwards, delete exchanges in 0.
// Elements come from the never-used tail first, then from the free list, so creating a large
// map touches no element memory. Every index read from the shared file is range-checked.
#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "maps/jhash.hpp"
#include "maps/map_impls.hpp"
#include "maps/spinlock.hpp"
#include "maps/stack_trace_internal.hpp"
#include "maps/value_ops.hpp"
#include "userbpf/stack_trace.hpp"

namespace userbpf::maps {
namespace {

constexpr uint32_t kPerfMaxStackDepth = 127;  // PERF_MAX_STACK_DEPTH, the sysctl's default

struct Control {
  std::atomic<uint32_t> lock;  // guards free_count, next_unused and the free list
  uint32_t free_count;
  uint32_t next_unused;  // elements [next_unused, max_entries) were never handed out
};

struct Element {
  uint32_t hash;
  uint32_t nr;  // entries stored in data
  uint8_t data[];
};

constexpr uint64_t kControlOffset = kHeaderSize;
constexpr uint64_t kBucketsOffset = kHeaderSize + 64;

uint32_t round_up_pow2(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

uint32_t elem_size_of(const MapSpec& spec) {
  return (spec.map_flags & BPF_F_STACK_BUILD_ID) ? sizeof(bpf_stack_build_id) : sizeof(uint64_t);
}

struct Layout {
  uint32_t n_buckets;
  uint64_t free_list;  // offset
  uint64_t elements;   // offset
  uint64_t stride;     // bytes per element
  uint64_t file_size;

  explicit Layout(const MapSpec& spec) {
    n_buckets = round_up_pow2(spec.max_entries);
    free_list = kBucketsOffset + uint64_t{n_buckets} * 4;
    elements = (free_list + uint64_t{spec.max_entries} * 4 + 7) & ~uint64_t{7};
    stride = round_up8(sizeof(Element) + uint64_t{spec.value_size});
    file_size = round_up_page(elements + stride * spec.max_entries);
  }
};

class StackTraceMap final : public Map {
 public:
  StackTraceMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        layout_(spec),
        build_id_((spec.map_flags & BPF_F_STACK_BUILD_ID) != 0),
        ctl_(file_->at<Control>(kControlOffset)),
        buckets_(file_->at<std::atomic<uint32_t>>(kBucketsOffset)),
        free_(file_->at<uint32_t>(layout_.free_list)),
        elements_(file_->base() + layout_.elements) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t) { return Layout(spec).file_size; }

  // Programs: Linux's verifier refuses lookups on this map type; nothing to hand out.
  void* lookup(const void*) override { return nullptr; }

  int erase(const void* key) override {
    const uint32_t id = read_key(key);
    if (id >= layout_.n_buckets) return -E2BIG;
    const uint32_t old = buckets_[id].exchange(0, std::memory_order_acq_rel);
    if (old == 0) return -ENOENT;
    release(old);
    return 0;
  }

  int get_next_key(const void* key, void* next_key) override {
    uint32_t id = 0;
    if (key != nullptr) {
      id = read_key(key);
      if (id >= layout_.n_buckets || buckets_[id].load(std::memory_order_acquire) == 0) {
        id = 0;  // an unknown key restarts the walk, as Linux does
      } else {
        ++id;
      }
    }
    while (id < layout_.n_buckets && buckets_[id].load(std::memory_order_acquire) == 0) ++id;
    if (id >= layout_.n_buckets) return -ENOENT;
    std::memcpy(next_key, &id, sizeof(id));
    return 0;
  }

  uint32_t size() const override {
    uint32_t used = 0;
    for (uint32_t id = 0; id < layout_.n_buckets; ++id)
      used += buckets_[id].load(std::memory_order_relaxed) != 0;
    return used;
  }

  long get_id(std::span<const uint64_t> trace, uint64_t flags) {
    const uint32_t skip = static_cast<uint32_t>(flags & BPF_F_SKIP_FIELD_MASK);
    const uint32_t elem = elem_size_of(spec_);
    const uint32_t max_depth = stack_max_depth(spec_.value_size, elem, flags);
    // No frame past the skipped ones (the second test only matters when the sysctl caps the
    // depth below the skip count).
    if (trace.size() <= skip || max_depth <= skip) return -EFAULT;
    const uint32_t nr = std::min(static_cast<uint32_t>(trace.size()) - skip, max_depth - skip);
    const uint64_t* ips = trace.data() + skip;
    const uint32_t len = nr * 8;
    const uint32_t hash = jhash(ips, len, 0);  // == Linux's jhash2 over the u32 words
    const uint32_t id = hash & (layout_.n_buckets - 1);

    const Element* bucket = element_of(buckets_[id].load(std::memory_order_acquire));
    const bool hash_matches = bucket != nullptr && bucket->hash == hash;
    if (hash_matches && (flags & BPF_F_FAST_STACK_CMP)) return id;
    if (!build_id_) {
      if (hash_matches && bucket->nr == nr && std::memcmp(bucket->data, ips, len) == 0) return id;
      if (bucket != nullptr && !(flags & BPF_F_REUSE_STACKID)) return -EEXIST;
    }

    const uint32_t fresh = acquire();
    if (fresh == 0) return -ENOMEM;
    Element* e = element_at(fresh - 1);
    e->hash = hash;
    e->nr = nr;
    if (build_id_) {
      auto* entries = reinterpret_cast<bpf_stack_build_id*>(e->data);
      for (uint32_t i = 0; i < nr; ++i) {
        bpf_stack_build_id entry{};
        entry.status = BPF_STACK_BUILD_ID_IP;
        entry.ip = ips[i];
        std::memcpy(&entries[i], &entry, sizeof(entry));
      }
      // Linux compares the converted entries before installing (its fast path cannot).
      if (hash_matches && bucket->nr == nr &&
          std::memcmp(bucket->data, e->data, uint64_t{nr} * elem) == 0) {
        release(fresh);
        return id;
      }
      if (bucket != nullptr && !(flags & BPF_F_REUSE_STACKID)) {
        release(fresh);
        return -EEXIST;
      }
    } else {
      std::memcpy(e->data, ips, len);
    }
    const uint32_t old = buckets_[id].exchange(fresh, std::memory_order_acq_rel);
    if (old != 0) release(old);
    return id;
  }

 protected:
  // Linux's bpf_stackmap_copy: take the element out of its bucket while copying.
  int sys_lookup(const void* key, void* value, uint64_t) override {
    const uint32_t id = read_key(key);
    if (id >= layout_.n_buckets) return -ENOENT;
    const uint32_t taken = buckets_[id].exchange(0, std::memory_order_acq_rel);
    const Element* e = element_of(taken);
    if (e == nullptr) return -ENOENT;
    const uint64_t len =
        std::min<uint64_t>(uint64_t{e->nr} * elem_size_of(spec_), spec_.value_size);
    std::memcpy(value, e->data, len);
    std::memset(static_cast<uint8_t*>(value) + len, 0, spec_.value_size - len);
    const uint32_t old = buckets_[id].exchange(taken, std::memory_order_acq_rel);
    if (old != 0) release(old);  // a program stored a stack meanwhile; ours wins, as in Linux
    return 0;
  }

 private:
  static uint32_t read_key(const void* key) {
    uint32_t id;
    std::memcpy(&id, key, sizeof(id));
    return id;
  }

  Element* element_at(uint32_t index) const {
    return reinterpret_cast<Element*>(elements_ + uint64_t{index} * layout_.stride);
  }

  // The element a bucket word names, nullptr for 0 or a corrupt index.
  const Element* element_of(uint32_t word) const {
    if (word == 0 || word > spec_.max_entries) return nullptr;
    return element_at(word - 1);
  }

  // A free element as a bucket word (index + 1), 0 when none is left.
  uint32_t acquire() {
    SpinGuard guard(ctl_->lock);
    if (ctl_->free_count > 0 && ctl_->free_count <= spec_.max_entries) {
      const uint32_t index = free_[--ctl_->free_count];
      if (index < spec_.max_entries) return index + 1;
    }
    if (ctl_->next_unused < spec_.max_entries) return ++ctl_->next_unused;
    return 0;
  }

  void release(uint32_t word) {
    if (word == 0 || word > spec_.max_entries) return;
    SpinGuard guard(ctl_->lock);
    if (ctl_->free_count < spec_.max_entries) free_[ctl_->free_count++] = word - 1;
  }

  const Layout layout_;
  const bool build_id_;
  Control* ctl_;
  std::atomic<uint32_t>* buckets_;
  uint32_t* free_;
  uint8_t* elements_;
};

const MapKind kStackTraceKind = {
    &StackTraceMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<StackTraceMap>(std::move(file), spec, ncpus);
    },
    [](Map&) {},  // all buckets empty, every element never used
};

}  // namespace

const MapKind* stack_trace_kind() {
  return &kStackTraceKind;
}

int check_stack_trace_spec(const MapSpec& s, std::string* why) {
  const auto fail = [why](int err, std::string message) {
    if (why != nullptr) *why = std::move(message);
    return err;
  };
  constexpr uint32_t kAllowed =
      BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_STACK_BUILD_ID;
  if (s.map_flags & ~kAllowed) {
    char text[64];
    std::snprintf(text, sizeof(text), "map_flags 0x%x not allowed for stack_trace maps",
                  s.map_flags & ~kAllowed);
    return fail(-EINVAL, std::string(text) +
                             " (allowed: BPF_F_NUMA_NODE, BPF_F_RDONLY, "
                             "BPF_F_WRONLY, BPF_F_STACK_BUILD_ID)");
  }
  if (s.max_entries == 0) return fail(-EINVAL, "max_entries must not be 0");
  if (s.key_size != 4) {
    return fail(-EINVAL, "key_size " + std::to_string(s.key_size) +
                             " invalid for stack_trace maps (must be 4, the stack id)");
  }
  if (s.value_size < 8 || s.value_size % 8 != 0) {
    return fail(-EINVAL, "value_size " + std::to_string(s.value_size) +
                             " invalid for stack_trace maps (a non-zero multiple of 8)");
  }
  const uint32_t max_stack = perf_event_max_stack();
  if (s.map_flags & BPF_F_STACK_BUILD_ID) {
    if (s.value_size % sizeof(bpf_stack_build_id) != 0 ||
        s.value_size / sizeof(bpf_stack_build_id) > max_stack) {
      return fail(-EINVAL, "value_size " + std::to_string(s.value_size) +
                               " invalid with BPF_F_STACK_BUILD_ID (a multiple of the " +
                               std::to_string(sizeof(bpf_stack_build_id)) +
                               "-byte struct bpf_stack_build_id, at most " +
                               std::to_string(max_stack) + " of them)");
    }
  } else if (s.value_size / 8 > max_stack) {
    return fail(-EINVAL, "value_size " + std::to_string(s.value_size) + " holds more than " +
                             std::to_string(max_stack) +
                             " frames (sysctl kernel.perf_event_max_stack)");
  }
  if (s.max_entries > (1u << 31)) {
    return fail(-E2BIG, "max_entries " + std::to_string(s.max_entries) + " exceeds 2^31");
  }
  return 0;
}

uint32_t perf_event_max_stack() {
  static const uint32_t value = [] {
    uint32_t v = kPerfMaxStackDepth;
    if (FILE* f = std::fopen("/proc/sys/kernel/perf_event_max_stack", "r")) {
      unsigned long read = 0;
      if (std::fscanf(f, "%lu", &read) == 1 && read > 0 && read <= 0xffff)
        v = static_cast<uint32_t>(read);
      std::fclose(f);
    }
    return v;
  }();
  return value;
}

uint32_t stack_max_depth(uint32_t size, uint32_t elem_size, uint64_t flags) {
  const uint64_t depth = uint64_t{size / elem_size} + (flags & BPF_F_SKIP_FIELD_MASK);
  return static_cast<uint32_t>(std::min<uint64_t>(depth, perf_event_max_stack()));
}

long stack_trace_get_id(Map& map, std::span<const uint64_t> trace, uint64_t flags) {
  if (map.spec().type != BPF_MAP_TYPE_STACK_TRACE) return -EINVAL;
  return static_cast<StackTraceMap&>(map).get_id(trace, flags);
}

}  // namespace userbpf::maps

// BPF_MAP_TYPE_DEVMAP and BPF_MAP_TYPE_DEVMAP_HASH (kernel/bpf/devmap.c): net devices by index
// (array) or by any u32 key (hash), the targets of bpf_redirect_map in XDP programs. A value is
// struct bpf_devmap_val: the ifindex, and with 8-byte values the program run on the device
// (its fd on update, its id on lookup).
//
// userbpf has no net devices: an entry names a device of the host by its ifindex, accepted when
// the host has it (see host_ifindex_exists). Programs attached to entries (bpf_prog.fd > 0)
// are refused with EINVAL, Linux's answer for an fd that is not an XDP devmap program: userbpf
// does not run second-level programs on redirected frames.
//
// Layout after the header. Array: max_entries slots of {ifindex, prog_id}, ifindex 0 meaning
// empty, each written as one 64-bit word. Hash: a control block (lock, item count, slots handed
// out, free list), n_buckets u32 bucket heads and max_entries 16-byte nodes {next, key, ifindex,
// prog_id}; node references are index + 1 so that 0 means none. New nodes go to the head of
// their bucket, as hlist_add_head_rcu does, so get_next_key walks them in Linux's order.
#include <linux/bpf.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>

#include "maps/map_impls.hpp"
#include "maps/redirect_maps_internal.hpp"
#include "maps/spinlock.hpp"

namespace userbpf::maps {
namespace {

struct DevVal {
  uint32_t ifindex;
  int32_t prog;  // fd on update, id on lookup (always 0: no programs on entries)
};
static_assert(sizeof(DevVal) == sizeof(uint64_t));

// The value an update carries, padded as Linux pads it (prog fd -1 for 4-byte values).
DevVal value_in(const void* value, uint32_t value_size) {
  DevVal v{0, -1};
  std::memcpy(&v, value, value_size);
  return v;
}

// __dev_map_alloc_node: the device must exist, a program fd is refused (see the file comment).
int check_device(const DevVal& v) {
  if (!host_ifindex_exists(v.ifindex)) return -EINVAL;
  if (v.prog > 0) return -EINVAL;
  return 0;
}

class DevMap final : public Map {
 public:
  DevMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        slots_(reinterpret_cast<std::atomic<uint64_t>*>(file_->base() + kHeaderSize)) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    return round_up_page(kHeaderSize + uint64_t{spec.max_entries} * sizeof(DevVal));
  }

  void* lookup(const void* key) override {
    const uint32_t index = load_u32(key);
    if (index >= spec_.max_entries) return nullptr;
    DevVal* v = reinterpret_cast<DevVal*>(&slots_[index]);
    return __atomic_load_n(&v->ifindex, __ATOMIC_ACQUIRE) != 0 ? v : nullptr;
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    const uint32_t index = load_u32(key);
    if (flags > BPF_EXIST) return -EINVAL;
    if (index >= spec_.max_entries) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;  // every slot "exists" in an array
    DevVal v = value_in(value, spec_.value_size);
    if (v.ifindex == 0) {
      if (v.prog > 0) return -EINVAL;  // no program without a device
    } else if (int err = check_device(v)) {
      return err;
    }
    v.prog = 0;
    uint64_t word;
    std::memcpy(&word, &v, sizeof(word));
    slots_[index].store(word, std::memory_order_release);
    return 0;
  }

  // Linux clears the slot and answers 0 whether or not it held a device.
  int erase(const void* key) override {
    const uint32_t index = load_u32(key);
    if (index >= spec_.max_entries) return -EINVAL;
    slots_[index].store(0, std::memory_order_release);
    return 0;
  }

  int get_next_key(const void* key, void* next_key) override {
    return index_get_next_key(key, next_key, spec_.max_entries);
  }

  uint32_t size() const override { return spec_.max_entries; }

 private:
  std::atomic<uint64_t>* slots_;
};

struct HashControl {
  std::atomic<uint32_t> lock;
  uint32_t items;
  uint32_t used;       // nodes handed out so far (never-used nodes need no initialisation)
  uint32_t free_head;  // node ref of the first freed node
};

struct HashNode {
  uint32_t next;  // node ref, 0: end of chain
  uint32_t key;
  DevVal val;
};

class DevMapHash final : public Map {
 public:
  DevMapHash(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        buckets_n_(bucket_count(spec)),
        control_(file_->at<HashControl>(kHeaderSize)),
        buckets_(file_->at<uint32_t>(kHeaderSize + sizeof(HashControl))),
        nodes_(file_->at<HashNode>(nodes_offset(spec))) {}

  static uint32_t bucket_count(const MapSpec& spec) {
    return static_cast<uint32_t>(std::bit_ceil(uint64_t{spec.max_entries}));
  }
  static uint64_t nodes_offset(const MapSpec& spec) {
    const uint64_t end = kHeaderSize + sizeof(HashControl) + uint64_t{bucket_count(spec)} * 4;
    return (end + 15) & ~uint64_t{15};
  }
  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    return round_up_page(nodes_offset(spec) + uint64_t{spec.max_entries} * sizeof(HashNode));
  }

  void* lookup(const void* key) override {
    SpinGuard guard(control_->lock);
    HashNode* node = find(load_u32(key));
    return node ? &node->val : nullptr;
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    const uint32_t k = load_u32(key);
    DevVal v = value_in(value, spec_.value_size);
    if (flags > BPF_EXIST || v.ifindex == 0) return -EINVAL;
    SpinGuard guard(control_->lock);
    HashNode* old = find(k);
    if (old && (flags & BPF_NOEXIST)) return -EEXIST;
    // BPF_EXIST on an absent key inserts: Linux's devmap hash does not check it.
    if (int err = check_device(v)) return err;
    v.prog = 0;
    if (old) {
      unlink(old);
    } else {
      if (control_->items >= spec_.max_entries) return -E2BIG;
      old = allocate();
      ++control_->items;
    }
    old->key = k;
    old->val = v;
    uint32_t& head = buckets_[k & (buckets_n_ - 1)];
    old->next = head;
    head = ref(old);
    return 0;
  }

  int erase(const void* key) override {
    SpinGuard guard(control_->lock);
    HashNode* node = find(load_u32(key));
    if (!node) return -ENOENT;
    unlink(node);
    node->next = control_->free_head;
    control_->free_head = ref(node);
    --control_->items;
    return 0;
  }

  // dev_map_hash_get_next_key: the node after `key` in its bucket, else the first node of the
  // following buckets; an absent key restarts from the first bucket.
  int get_next_key(const void* key, void* next_key) override {
    SpinGuard guard(control_->lock);
    uint32_t bucket = 0;
    if (key != nullptr) {
      const uint32_t k = load_u32(key);
      if (HashNode* node = find(k)) {
        if (node->next != 0) return emit(next_key, deref(node->next)->key);
        bucket = (k & (buckets_n_ - 1)) + 1;
      }
    }
    for (; bucket < buckets_n_; ++bucket) {
      if (buckets_[bucket] != 0) return emit(next_key, deref(buckets_[bucket])->key);
    }
    return -ENOENT;
  }

  uint32_t size() const override { return control_->items; }

 private:
  static int emit(void* out, uint32_t key) {
    std::memcpy(out, &key, sizeof(key));
    return 0;
  }
  HashNode* deref(uint32_t r) const { return &nodes_[r - 1]; }
  uint32_t ref(const HashNode* n) const { return static_cast<uint32_t>(n - nodes_) + 1; }

  HashNode* find(uint32_t key) const {
    for (uint32_t r = buckets_[key & (buckets_n_ - 1)]; r != 0; r = deref(r)->next) {
      if (deref(r)->key == key) return deref(r);
    }
    return nullptr;
  }

  void unlink(HashNode* node) {
    uint32_t* link = &buckets_[node->key & (buckets_n_ - 1)];
    while (*link != ref(node)) link = &deref(*link)->next;
    *link = node->next;
  }

  // Only called with items < max_entries, so a node is free or never used.
  HashNode* allocate() {
    if (control_->free_head != 0) {
      HashNode* n = deref(control_->free_head);
      control_->free_head = n->next;
      return n;
    }
    return &nodes_[control_->used++];
  }

  uint32_t buckets_n_;
  HashControl* control_;
  uint32_t* buckets_;
  HashNode* nodes_;
};

template <class M>
const MapKind kind_for = {
    &M::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<M>(std::move(file), spec, ncpus);
    },
    [](Map&) {},  // a zeroed file is an empty map
};

}  // namespace

const MapKind* devmap_kind() {
  return &kind_for<DevMap>;
}
const MapKind* devmap_hash_kind() {
  return &kind_for<DevMapHash>;
}

}  // namespace userbpf::maps

// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH (kernel/bpf/hashtab.c) in shared
// memory.
//
// Layout after the file header: a control block, then a power-of-two array of buckets (list
// head + spinlock, 8 bytes each), then max_entries fixed-size elements:
//   [next u32][seq u32][hash u32][ref u32][key, rounded to 8][value(s), each rounded to 8]
// Lists link elements by index. A list ends in a "nulls" marker that names its bucket (as
// Linux's hlist_nulls does), so a lock-free reader that followed an element which was moved to
// another list notices and restarts. Each element carries a sequence word, odd while free or
// being (re)written, so a reader never matches a torn or recycled key.
//
// Writers take the bucket lock. Free elements form a lock-free stack with a tag against ABA;
// elements never used yet are handed out by a bump counter, so memory is only touched as the map
// fills (BPF_F_NO_PREALLOC therefore behaves like preallocation and costs nothing extra).
//
// LRU: lookups from programs set the element's reference bit; when no element is free, a clock
// hand sweeps the elements, clears set bits and evicts the first unreferenced one (second
// chance, an approximation of Linux's active/inactive lists). BPF_F_NO_COMMON_LRU is accepted
// and max_entries rounded as Linux does, but all CPUs share one clock.
#include <linux/bpf.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "maps/map_impls.hpp"
#include "maps/map_types.hpp"
#include "maps/spinlock.hpp"
#include "maps/value_ops.hpp"

namespace userbpf::maps {
namespace {

constexpr uint32_t kNullsBit = 0x80000000u;
constexpr uint32_t kNil = 0xffffffffu;  // end of the free stack: a nulls naming no bucket

struct HashControl {
  std::atomic<uint64_t> free_head;  // (tag << 32) | element index, index kNil when empty
  std::atomic<uint32_t> bump;       // elements [bump, max_entries) were never used
  std::atomic<uint32_t> count;      // elements in the map
  std::atomic<uint32_t> clock_hand;
  uint32_t reserved;
  uint64_t seed;
};

struct Bucket {
  std::atomic<uint32_t> head;  // element index or nulls marker
  std::atomic<uint32_t> lock;
};

struct Elem {
  std::atomic<uint32_t> next;
  std::atomic<uint32_t> seq;  // odd: free or being written; even: holds a valid key
  std::atomic<uint32_t> hash;
  std::atomic<uint32_t> ref;  // LRU reference bit
};
static_assert(sizeof(Elem) == 16);

constexpr uint64_t kControlOffset = kHeaderSize;
constexpr uint64_t kBucketsOffset = kControlOffset + 64;

uint32_t bucket_count(uint32_t max_entries) {
  uint32_t n = 1;
  while (n < max_entries) n <<= 1;
  return n;
}

uint64_t fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

uint32_t hash_bytes(const void* key, uint32_t size, uint64_t seed) {
  const auto* p = static_cast<const uint8_t*>(key);
  uint64_t h = seed ^ (uint64_t{size} * 0x9e3779b97f4a7c15ull);
  if (size == 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return static_cast<uint32_t>(fmix64(h ^ w));
  }
  uint32_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = fmix64(h ^ w) + 0x9e3779b97f4a7c15ull;
  }
  if (i < size) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, size - i);
    h = fmix64(h ^ w ^ 0x5bd1e995u);
  } else if (size == 8) {
    h = fmix64(h);
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

bool keys_equal(const void* a, const void* b, uint32_t size) {
  switch (size) {
    case 4: {
      uint32_t x, y;
      std::memcpy(&x, a, 4);
      std::memcpy(&y, b, 4);
      return x == y;
    }
    case 8: {
      uint64_t x, y;
      std::memcpy(&x, a, 8);
      std::memcpy(&y, b, 8);
      return x == y;
    }
    default: return std::memcmp(a, b, size) == 0;
  }
}

class HashMap final : public Map {
 public:
  HashMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        percpu_(is_percpu_type(spec.type)),
        lru_(spec.type == BPF_MAP_TYPE_LRU_HASH || spec.type == BPF_MAP_TYPE_LRU_PERCPU_HASH),
        n_buckets_(bucket_count(spec.max_entries)),
        mask_(n_buckets_ - 1),
        key_stride_(round_up8(spec.key_size)),
        value_stride_(round_up8(spec.value_size)),
        elem_size_(elem_size(spec, ncpus)),
        ctl_(file_->at<HashControl>(kControlOffset)),
        buckets_(file_->at<Bucket>(kBucketsOffset)),
        elems_(file_->base() + elems_offset(spec)) {}

  static uint32_t elem_size(const MapSpec& spec, uint32_t ncpus) {
    uint32_t values = is_percpu_type(spec.type) ? ncpus : 1;
    return sizeof(Elem) + round_up8(spec.key_size) + round_up8(spec.value_size) * values;
  }
  static uint64_t elems_offset(const MapSpec& spec) {
    return (kBucketsOffset + uint64_t{bucket_count(spec.max_entries)} * sizeof(Bucket) + 63) &
           ~uint64_t{63};
  }
  static uint64_t file_size(const MapSpec& spec, uint32_t ncpus) {
    return round_up_page(elems_offset(spec) + uint64_t{spec.max_entries} * elem_size(spec, ncpus));
  }

  void initialize() {
    ctl_->free_head.store(kNil, std::memory_order_relaxed);
    uint64_t seed = 0;
    if (!(spec_.map_flags & BPF_F_ZERO_SEED)) {
      if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
        seed = reinterpret_cast<uintptr_t>(this) ^ uint64_t(file_->fd()) * 0x9e3779b97f4a7c15ull;
      }
    }
    ctl_->seed = seed;
    for (uint32_t b = 0; b < n_buckets_; ++b) {
      buckets_[b].head.store(kNullsBit | b, std::memory_order_relaxed);
    }
  }

  void* lookup(const void* key) override {
    Elem* e = find(key, hash(key));
    if (e == nullptr) return nullptr;
    if (lru_ && e->ref.load(std::memory_order_relaxed) == 0) {
      e->ref.store(1, std::memory_order_relaxed);
    }
    return value_of(e, percpu_ ? current_cpu() : 0);
  }

  void* lookup_percpu(const void* key, uint32_t cpu) override {
    if (!percpu_ || cpu >= ncpus_) return nullptr;
    Elem* e = find(key, hash(key));
    if (e == nullptr) return nullptr;
    if (lru_ && e->ref.load(std::memory_order_relaxed) == 0) {
      e->ref.store(1, std::memory_order_relaxed);
    }
    return value_of(e, cpu);
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    return update_impl(key, value, flags, percpu_ ? static_cast<int64_t>(current_cpu()) : -1);
  }

  int erase(const void* key) override {
    uint32_t h = hash(key);
    Bucket& b = buckets_[h & mask_];
    uint32_t index;
    {
      SpinGuard guard(b.lock);
      index = find_locked(b, key, h);
      if (index == kNil) return -ENOENT;
      unlink_locked(b, index);
    }
    release(index);
    return 0;
  }

  int get_next_key(const void* key, void* next_key) override {
    uint32_t start = 0;
    if (key != nullptr) {
      uint32_t h = hash(key);
      uint32_t b = h & mask_;
      SpinGuard guard(buckets_[b].lock);
      uint32_t index = find_locked(buckets_[b], key, h);
      if (index != kNil) {
        uint32_t next = elem(index)->next.load(std::memory_order_relaxed);
        if (!(next & kNullsBit)) {
          std::memcpy(next_key, key_of(elem(next)), spec_.key_size);
          return 0;
        }
        start = b + 1;
      }
      // A key that is not in the map restarts from the first element, as Linux does.
    }
    for (uint32_t b = start; b < n_buckets_; ++b) {
      if (buckets_[b].head.load(std::memory_order_acquire) & kNullsBit) continue;
      SpinGuard guard(buckets_[b].lock);
      uint32_t first = buckets_[b].head.load(std::memory_order_relaxed);
      if (first & kNullsBit) continue;
      std::memcpy(next_key, key_of(elem(first)), spec_.key_size);
      return 0;
    }
    return -ENOENT;
  }

  uint32_t size() const override { return ctl_->count.load(std::memory_order_relaxed); }

 protected:
  int sys_lookup(const void* key, void* value, uint64_t flags) override {
    Elem* e = find(key, hash(key));  // no LRU reference from user space, as in Linux
    if (e == nullptr) return -ENOENT;
    copy_out(e, value, flags);
    return 0;
  }

  int sys_update(const void* key, const void* value, uint64_t flags) override {
    return update_impl(key, value, flags, percpu_ ? kAllCpus : -1);
  }

  int sys_lookup_and_delete(const void* key, void* value, uint64_t flags) override {
    uint32_t h = hash(key);
    Bucket& b = buckets_[h & mask_];
    uint32_t index;
    {
      SpinGuard guard(b.lock);
      index = find_locked(b, key, h);
      if (index == kNil) return -ENOENT;
      copy_out(elem(index), value, flags);
      unlink_locked(b, index);
    }
    release(index);
    return 0;
  }

 private:
  static constexpr int64_t kAllCpus = -2;  // source buffer holds every CPU's value

  uint32_t hash(const void* key) const { return hash_bytes(key, spec_.key_size, ctl_->seed); }
  Elem* elem(uint32_t index) const {
    return reinterpret_cast<Elem*>(elems_ + uint64_t{index} * elem_size_);
  }
  uint8_t* key_of(Elem* e) const { return reinterpret_cast<uint8_t*>(e) + sizeof(Elem); }
  uint8_t* value_of(Elem* e, uint32_t cpu) const {
    return key_of(e) + key_stride_ + uint64_t{cpu} * value_stride_;
  }

  // Lock-free lookup (the program fast path).
  Elem* find(const void* key, uint32_t h) const {
    const uint32_t b = h & mask_;
    const uint32_t capacity = spec_.max_entries;
    for (;;) {
      uint32_t n = buckets_[b].head.load(std::memory_order_acquire);
      uint32_t steps = 0;
      while (!(n & kNullsBit)) {
        if (n >= capacity || ++steps > capacity) return nullptr;  // corrupted file: stop
        Elem* e = elem(n);
        uint32_t seq = e->seq.load(std::memory_order_acquire);
        if (!(seq & 1) && e->hash.load(std::memory_order_relaxed) == h &&
            keys_equal(key_of(e), key, spec_.key_size)) {
          std::atomic_thread_fence(std::memory_order_acquire);
          if (e->seq.load(std::memory_order_relaxed) == seq) return e;
          break;  // recycled while we compared: start over
        }
        n = e->next.load(std::memory_order_acquire);
      }
      if (n == (kNullsBit | b)) return nullptr;
      // Ended in another list (the element moved) or was recycled: start over.
    }
  }

  // Lookup with the bucket lock held: returns the element index or kNil.
  uint32_t find_locked(Bucket& b, const void* key, uint32_t h) const {
    uint32_t n = b.head.load(std::memory_order_relaxed);
    while (!(n & kNullsBit)) {
      Elem* e = elem(n);
      if (e->hash.load(std::memory_order_relaxed) == h &&
          keys_equal(key_of(e), key, spec_.key_size)) {
        return n;
      }
      n = e->next.load(std::memory_order_relaxed);
    }
    return kNil;
  }

  // Unlinks `index` from `b` (lock held) and marks it free; false if it is not in `b`.
  bool unlink_locked(Bucket& b, uint32_t index) {
    Elem* target = elem(index);
    uint32_t after = target->next.load(std::memory_order_relaxed);
    uint32_t n = b.head.load(std::memory_order_relaxed);
    if (n == index) {
      b.head.store(after, std::memory_order_release);
    } else {
      while (true) {
        if (n & kNullsBit) return false;
        Elem* e = elem(n);
        uint32_t next = e->next.load(std::memory_order_relaxed);
        if (next == index) {
          e->next.store(after, std::memory_order_release);
          break;
        }
        n = next;
      }
    }
    target->seq.fetch_add(1, std::memory_order_release);  // odd: readers skip it
    ctl_->count.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  // Puts an unlinked element on the free stack.
  void release(uint32_t index) {
    Elem* e = elem(index);
    uint64_t old = ctl_->free_head.load(std::memory_order_relaxed);
    for (;;) {
      e->next.store(static_cast<uint32_t>(old), std::memory_order_relaxed);
      uint64_t tagged = ((old >> 32) + 1) << 32 | index;
      if (ctl_->free_head.compare_exchange_weak(old, tagged, std::memory_order_release,
                                                std::memory_order_relaxed)) {
        return;
      }
    }
  }

  // A free element (free stack first, then never-used ones), or kNil when full.
  uint32_t allocate() {
    uint64_t old = ctl_->free_head.load(std::memory_order_acquire);
    while (static_cast<uint32_t>(old) != kNil) {
      uint32_t index = static_cast<uint32_t>(old);
      uint32_t next = elem(index)->next.load(std::memory_order_relaxed);
      uint64_t tagged = ((old >> 32) + 1) << 32 | next;
      if (ctl_->free_head.compare_exchange_weak(old, tagged, std::memory_order_acquire,
                                                std::memory_order_acquire)) {
        return index;
      }
    }
    uint32_t fresh = ctl_->bump.load(std::memory_order_relaxed);
    while (fresh < spec_.max_entries) {
      if (ctl_->bump.compare_exchange_weak(fresh, fresh + 1, std::memory_order_relaxed)) {
        elem(fresh)->seq.store(1, std::memory_order_relaxed);  // free
        return fresh;
      }
    }
    return kNil;
  }

  // LRU: second-chance sweep for an element to recycle; returns it unlinked, or kNil.
  uint32_t evict() {
    const uint32_t capacity = spec_.max_entries;
    for (uint64_t step = 0; step < 4ull * capacity + 64; ++step) {
      uint32_t index = ctl_->clock_hand.fetch_add(1, std::memory_order_relaxed) % capacity;
      Elem* e = elem(index);
      uint32_t seq = e->seq.load(std::memory_order_acquire);
      if (seq & 1) continue;
      if (e->ref.load(std::memory_order_relaxed) != 0) {
        e->ref.store(0, std::memory_order_relaxed);
        continue;
      }
      Bucket& b = buckets_[e->hash.load(std::memory_order_relaxed) & mask_];
      SpinGuard guard(b.lock);
      if (e->seq.load(std::memory_order_relaxed) != seq) continue;
      if (unlink_locked(b, index)) return index;
    }
    return kNil;
  }

  // Writes the value(s) of an element: `cpu` >= 0 one CPU's slot (program side), kAllCpus
  // every slot from a user buffer, -1 a plain value.
  void store_value(Elem* e, const void* value, uint64_t flags, int64_t cpu, bool fresh) {
    if (!percpu_) {
      uint8_t* dst = value_of(e, 0);
      if (fresh) std::memset(dst, 0, value_stride_);
      if (flags & BPF_F_LOCK) {
        copy_value_locked(dst, value, spec_.value_size, spec_.spin_lock_off, dst);
      } else {
        copy_value(dst, value, spec_.value_size, spec_.spin_lock_off);
      }
      return;
    }
    if (cpu == kAllCpus) {
      const auto* in = static_cast<const uint8_t*>(value);
      for (uint32_t c = 0; c < ncpus_; ++c) {
        std::memcpy(value_of(e, c), in + uint64_t{c} * value_stride_, spec_.value_size);
      }
      return;
    }
    if (fresh) std::memset(value_of(e, 0), 0, uint64_t{value_stride_} * ncpus_);
    std::memcpy(value_of(e, static_cast<uint32_t>(cpu)), value, spec_.value_size);
  }

  void copy_out(Elem* e, void* value, uint64_t flags) const {
    if (percpu_) {
      auto* out = static_cast<uint8_t*>(value);
      for (uint32_t c = 0; c < ncpus_; ++c) {
        std::memcpy(out + uint64_t{c} * value_stride_, value_of(e, c), value_stride_);
      }
      return;
    }
    uint8_t* src = value_of(e, 0);
    if (flags & BPF_F_LOCK) {
      copy_value_locked(value, src, spec_.value_size, spec_.spin_lock_off, src);
    } else {
      copy_value(value, src, spec_.value_size, spec_.spin_lock_off);
    }
    zero_lock_word(value, spec_.spin_lock_off);
  }

  int update_impl(const void* key, const void* value, uint64_t flags, int64_t cpu) {
    // Linux: LRU and per-CPU tables refuse BPF_F_LOCK, the plain table allows it with a lock.
    const uint64_t mode = flags & ~uint64_t{BPF_F_LOCK};
    if (lru_ || percpu_) {
      if (flags > BPF_EXIST) return -EINVAL;
    } else {
      if (mode > BPF_EXIST) return -EINVAL;
      if ((flags & BPF_F_LOCK) && spec_.spin_lock_off < 0) return -EINVAL;
    }
    const uint32_t h = hash(key);
    if (flags & BPF_F_LOCK) {
      // As Linux: an existing element is updated in place under its value's lock, without
      // the bucket lock.
      if (Elem* e = find(key, h)) {
        if (mode == BPF_NOEXIST) return -EEXIST;
        store_value(e, value, flags, cpu, false);
        return 0;
      }
      if (mode == BPF_EXIST) return -ENOENT;
    }
    Bucket& b = buckets_[h & mask_];
    uint32_t spare = kNil;  // an element evicted for us (LRU)
    for (;;) {
      {
        SpinGuard guard(b.lock);
        uint32_t index = find_locked(b, key, h);
        if (index != kNil) {
          if (mode == BPF_NOEXIST) {
            if (spare != kNil) release(spare);
            return -EEXIST;
          }
          store_value(elem(index), value, flags, cpu, false);
          if (spare != kNil) release(spare);
          return 0;
        }
        if (mode == BPF_EXIST) {
          if (spare != kNil) release(spare);
          return -ENOENT;
        }
        index = spare != kNil ? spare : allocate();
        if (index != kNil) {
          insert_locked(b, index, key, h, value, flags, cpu);
          return 0;
        }
        if (!lru_) return -E2BIG;
      }
      // Evict outside the bucket lock: the victim may live in this very bucket.
      spare = evict();
      if (spare == kNil) return -ENOMEM;
    }
  }

  void insert_locked(Bucket& b, uint32_t index, const void* key, uint32_t h, const void* value,
                     uint64_t flags, int64_t cpu) {
    Elem* e = elem(index);
    uint32_t seq = e->seq.load(std::memory_order_relaxed);
    if (!(seq & 1)) e->seq.store(++seq, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    e->hash.store(h, std::memory_order_relaxed);
    e->ref.store(0, std::memory_order_relaxed);
    std::memcpy(key_of(e), key, spec_.key_size);
    store_value(e, value, flags & ~uint64_t{BPF_F_LOCK}, cpu, true);
    e->seq.store(seq + 1, std::memory_order_release);
    e->next.store(b.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
    b.head.store(index, std::memory_order_release);
    ctl_->count.fetch_add(1, std::memory_order_relaxed);
  }

  const bool percpu_;
  const bool lru_;
  const uint32_t n_buckets_;
  const uint32_t mask_;
  const uint32_t key_stride_;
  const uint32_t value_stride_;
  const uint32_t elem_size_;
  HashControl* ctl_;
  Bucket* buckets_;
  uint8_t* elems_;
};

const MapKind kHashKind = {
    &HashMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<HashMap>(std::move(file), spec, ncpus);
    },
    [](Map& map) { static_cast<HashMap&>(map).initialize(); },
};

}  // namespace

const MapKind* hash_kind() {
  return &kHashKind;
}

}  // namespace userbpf::maps

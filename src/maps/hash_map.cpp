// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH (kernel/bpf/hashtab.c) in shared
// memory.
//
// Layout after the file header: a control block, then a power-of-two array of 64-byte buckets
// (hash_bucket.hpp: seven tagged slots, the bucket lock, an overflow list head), about four
// elements per bucket when the map is full, then max_entries fixed-size elements:
//   [next u32][seq u32][hash u32][ref u32][key, rounded to 8][value(s), each rounded to 8]
// A lookup compares the bucket's seven tags with the key's hash in one step and checks only the
// element whose tag matches; the rare elements beyond seven per bucket go to an overflow list
// linked by element index. A list ends in a "nulls" marker that names its bucket (as Linux's
// hlist_nulls does), so a lock-free reader that followed an element which was moved to another
// list notices and restarts. Each element carries a sequence word, odd while free or being
// (re)written, so a reader never matches a torn or recycled key. An element never moves between
// a slot and the overflow list while it holds its key, so a key present during a whole lookup
// is always found.
//
// Writers take the bucket lock. An update of an existing key copies the value in place under
// that lock (Linux's in-place path for BPF_F_LOCK and per-CPU maps; its plain prealloc path
// swaps in a new element instead, which gives readers no stronger guarantee since the old
// element is reused at once). Free elements form a lock-free stack with a tag against ABA;
// elements never used yet are handed out by a bump counter, so memory is only touched as the map
// fills (BPF_F_NO_PREALLOC therefore behaves like preallocation and costs nothing extra).
// Machine code that holds the map's writer token (base/writer_token.hpp, not for LRU maps)
// stores 4- and 8-byte values of existing keys without the bucket lock; so an insert that takes a
// recycled element from the free stack first waits, outside the bucket lock, for the holder.
//
// LRU: lookups from programs set the element's reference bit; when no element is free, a clock
// hand sweeps the elements, clears set bits and evicts the first unreferenced one (second
// chance, an approximation of Linux's active/inactive lists). BPF_F_NO_COMMON_LRU is accepted
// and max_entries rounded as Linux does, but all CPUs share one clock.
//
// Programs reach lookup, update and delete through the virtual Map interface (the helpers) or,
// from JIT code, through plain functions specialised by key size and map flavour
// (program_entries.hpp), which do exactly the same.
#include <linux/bpf.h>
#include <sys/random.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "base/writer_token.hpp"
#include "maps/hash_bucket.hpp"
#include "maps/hash_key.hpp"
#include "maps/map_impls.hpp"
#include "maps/map_types.hpp"
#include "maps/program_entries.hpp"
#include "maps/spinlock.hpp"
#include "maps/value_ops.hpp"

namespace userbpf::maps {
namespace {

constexpr uint32_t kNullsBit = 0x80000000u;
constexpr uint32_t kNil = 0xffffffffu;  // end of the free stack: a nulls naming no bucket
static_assert(kEmptySlot == kNil);

struct HashControl {
  std::atomic<uint64_t> free_head;  // (tag << 32) | element index, index kNil when empty
  std::atomic<uint32_t> bump;       // elements [bump, max_entries) were never used
  std::atomic<uint32_t> count;      // elements in the map
  std::atomic<uint32_t> clock_hand;
  uint32_t reserved;
  uint64_t seed;
  base::WriterToken writer;  // lets machine code update values in place without bucket locks
};
static_assert(sizeof(HashControl) <= 64);

struct Elem {
  std::atomic<uint32_t> next;  // overflow list or free stack link; kNil while in a slot
  std::atomic<uint32_t> seq;   // odd: free or being written; even: holds a valid key
  std::atomic<uint32_t> hash;
  std::atomic<uint32_t> ref;  // LRU reference bit
};
static_assert(sizeof(Elem) == 16);

constexpr uint64_t kControlOffset = kHeaderSize;
constexpr uint64_t kBucketsOffset = kControlOffset + 64;
static_assert(kBucketsOffset % alignof(HashBucket) == 0);
// Elements per bucket in a full map: seven slots overflow for about 2 % of the elements.
constexpr uint64_t kFullLoad = 4;

uint32_t bucket_count(uint32_t max_entries) {
  const uint64_t wanted = (uint64_t{max_entries} + kFullLoad - 1) / kFullLoad;
  uint64_t n = 1;
  while (n < wanted) n <<= 1;
  return static_cast<uint32_t>(n);
}

// memcpy with the common value sizes inlined: for an 8-byte counter the library call would cost
// more than the copy.
inline void copy_bytes(void* dst, const void* src, uint32_t size) {
  switch (size) {
    case 4: std::memcpy(dst, src, 4); return;
    case 8: std::memcpy(dst, src, 8); return;
    case 16: std::memcpy(dst, src, 16); return;
    default: std::memcpy(dst, src, size);
  }
}

class HashMap final : public Map {
 public:
  HashMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        percpu_(is_percpu_type(spec.type)),
        lru_(spec.type == BPF_MAP_TYPE_LRU_HASH || spec.type == BPF_MAP_TYPE_LRU_PERCPU_HASH),
        plain_values_(spec.spin_lock_off < 0),
        n_buckets_(bucket_count(spec.max_entries)),
        mask_(n_buckets_ - 1),
        capacity_(spec.max_entries),
        key_size_(spec.key_size),
        key_stride_(round_up8(spec.key_size)),
        value_stride_(round_up8(spec.value_size)),
        elem_size_(elem_size(spec, ncpus)),
        ctl_(file_->at<HashControl>(kControlOffset)),
        buckets_(file_->at<HashBucket>(kBucketsOffset)),
        elems_(file_->base() + elems_offset(spec)),
        seed_(ctl_->seed) {}

  static uint32_t elem_size(const MapSpec& spec, uint32_t ncpus) {
    uint32_t values = is_percpu_type(spec.type) ? ncpus : 1;
    return sizeof(Elem) + round_up8(spec.key_size) + round_up8(spec.value_size) * values;
  }
  static uint64_t elems_offset(const MapSpec& spec) {
    return kBucketsOffset + uint64_t{bucket_count(spec.max_entries)} * sizeof(HashBucket);
  }
  static uint64_t file_size(const MapSpec& spec, uint32_t ncpus) {
    return round_up_page(elems_offset(spec) + uint64_t{spec.max_entries} * elem_size(spec, ncpus));
  }

  void initialize() {
    ctl_->free_head.store(kNil, std::memory_order_relaxed);
    ctl_->writer.holder.store(0, std::memory_order_relaxed);
    ctl_->writer.waiters.store(0, std::memory_order_relaxed);
    uint64_t seed = 0;
    if (!(spec_.map_flags & BPF_F_ZERO_SEED)) {
      if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
        seed = reinterpret_cast<uintptr_t>(this) ^ uint64_t(file_->fd()) * 0x9e3779b97f4a7c15ull;
      }
    }
    ctl_->seed = seed;
    seed_ = seed;
    for (uint32_t b = 0; b < n_buckets_; ++b) {
      HashBucket& bucket = buckets_[b];
      for (uint32_t s = 0; s < kBucketSlots; ++s) {
        bucket.tags[s].store(kEmptyTag, std::memory_order_relaxed);
        bucket.slots[s].store(kEmptySlot, std::memory_order_relaxed);
      }
      bucket.overflow.store(kNullsBit | b, std::memory_order_relaxed);
    }
  }

  void* lookup(const void* key) override { return program_value(find(key)); }

  void* lookup_percpu(const void* key, uint32_t cpu) override {
    if (!percpu_ || cpu >= ncpus_) return nullptr;
    Elem* e = find(key);
    if (e == nullptr) return nullptr;
    if (lru_ && e->ref.load(std::memory_order_relaxed) == 0) {
      e->ref.store(1, std::memory_order_relaxed);
    }
    return value_of(e, cpu);
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    return update_any_size(key, value, flags, percpu_ ? static_cast<int64_t>(current_cpu()) : -1);
  }

  // The direct entries (program_entries.hpp): lookup and update specialised by key size, so the
  // hash, the compare and the copy of the common u32 and u64 keys are inlined.
  ProgramEntries entries() const {
    ProgramEntries out;
    // The update of an existing key in a map that is not per-CPU and has no special fields
    // needs no CPU number and copies plain bytes (an LRU update does not reference the element):
    // its own entry.
    const bool plain = !percpu_ && plain_values_;
    const bool plain_lookup = !percpu_ && !lru_;
    switch (key_size_) {
      case 4:
        out.lookup = plain_lookup ? &entry_lookup_plain<4> : &entry_lookup<4>;
        out.update = plain ? &entry_update_plain<4> : &entry_update<4>;
        break;
      case 8:
        out.lookup = plain_lookup ? &entry_lookup_plain<8> : &entry_lookup<8>;
        out.update = plain ? &entry_update_plain<8> : &entry_update<8>;
        break;
      default:
        out.lookup = plain_lookup ? &entry_lookup_plain<0> : &entry_lookup<0>;
        out.update = plain ? &entry_update_plain<0> : &entry_update<0>;
    }
    out.erase = &entry_erase;
    out.key_size = key_size_;
    // LRU lookups by value too: the same bucket search, then the reference bit.
    if (key_size_ == 4) {
      out.lookup_value = plain_lookup ? &entry_lookup_plain_value<uint32_t>
                         : !percpu_   ? &entry_lookup_value<uint32_t>
                                      : nullptr;
      out.update_value = plain ? &entry_update_plain_value<uint32_t> : nullptr;
    } else if (key_size_ == 8) {
      out.lookup_value = plain_lookup ? &entry_lookup_plain_value<uint64_t>
                         : !percpu_   ? &entry_lookup_value<uint64_t>
                                      : nullptr;
      out.update_value = plain ? &entry_update_plain_value<uint64_t> : nullptr;
    }
    if (out.lookup_value != nullptr) out.lookup_layout = lookup_layout();
    // entry_update_plain's in-place copy under the bucket lock.
    if (out.update_value != nullptr)
      out.lookup_layout.lock_offset = static_cast<int32_t>(offsetof(HashBucket, lock));
    // Not for LRU maps: their eviction reuses elements without the free stack.
    if (out.update_value != nullptr && !lru_) out.lookup_layout.writer_token = &ctl_->writer;
    return out;
  }

  // What find_sized and program_value do for a 4- or 8-byte key, as data (program_entries.hpp).
  HashLookupLayout lookup_layout() const {
    HashLookupLayout l;
    l.hash_xor = seed_ ^ kHashOffset;
    l.hash_multiplier = kHashMultiplier;
    l.buckets = reinterpret_cast<uint8_t*>(buckets_);
    l.bucket_mask = mask_;
    l.bucket_shift = std::countr_zero(sizeof(HashBucket));
    l.slots = kBucketSlots;
    l.tag_offset = offsetof(HashBucket, tags);
    l.slot_offset = offsetof(HashBucket, slots);
    l.overflow_offset = offsetof(HashBucket, overflow);
    l.empty_list_bit = kNullsBit;
    l.elements = elems_;
    l.element_size = elem_size_;
    l.capacity = capacity_;
    l.seq_offset = offsetof(Elem, seq);
    l.key_offset = sizeof(Elem);
    l.value_offset = sizeof(Elem) + key_stride_;
    l.reference_offset = lru_ ? static_cast<int32_t>(offsetof(Elem, ref)) : -1;
    return l;
  }

  int erase(const void* key) override {
    const uint32_t h = hash(key);
    HashBucket& bucket = buckets_[h & mask_];
    uint32_t index;
    {
      SpinGuard guard(bucket.lock);
      index = find_locked(bucket, key, h);
      if (index == kNil) return -ENOENT;
      unlink_locked(bucket, index);
    }
    release(index);
    return 0;
  }

  // Order: buckets in turn, in each the occupied slots, then the overflow list.
  int get_next_key(const void* key, void* next_key) override {
    uint32_t start = 0;
    if (key != nullptr) {
      const uint32_t h = hash(key);
      const uint32_t b = h & mask_;
      HashBucket& bucket = buckets_[b];
      SpinGuard guard(bucket.lock);
      uint32_t index = find_locked(bucket, key, h);
      if (index != kNil) {
        if (copy_key_if_element(following_locked(bucket, index), next_key)) return 0;
        start = b + 1;
      }
      // A key that is not in the map restarts from the first element, as Linux does.
    }
    for (uint32_t b = start; b < n_buckets_; ++b) {
      HashBucket& bucket = buckets_[b];
      if (empty_slots(bucket) == kSlotMask &&
          (bucket.overflow.load(std::memory_order_acquire) & kNullsBit)) {
        continue;
      }
      SpinGuard guard(bucket.lock);
      if (copy_key_if_element(following_locked(bucket, kNil), next_key)) return 0;
    }
    return -ENOENT;
  }

  uint32_t size() const override { return ctl_->count.load(std::memory_order_relaxed); }

 protected:
  int sys_lookup(const void* key, void* value, uint64_t flags) override {
    Elem* e = find(key);  // no LRU reference from user space, as in Linux
    if (e == nullptr) return -ENOENT;
    copy_out(e, value, flags);
    return 0;
  }

  int sys_update(const void* key, const void* value, uint64_t flags) override {
    return update_any_size(key, value, flags, percpu_ ? kAllCpus : -1);
  }

  int sys_lookup_and_delete(const void* key, void* value, uint64_t flags) override {
    const uint32_t h = hash(key);
    HashBucket& bucket = buckets_[h & mask_];
    uint32_t index;
    {
      SpinGuard guard(bucket.lock);
      index = find_locked(bucket, key, h);
      if (index == kNil) return -ENOENT;
      copy_out(elem(index), value, flags);
      unlink_locked(bucket, index);
    }
    release(index);
    return 0;
  }

 private:
  static constexpr int64_t kAllCpus = -2;  // source buffer holds every CPU's value

  static HashMap& self(void* map) { return *static_cast<HashMap*>(static_cast<Map*>(map)); }

  template <uint32_t kKeySize>
  static void* entry_lookup(void* map, const void* key) {
    HashMap& m = self(map);
    return m.program_value(m.find_sized<kKeySize>(key, m.hash_sized<kKeySize>(key)));
  }
  template <uint32_t kKeySize>
  static int64_t entry_update(void* map, const void* key, const void* value, uint64_t flags) {
    HashMap& m = self(map);
    return m.update_sized<kKeySize>(key, value, flags,
                                    m.percpu_ ? static_cast<int64_t>(current_cpu()) : -1);
  }
  static int64_t entry_erase(void* map, const void* key) { return self(map).erase(key); }
  // The lookup of a hash map that is neither per-CPU nor LRU: the bucket's slots inline, the rare
  // overflow list behind a tail call, so the hit path saves no register.
  // The by-value entries: the key in a local the inlined lookup or update reads, which the
  // compiler keeps in a register.
  template <class Key>
  static void* entry_lookup_plain_value(void* map, uint64_t key) {
    const Key k = static_cast<Key>(key);
    return entry_lookup_plain<sizeof(Key)>(map, &k);
  }
  template <class Key>
  static void* entry_lookup_value(void* map, uint64_t key) {
    const Key k = static_cast<Key>(key);
    return entry_lookup<sizeof(Key)>(map, &k);
  }
  template <class Key>
  static int64_t entry_update_plain_value(void* map, uint64_t key, const void* value,
                                          uint64_t flags) {
    const Key k = static_cast<Key>(key);
    return entry_update_plain<sizeof(Key)>(map, &k, value, flags);
  }
  template <uint32_t kKeySize>
  [[gnu::always_inline]] static void* entry_lookup_plain(void* map, const void* key) {
    HashMap& m = self(map);
    const uint32_t h = m.hash_sized<kKeySize>(key);
    const uint32_t b = h & m.mask_;
    const HashBucket& bucket = m.buckets_[b];
    for (uint32_t bits = match_tags(bucket, h); bits != 0; bits &= bits - 1) {
      const uint32_t index = bucket.slots[std::countr_zero(bits)].load(std::memory_order_acquire);
      if (m.is_element(index) && m.holds_key<kKeySize>(m.elem(index), key)) {
        return m.value_of(m.elem(index), 0);
      }
    }
    if (bucket.overflow.load(std::memory_order_acquire) == (kNullsBit | b)) return nullptr;
    return m.overflow_value(key, h, b);
  }
  [[gnu::noinline]] void* overflow_value(const void* key, uint32_t h, uint32_t b) const {
    Elem* e = find_in_overflow(key, h, b);
    return e != nullptr ? value_of(e, 0) : nullptr;
  }
  // The update of an existing key (entries() picks it when there is no per-CPU value and no
  // special field) with nothing on the way to the bucket lock but the hash (no registers saved,
  // no spills: every store before the lock's exchange has to drain first); anything else leaves
  // the lock and takes the general path.
  template <uint32_t kKeySize>
  [[gnu::always_inline]] static int64_t entry_update_plain(void* map, const void* key,
                                                           const void* value, uint64_t flags) {
    HashMap& m = self(map);
    if (flags <= BPF_EXIST && flags != BPF_NOEXIST) [[likely]] {
      const uint32_t h = m.hash_sized<kKeySize>(key);
      HashBucket& bucket = m.buckets_[h & m.mask_];
      lock_word(bucket.lock);
      const uint32_t index = m.find_in_slots_locked<kKeySize>(bucket, key, h);
      if (index != kNil) [[likely]] {
        copy_bytes(m.value_of(m.elem(index), 0), value, m.spec_.value_size);
        unlock_word(bucket.lock);
        return 0;
      }
      unlock_word(bucket.lock);
    }
    return m.update_any_size(key, value, flags, -1);
  }

  // What bpf_map_lookup_elem returns for a found element (or nullptr): the value, the calling
  // CPU's slot of a per-CPU map; an LRU element is marked referenced.
  [[gnu::always_inline]] void* program_value(Elem* e) const {
    if (e == nullptr) return nullptr;
    if (!lru_ && !percpu_) [[likely]] {
      return value_of(e, 0);
    }
    if (lru_ && e->ref.load(std::memory_order_relaxed) == 0) {
      e->ref.store(1, std::memory_order_relaxed);
    }
    return value_of(e, percpu_ ? current_cpu() : 0);
  }

  template <uint32_t kKeySize>
  uint32_t hash_sized(const void* key) const {
    return hash_key(key, kKeySize != 0 ? kKeySize : key_size_, seed_);
  }

  uint32_t hash(const void* key) const { return hash_key(key, key_size_, seed_); }
  Elem* elem(uint32_t index) const {
    return reinterpret_cast<Elem*>(elems_ + uint64_t{index} * elem_size_);
  }
  uint8_t* key_of(Elem* e) const { return reinterpret_cast<uint8_t*>(e) + sizeof(Elem); }
  uint8_t* value_of(Elem* e, uint32_t cpu) const {
    return key_of(e) + key_stride_ + uint64_t{cpu} * value_stride_;
  }
  bool is_element(uint32_t n) const { return n < capacity_; }  // false for nulls and kEmptySlot

  // True when `e` holds `key` as a whole, valid element (not free, not rewritten meanwhile).
  // kKeySize 4 or 8 compares as one word; 0 means key_size_ bytes.
  template <uint32_t kKeySize>
  bool holds_key(Elem* e, const void* key) const {
    const uint32_t seq = e->seq.load(std::memory_order_acquire);
    if (seq & 1) return false;
    if (!keys_equal(key_of(e), key, kKeySize != 0 ? kKeySize : key_size_)) return false;
    std::atomic_thread_fence(std::memory_order_acquire);
    return e->seq.load(std::memory_order_relaxed) == seq;
  }

  // Lock-free lookup (the program fast path): hash, one bucket line, then the element whose tag
  // matches. The hash and compare are specialised for 4- and 8-byte keys and the hit path has
  // only predictable branches, so independent lookups overlap in the CPU.
  [[gnu::always_inline]] Elem* find(const void* key) const {
    if (key_size_ == 4) return find_sized<4>(key, hash_key(key, 4, seed_));
    if (key_size_ == 8) return find_sized<8>(key, hash_key(key, 8, seed_));
    return find_any_size(key);
  }
  [[gnu::always_inline]] Elem* find(const void* key, uint32_t h) const {
    if (key_size_ == 4) return find_sized<4>(key, h);
    if (key_size_ == 8) return find_sized<8>(key, h);
    return find_any_size(key, h);
  }
  [[gnu::noinline]] Elem* find_any_size(const void* key) const {
    return find_sized<0>(key, hash(key));
  }
  [[gnu::noinline]] Elem* find_any_size(const void* key, uint32_t h) const {
    return find_sized<0>(key, h);
  }

  template <uint32_t kKeySize>
  [[gnu::always_inline]] Elem* find_sized(const void* key, uint32_t h) const {
    const uint32_t b = h & mask_;
    const HashBucket& bucket = buckets_[b];
    for (uint32_t m = match_tags(bucket, h); m != 0; m &= m - 1) {
      const uint32_t index = bucket.slots[std::countr_zero(m)].load(std::memory_order_acquire);
      if (is_element(index) && holds_key<kKeySize>(elem(index), key)) return elem(index);
    }
    if (bucket.overflow.load(std::memory_order_acquire) == (kNullsBit | b)) return nullptr;
    return find_in_overflow(key, h, b);
  }

  [[gnu::noinline]] Elem* find_in_overflow(const void* key, uint32_t h, uint32_t b) const {
    for (;;) {
      uint32_t n = buckets_[b].overflow.load(std::memory_order_acquire);
      uint32_t steps = 0;
      while (!(n & kNullsBit)) {
        if (!is_element(n) || ++steps > capacity_) return nullptr;  // corrupted file: stop
        Elem* e = elem(n);
        if (e->hash.load(std::memory_order_relaxed) == h && holds_key<0>(e, key)) return e;
        n = e->next.load(std::memory_order_acquire);
      }
      if (n == (kNullsBit | b)) return nullptr;
      // Ended in another list or the free stack (an element moved under us): start over.
    }
  }

  // Lookup with the bucket lock held: returns the element index or kNil. kKeySize as in
  // holds_key.
  template <uint32_t kKeySize = 0>
  uint32_t find_locked(const HashBucket& bucket, const void* key, uint32_t h) const {
    for (uint32_t m = match_tags(bucket, h); m != 0; m &= m - 1) {
      const uint32_t index = bucket.slots[std::countr_zero(m)].load(std::memory_order_relaxed);
      if (is_element(index) &&
          keys_equal(key_of(elem(index)), key, kKeySize != 0 ? kKeySize : key_size_)) {
        return index;
      }
    }
    if (bucket.overflow.load(std::memory_order_relaxed) & kNullsBit) return kNil;
    return find_in_overflow_locked(bucket, key, h);
  }

  // find_locked without the overflow list: kNil also for a key that may be there.
  template <uint32_t kKeySize>
  [[gnu::always_inline]] uint32_t find_in_slots_locked(const HashBucket& bucket, const void* key,
                                                       uint32_t h) const {
    for (uint32_t m = match_tags(bucket, h); m != 0; m &= m - 1) {
      const uint32_t index = bucket.slots[std::countr_zero(m)].load(std::memory_order_relaxed);
      if (is_element(index) &&
          keys_equal(key_of(elem(index)), key, kKeySize != 0 ? kKeySize : key_size_)) {
        return index;
      }
    }
    return kNil;
  }

  [[gnu::noinline]] uint32_t find_in_overflow_locked(const HashBucket& bucket, const void* key,
                                                     uint32_t h) const {
    uint32_t n = bucket.overflow.load(std::memory_order_relaxed);
    for (uint32_t steps = 0; !(n & kNullsBit); ++steps) {
      if (!is_element(n) || steps > capacity_) return kNil;  // corrupted file: stop
      Elem* e = elem(n);
      if (e->hash.load(std::memory_order_relaxed) == h && keys_equal(key_of(e), key, key_size_)) {
        return n;
      }
      n = e->next.load(std::memory_order_relaxed);
    }
    return kNil;
  }

  // With the bucket lock held: the element after `index` in the bucket's iteration order (kNil:
  // the first one); a nulls marker when there is none.
  uint32_t following_locked(const HashBucket& bucket, uint32_t index) const {
    uint32_t first_slot = 0;
    if (index != kNil) {
      const uint32_t m = match_words(bucket.slots, index);
      if (m == 0) return elem(index)->next.load(std::memory_order_relaxed);  // overflow list
      first_slot = static_cast<uint32_t>(std::countr_zero(m)) + 1;
    }
    for (uint32_t s = first_slot; s < kBucketSlots; ++s) {
      const uint32_t n = bucket.slots[s].load(std::memory_order_relaxed);
      if (is_element(n)) return n;
    }
    return bucket.overflow.load(std::memory_order_relaxed);
  }

  bool copy_key_if_element(uint32_t n, void* out) const {
    if (!is_element(n)) return false;
    std::memcpy(out, key_of(elem(n)), key_size_);
    return true;
  }

  // Unlinks `index` from `bucket` (lock held) and marks it free; false if it is not there.
  bool unlink_locked(HashBucket& bucket, uint32_t index) {
    Elem* target = elem(index);
    if (const uint32_t m = match_words(bucket.slots, index); m != 0) {
      const int s = std::countr_zero(m);
      bucket.slots[s].store(kEmptySlot, std::memory_order_release);
      bucket.tags[s].store(kEmptyTag, std::memory_order_relaxed);
    } else {
      const uint32_t after = target->next.load(std::memory_order_relaxed);
      uint32_t n = bucket.overflow.load(std::memory_order_relaxed);
      if (n == index) {
        bucket.overflow.store(after, std::memory_order_release);
      } else {
        for (uint32_t steps = 0;; ++steps) {
          if (!is_element(n) || steps > capacity_) return false;
          Elem* e = elem(n);
          const uint32_t next = e->next.load(std::memory_order_relaxed);
          if (next == index) {
            e->next.store(after, std::memory_order_release);
            break;
          }
          n = next;
        }
      }
    }
    // Odd: readers skip it. Only the holder of the element's bucket lock writes seq, so no RMW.
    target->seq.store(target->seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
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

  // A free element (free stack first, then never-used ones), or kNil when full. `recycled`: it
  // comes from the free stack, so it held a key before (see base/writer_token.hpp).
  uint32_t allocate(bool& recycled) {
    recycled = false;
    uint64_t old = ctl_->free_head.load(std::memory_order_acquire);
    while (static_cast<uint32_t>(old) != kNil) {
      uint32_t index = static_cast<uint32_t>(old);
      if (!is_element(index)) return kNil;  // corrupted file
      uint32_t next = elem(index)->next.load(std::memory_order_relaxed);
      uint64_t tagged = ((old >> 32) + 1) << 32 | next;
      if (ctl_->free_head.compare_exchange_weak(old, tagged, std::memory_order_acquire,
                                                std::memory_order_acquire)) {
        recycled = true;
        return index;
      }
    }
    uint32_t fresh = ctl_->bump.load(std::memory_order_relaxed);
    while (fresh < capacity_) {
      if (ctl_->bump.compare_exchange_weak(fresh, fresh + 1, std::memory_order_relaxed)) {
        elem(fresh)->seq.store(1, std::memory_order_relaxed);  // free
        return fresh;
      }
    }
    return kNil;
  }

  // LRU: second-chance sweep for an element to recycle; returns it unlinked, or kNil.
  uint32_t evict() {
    for (uint64_t step = 0; step < 4ull * capacity_ + 64; ++step) {
      uint32_t index = ctl_->clock_hand.fetch_add(1, std::memory_order_relaxed) % capacity_;
      Elem* e = elem(index);
      uint32_t seq = e->seq.load(std::memory_order_acquire);
      if (seq & 1) continue;
      if (e->ref.load(std::memory_order_relaxed) != 0) {
        e->ref.store(0, std::memory_order_relaxed);
        continue;
      }
      HashBucket& bucket = buckets_[e->hash.load(std::memory_order_relaxed) & mask_];
      SpinGuard guard(bucket.lock);
      if (e->seq.load(std::memory_order_relaxed) != seq) continue;
      if (unlink_locked(bucket, index)) return index;
    }
    return kNil;
  }

  // Writes the value(s) of an element: `cpu` >= 0 one CPU's slot (program side), kAllCpus
  // every slot from a user buffer, -1 a plain value.
  [[gnu::always_inline]] void store_value(Elem* e, const void* value, uint64_t flags, int64_t cpu,
                                          bool fresh) {
    if (!percpu_) {
      uint8_t* dst = value_of(e, 0);
      // A new element starts zeroed (its lock word, the padding); a plain copy covers the rest.
      if (fresh && (!plain_values_ || value_stride_ != spec_.value_size)) {
        std::memset(dst, 0, value_stride_);
      }
      if (plain_values_) [[likely]] {
        copy_bytes(dst, value, spec_.value_size);
      } else if (flags & BPF_F_LOCK) {
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
    if (spec_.spin_lock_off < 0) {
      copy_bytes(value, src, spec_.value_size);
      return;
    }
    if (flags & BPF_F_LOCK) {
      copy_value_locked(value, src, spec_.value_size, spec_.spin_lock_off, src);
    } else {
      copy_value(value, src, spec_.value_size, spec_.spin_lock_off);
    }
    zero_lock_word(value, spec_.spin_lock_off);
  }

  // Starts loading the element an update will probably write before the bucket lock is taken:
  // the locked exchange orders later loads behind it, so without this the bucket and element
  // misses would be paid one after the other.
  void prefetch_candidate(const HashBucket& bucket, uint32_t h) const {
    if (const uint32_t m = match_tags(bucket, h); m != 0) {
      const uint32_t index = bucket.slots[std::countr_zero(m)].load(std::memory_order_relaxed);
      if (is_element(index)) __builtin_prefetch(elem(index), 1);
    }
  }

  [[gnu::noinline]] int update_any_size(const void* key, const void* value, uint64_t flags,
                                        int64_t cpu) {
    switch (key_size_) {
      case 4: return update_sized<4>(key, value, flags, cpu);
      case 8: return update_sized<8>(key, value, flags, cpu);
      default: return update_sized<0>(key, value, flags, cpu);
    }
  }

  // The update: BPF_ANY, BPF_NOEXIST and BPF_EXIST go straight to the bucket; other flags
  // (BPF_F_LOCK, invalid ones) take update_flagged.
  template <uint32_t kKeySize>
  [[gnu::always_inline]] int update_sized(const void* key, const void* value, uint64_t flags,
                                          int64_t cpu) {
    if (flags > BPF_EXIST) [[unlikely]] {
      return update_flagged(key, value, flags, cpu);
    }
    return update_locked<kKeySize>(key, value, flags, cpu, hash_sized<kKeySize>(key));
  }

  [[gnu::noinline]] int update_flagged(const void* key, const void* value, uint64_t flags,
                                       int64_t cpu) {
    // Linux: LRU and per-CPU tables refuse BPF_F_LOCK, the plain table allows it with a lock.
    const uint64_t mode = flags & ~uint64_t{BPF_F_LOCK};
    if (lru_ || percpu_) {
      if (flags > BPF_EXIST) return -EINVAL;
    } else {
      if (mode > BPF_EXIST) return -EINVAL;
      if ((flags & BPF_F_LOCK) && plain_values_) return -EINVAL;
    }
    const uint32_t h = hash(key);
    // BPF_F_LOCK, as Linux: an existing element is updated in place under its value's lock,
    // without the bucket lock.
    if (Elem* e = find(key, h)) {
      if (mode == BPF_NOEXIST) return -EEXIST;
      store_value(e, value, flags, cpu, false);
      return 0;
    }
    if (mode == BPF_EXIST) return -ENOENT;
    return update_locked<0>(key, value, flags, cpu, h);
  }

  // The update under the bucket lock; `flags` is BPF_ANY, BPF_NOEXIST or BPF_EXIST, possibly
  // with BPF_F_LOCK (which only changes how the value is copied). The common case, a key that
  // exists, is kept short: before the lock's exchange every pending store has to drain, so the
  // fewer registers saved and spilled on the way the cheaper that exchange is.
  template <uint32_t kKeySize>
  [[gnu::always_inline]] int update_locked(const void* key, const void* value, uint64_t flags,
                                           int64_t cpu, uint32_t h) {
    HashBucket& bucket = buckets_[h & mask_];
    prefetch_candidate(bucket, h);
    lock_word(bucket.lock);
    const uint32_t index = find_locked<kKeySize>(bucket, key, h);
    if (index != kNil && (flags & ~uint64_t{BPF_F_LOCK}) != BPF_NOEXIST) [[likely]] {
      store_value(elem(index), value, flags, cpu, false);
      unlock_word(bucket.lock);
      return 0;
    }
    return update_rest(bucket, index, key, value, flags, cpu, h);
  }

  // update_locked's other cases, entered with the bucket lock held and `index` what find_locked
  // answered under it; returns with the lock released.
  [[gnu::noinline]] int update_rest(HashBucket& bucket, uint32_t index, const void* key,
                                    const void* value, uint64_t flags, int64_t cpu, uint32_t h) {
    const uint64_t mode = flags & ~uint64_t{BPF_F_LOCK};
    uint32_t spare = kNil;  // an element evicted for us (LRU)
    for (;;) {
      int result = 0;
      if (index != kNil) {
        if (mode == BPF_NOEXIST) {
          result = -EEXIST;
        } else {
          store_value(elem(index), value, flags, cpu, false);
        }
      } else if (mode == BPF_EXIST) {
        result = -ENOENT;
      } else {
        bool recycled = false;
        index = spare != kNil ? spare : allocate(recycled);
        const uint32_t holder = ctl_->writer.holder.load(std::memory_order_seq_cst);
        if (recycled && holder != 0 && holder != base::current_thread_id()) {
          // A holder of the writer token may still store into this element as the key it held
          // before: wait for it without the bucket lock (it may be waiting for this very lock
          // on its way to noticing), then look again, as after an eviction.
          unlock_word(bucket.lock);
          base::wait_for_other_holders(ctl_->writer);
          spare = index;
          lock_word(bucket.lock);
          index = find_locked(bucket, key, h);
          continue;
        }
        if (index != kNil) {
          insert_locked(bucket, index, key, h, value, flags, cpu);
          unlock_word(bucket.lock);
          return 0;
        }
        if (!lru_) result = -E2BIG;
      }
      if (spare != kNil && index != spare) release(spare);
      unlock_word(bucket.lock);
      if (result != 0 || index != kNil) return result;
      // LRU and full: evict outside the bucket lock (the victim may live in this very bucket),
      // then look again, as another writer may have inserted the key meanwhile.
      spare = evict();
      if (spare == kNil) return -ENOMEM;
      lock_word(bucket.lock);
      index = find_locked(bucket, key, h);
    }
  }

  // Fills element `index` and publishes it in a free slot of `bucket`, or at the head of its
  // overflow list when all seven slots are taken.
  void insert_locked(HashBucket& bucket, uint32_t index, const void* key, uint32_t h,
                     const void* value, uint64_t flags, int64_t cpu) {
    Elem* e = elem(index);
    uint32_t seq = e->seq.load(std::memory_order_relaxed);
    if (!(seq & 1)) e->seq.store(++seq, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    e->hash.store(h, std::memory_order_relaxed);
    e->ref.store(0, std::memory_order_relaxed);
    std::memcpy(key_of(e), key, key_size_);
    store_value(e, value, flags & ~uint64_t{BPF_F_LOCK}, cpu, true);
    e->seq.store(seq + 1, std::memory_order_release);
    if (const uint32_t free = empty_slots(bucket); free != 0) {
      const int s = std::countr_zero(free);
      e->next.store(kNil, std::memory_order_relaxed);
      bucket.slots[s].store(index, std::memory_order_release);
      bucket.tags[s].store(h, std::memory_order_release);
    } else {
      const uint32_t head = bucket.overflow.load(std::memory_order_relaxed);
      e->next.store(head, std::memory_order_relaxed);
      bucket.overflow.store(index, std::memory_order_release);
    }
    ctl_->count.fetch_add(1, std::memory_order_relaxed);
  }

  const bool percpu_;
  const bool lru_;
  const bool plain_values_;  // no special field (bpf_spin_lock) in the value
  const uint32_t n_buckets_;
  const uint32_t mask_;
  const uint32_t capacity_;
  const uint32_t key_size_;
  const uint32_t key_stride_;
  const uint32_t value_stride_;
  const uint32_t elem_size_;
  HashControl* ctl_;
  HashBucket* buckets_;
  uint8_t* elems_;
  uint64_t seed_;  // ctl_->seed, fixed once the map is initialised
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

ProgramEntries hash_program_entries(Map& map) {
  if (dynamic_cast<HashMap*>(&map) == nullptr) return {};
  return static_cast<HashMap&>(map).entries();
}

}  // namespace userbpf::maps

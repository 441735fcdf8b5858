// BPF_MAP_TYPE_BLOOM_FILTER (kernel/bpf/bloom_filter.c): push sets nr_hash_funcs bits chosen by
// jhash(value, seed + i); peek answers 0 when all are set ("maybe present") and -ENOENT when
// one is clear ("surely absent"). The bit array is sized as Linux sizes it (max_entries *
// nr_hash_funcs * 7/5 rounded up to a power of two, at least 64 bits), so with
// BPF_F_ZERO_SEED its answers are bit for bit those of the kernel. Bits are set with atomic ORs:
// pushes from several threads or processes never lose each other's bits.
#include <linux/bpf.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>

#include "maps/jhash.hpp"
#include "maps/map_impls.hpp"

namespace userbpf::maps {
namespace {

struct BloomControl {
  uint32_t seed;
  uint32_t reserved;
};

constexpr uint64_t kControlOffset = kHeaderSize;
constexpr uint64_t kBitsOffset = kHeaderSize + 64;

uint32_t hash_funcs(const MapSpec& spec) {
  uint32_t n = static_cast<uint32_t>(spec.map_extra & 0xf);
  return n == 0 ? 5 : n;  // Linux's default
}

// Bits in the array minus one (the array has a power-of-two size).
uint32_t bit_mask(const MapSpec& spec) {
  uint64_t bits = uint64_t{spec.max_entries} * hash_funcs(spec);
  if (bits > 0xffffffffull) return 0xffffffffu;
  bits = (bits / 5) * 7;
  if (bits > 0xffffffffull || bits > (1ull << 31)) return 0xffffffffu;
  if (bits <= 64) return 63;
  uint64_t p = 1;
  while (p < bits) p <<= 1;
  return static_cast<uint32_t>(p - 1);
}

class BloomFilterMap final : public Map {
 public:
  BloomFilterMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        nr_hash_funcs_(hash_funcs(spec)),
        mask_(bit_mask(spec)),
        ctl_(file_->at<BloomControl>(kControlOffset)),
        words_(file_->at<std::atomic<uint64_t>>(kBitsOffset)) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    uint64_t words = (uint64_t{bit_mask(spec)} + 1 + 63) / 64;
    return round_up_page(kBitsOffset + words * 8);
  }

  void initialize() {
    uint32_t seed = 0;
    if (!(spec_.map_flags & BPF_F_ZERO_SEED)) {
      if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = 0x9e3779b9u;
    }
    ctl_->seed = seed;
  }

  int push(const void* value, uint64_t flags) override {
    if (flags != BPF_ANY) return -EINVAL;
    for (uint32_t i = 0; i < nr_hash_funcs_; ++i) {
      uint32_t bit = position(value, i);
      words_[bit / 64].fetch_or(uint64_t{1} << (bit % 64), std::memory_order_relaxed);
    }
    return 0;
  }

  int peek(void* value) override {
    for (uint32_t i = 0; i < nr_hash_funcs_; ++i) {
      uint32_t bit = position(value, i);
      if (!(words_[bit / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (bit % 64)))) {
        return -ENOENT;
      }
    }
    return 0;
  }

  // Linux: no pop, delete or iteration on a bloom filter; update is not push.
  int pop(void*) override { return -EOPNOTSUPP; }
  int erase(const void*) override { return -EOPNOTSUPP; }
  int get_next_key(const void*, void*) override { return -EOPNOTSUPP; }
  int update(const void*, const void*, uint64_t) override { return -EINVAL; }

 protected:
  int sys_lookup(const void*, void* value, uint64_t) override { return peek(value); }
  int sys_update(const void*, const void* value, uint64_t flags) override {
    return push(value, flags);
  }

 private:
  uint32_t position(const void* value, uint32_t i) const {
    return jhash(value, spec_.value_size, ctl_->seed + i) & mask_;
  }

  const uint32_t nr_hash_funcs_;
  const uint32_t mask_;
  BloomControl* ctl_;
  std::atomic<uint64_t>* words_;
};

const MapKind kBloomFilterKind = {
    &BloomFilterMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<BloomFilterMap>(std::move(file), spec, ncpus);
    },
    [](Map& map) { static_cast<BloomFilterMap&>(map).initialize(); },
};

}  // namespace

const MapKind* bloom_filter_kind() {
  return &kBloomFilterKind;
}

}  // namespace userbpf::maps

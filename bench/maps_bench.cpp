// Map operation costs: userbpf's hash and array maps through the C++ API (what helpers call),
// the host kernel's maps of the same spec through bpf() syscalls (libbpf), and
// std::unordered_map as the native reference. Also the footprint of a 1,000,000-entry
// u64 -> u64 hash map (mapped bytes and resident bytes after filling it).
//
//   maps_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <unordered_map>
#include <vector>

#include "userbpf/map.hpp"

namespace {

using userbpf::maps::Map;
using userbpf::maps::MapSpec;

constexpr uint32_t kEntries = 65536;

MapSpec spec_of(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries) {
  MapSpec spec;
  spec.type = type;
  spec.key_size = key_size;
  spec.value_size = value_size;
  spec.max_entries = max_entries;
  spec.name = "bench";
  return spec;
}

constexpr uint32_t kMillion = 1000000;

// Present keys in a random order, so lookups are not sequential in memory.
std::vector<uint32_t> shuffled_keys(uint32_t n) {
  std::vector<uint32_t> keys(n);
  for (uint32_t i = 0; i < n; ++i) keys[i] = i * 2654435761u;
  std::shuffle(keys.begin(), keys.end(), std::mt19937(1));
  return keys;
}

std::shared_ptr<Map> filled_userbpf_hash(const std::vector<uint32_t>& keys,
                                         uint32_t type = BPF_MAP_TYPE_HASH) {
  auto map = userbpf::maps::create_map(spec_of(type, 4, 8, static_cast<uint32_t>(keys.size())));
  if (!map) {
    std::fprintf(stderr, "%s\n", map.error().to_string().c_str());
    std::abort();
  }
  for (uint32_t k : keys) {
    uint64_t v = k;
    map.value()->update(&k, &v, BPF_ANY);
  }
  return map.value();
}

// Argument: entries. 4,096 fit in L2, 65,536 (3 MiB of buckets and elements) in L3, 1,000,000
// (46 MiB) in neither.
void BM_UserbpfHashLookupU32(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  auto keys = shuffled_keys(n);
  auto map = filled_userbpf_hash(keys);
  uint32_t i = 0;
  for (auto _ : state) {
    void* v = map->lookup(&keys[i]);
    benchmark::DoNotOptimize(v);
    if (++i == n) i = 0;
  }
}
BENCHMARK(BM_UserbpfHashLookupU32)->Arg(4096)->Arg(kEntries)->Arg(kMillion);

// Lookups of keys that are not in the map (the same count of other keys).
void BM_UserbpfHashLookupMissU32(benchmark::State& state) {
  auto keys = shuffled_keys(kEntries);
  auto map = filled_userbpf_hash(keys);
  for (uint32_t& k : keys) {
    k += 1;
    if (map->lookup(&k) != nullptr) {
      state.SkipWithError("a shifted key is in the map");
      return;
    }
  }
  uint32_t i = 0;
  for (auto _ : state) {
    void* v = map->lookup(&keys[i]);
    benchmark::DoNotOptimize(v);
    if (++i == kEntries) i = 0;
  }
}
BENCHMARK(BM_UserbpfHashLookupMissU32);

void BM_UserbpfLruHashLookupU32(benchmark::State& state) {
  auto keys = shuffled_keys(kEntries);
  auto map = filled_userbpf_hash(keys, BPF_MAP_TYPE_LRU_HASH);
  uint32_t i = 0;
  for (auto _ : state) {
    void* v = map->lookup(&keys[i]);
    benchmark::DoNotOptimize(v);
    if (++i == kEntries) i = 0;
  }
}
BENCHMARK(BM_UserbpfLruHashLookupU32);

void BM_UserbpfLruHashUpdateU32(benchmark::State& state) {
  auto keys = shuffled_keys(kEntries);
  auto map = filled_userbpf_hash(keys, BPF_MAP_TYPE_LRU_HASH);
  uint32_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    int rc = map->update(&keys[i], &v, BPF_ANY);
    benchmark::DoNotOptimize(rc);
    ++v;
    if (++i == kEntries) i = 0;
  }
}
BENCHMARK(BM_UserbpfLruHashUpdateU32);

void BM_UserbpfHashUpdateU32(benchmark::State& state) {
  auto keys = shuffled_keys(kEntries);
  auto map = filled_userbpf_hash(keys);
  size_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    int rc = map->update(&keys[i], &v, BPF_ANY);
    benchmark::DoNotOptimize(rc);
    ++v;
    i = (i + 1) & (kEntries - 1);
  }
}
BENCHMARK(BM_UserbpfHashUpdateU32);

void BM_UserbpfHashDeleteInsertU32(benchmark::State& state) {
  auto keys = shuffled_keys(kEntries);
  auto map = filled_userbpf_hash(keys);
  size_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    map->erase(&keys[i]);
    int rc = map->update(&keys[i], &v, BPF_NOEXIST);
    benchmark::DoNotOptimize(rc);
    i = (i + 1) & (kEntries - 1);
  }
}
BENCHMARK(BM_UserbpfHashDeleteInsertU32);

void BM_UserbpfHashLookupCopyU32(benchmark::State& state) {  // the syscall-style user copy
  auto keys = shuffled_keys(kEntries);
  auto map = filled_userbpf_hash(keys);
  size_t i = 0;
  uint64_t out = 0;
  for (auto _ : state) {
    int rc = map->lookup_copy(&keys[i], &out);
    benchmark::DoNotOptimize(rc);
    i = (i + 1) & (kEntries - 1);
  }
}
BENCHMARK(BM_UserbpfHashLookupCopyU32);

void BM_UserbpfArrayLookup(benchmark::State& state) {
  auto map = userbpf::maps::create_map(spec_of(BPF_MAP_TYPE_ARRAY, 4, 8, kEntries));
  uint32_t i = 0;
  for (auto _ : state) {
    void* v = map.value()->lookup(&i);
    benchmark::DoNotOptimize(v);
    i = (i + 7) & (kEntries - 1);
  }
}
BENCHMARK(BM_UserbpfArrayLookup);

int kernel_hash(const std::vector<uint32_t>& keys) {
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench", 4, 8, kEntries, nullptr);
  if (fd < 0) return fd;
  for (uint32_t k : keys) {
    uint64_t v = k;
    bpf_map_update_elem(fd, &k, &v, BPF_ANY);
  }
  return fd;
}

void BM_KernelHashLookupU32(benchmark::State& state) {
  auto keys = shuffled_keys(kEntries);
  int fd = kernel_hash(keys);
  if (fd < 0) {
    state.SkipWithError("bpf(BPF_MAP_CREATE) unavailable");
    return;
  }
  size_t i = 0;
  uint64_t out = 0;
  for (auto _ : state) {
    int rc = bpf_map_lookup_elem(fd, &keys[i], &out);
    benchmark::DoNotOptimize(rc);
    i = (i + 1) & (kEntries - 1);
  }
  close(fd);
}
BENCHMARK(BM_KernelHashLookupU32);

void BM_KernelHashUpdateU32(benchmark::State& state) {
  auto keys = shuffled_keys(kEntries);
  int fd = kernel_hash(keys);
  if (fd < 0) {
    state.SkipWithError("bpf(BPF_MAP_CREATE) unavailable");
    return;
  }
  size_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    int rc = bpf_map_update_elem(fd, &keys[i], &v, BPF_ANY);
    benchmark::DoNotOptimize(rc);
    ++v;
    i = (i + 1) & (kEntries - 1);
  }
  close(fd);
}
BENCHMARK(BM_KernelHashUpdateU32);

void BM_StdUnorderedMapLookupU32(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  auto keys = shuffled_keys(n);
  std::unordered_map<uint32_t, uint64_t> map;
  for (uint32_t k : keys) map[k] = k;
  uint32_t i = 0;
  for (auto _ : state) {
    auto it = map.find(keys[i]);
    benchmark::DoNotOptimize(it);
    if (++i == n) i = 0;
  }
}
BENCHMARK(BM_StdUnorderedMapLookupU32)->Arg(4096)->Arg(kEntries)->Arg(kMillion);

void BM_StdUnorderedMapUpdateU32(benchmark::State& state) {
  auto keys = shuffled_keys(kEntries);
  std::unordered_map<uint32_t, uint64_t> map;
  for (uint32_t k : keys) map[k] = k;
  size_t i = 0;
  uint64_t v = 0;
  for (auto _ : state) {
    map[keys[i]] = v++;
    benchmark::ClobberMemory();
    i = (i + 1) & (kEntries - 1);
  }
}
BENCHMARK(BM_StdUnorderedMapUpdateU32);

long rss_bytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE);
}

// Footprint of 1,000,000 u64 -> u64 entries: the map's mapped size and the growth of resident
// memory while creating and filling it (memfd pages count in RSS once touched).
void BM_UserbpfHashMillionU64Footprint(benchmark::State& state) {
  for (auto _ : state) {
    long before = rss_bytes();
    auto map = userbpf::maps::create_map(spec_of(BPF_MAP_TYPE_HASH, 8, 8, kMillion));
    for (uint64_t k = 0; k < kMillion; ++k) {
      uint64_t key = k * 0x9e3779b97f4a7c15ull;
      map.value()->update(&key, &k, BPF_NOEXIST);
    }
    long after = rss_bytes();
    state.counters["mapped_MiB"] = double(map.value()->mapping_size()) / (1 << 20);
    state.counters["rss_growth_MiB"] = double(after - before) / (1 << 20);
    state.counters["entries"] = map.value()->size();
  }
}
BENCHMARK(BM_UserbpfHashMillionU64Footprint)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

// devmap, devmap_hash, cpumap and xskmap: Linux's creation rules and user-space semantics, each
// compared with the host kernel's map of the same spec where this process can create one.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sys/socket.h>

#include <random>

#include "maps/map_test_util.hpp"

namespace userbpf::maps::testing {
namespace {

uint32_t missing_ifindex() {
  char name[IF_NAMESIZE];
  uint32_t i = 1000;
  while (if_indextoname(i, name) != nullptr) ++i;
  return i;
}

Bytes u32_pair(uint32_t a, uint32_t b, size_t size) {
  Bytes v(size, 0);
  std::memcpy(v.data(), &a, 4);
  if (size >= 8) std::memcpy(v.data() + 4, &b, 4);
  return v;
}

// Keys in get_next_key order from NULL (order matters: devmap_hash walks its buckets).
template <class Next>
std::vector<uint32_t> key_walk(Next next, size_t limit) {
  std::vector<uint32_t> keys;
  uint32_t cur = 0, nxt = 0;
  bool first = true;
  while (next(first ? nullptr : &cur, &nxt) == 0 && keys.size() <= limit) {
    keys.push_back(nxt);
    cur = nxt;
    first = false;
  }
  return keys;
}

TEST(RedirectMaps, CreationRules) {
  struct Case {
    uint32_t type, key, value, max, flags;
    int err;  // negative errno
  };
  const Case cases[] = {
      {BPF_MAP_TYPE_DEVMAP, 4, 4, 8, 0, 0},
      {BPF_MAP_TYPE_DEVMAP, 4, 8, 8, 0, 0},
      {BPF_MAP_TYPE_DEVMAP, 4, 12, 8, 0, -EINVAL},
      {BPF_MAP_TYPE_DEVMAP, 8, 4, 8, 0, -EINVAL},
      {BPF_MAP_TYPE_DEVMAP, 4, 4, 0, 0, -EINVAL},
      {BPF_MAP_TYPE_DEVMAP, 4, 4, 8, BPF_F_RDONLY_PROG, -EINVAL},
      {BPF_MAP_TYPE_DEVMAP, 4, 4, 8, BPF_F_RDONLY, 0},
      {BPF_MAP_TYPE_DEVMAP, 4, 4, 8, BPF_F_NO_PREALLOC, -EINVAL},
      {BPF_MAP_TYPE_DEVMAP_HASH, 4, 8, 3, 0, 0},
      {BPF_MAP_TYPE_DEVMAP_HASH, 4, 8, 3, BPF_F_WRONLY, 0},
      {BPF_MAP_TYPE_DEVMAP_HASH, 2, 8, 3, 0, -EINVAL},
      {BPF_MAP_TYPE_CPUMAP, 4, 4, 2, 0, 0},
      {BPF_MAP_TYPE_CPUMAP, 4, 8, 2, BPF_F_NUMA_NODE, 0},  // node 0
      {BPF_MAP_TYPE_CPUMAP, 4, 8, 2, 0, 0},
      {BPF_MAP_TYPE_CPUMAP, 4, 6, 2, 0, -EINVAL},
      {BPF_MAP_TYPE_CPUMAP, 4, 4, 2, BPF_F_RDONLY, -EINVAL},
      {BPF_MAP_TYPE_CPUMAP, 4, 4, 100000, 0, -E2BIG},
      {BPF_MAP_TYPE_XSKMAP, 4, 4, 4, 0, 0},
      {BPF_MAP_TYPE_XSKMAP, 4, 8, 4, 0, -EINVAL},
      {BPF_MAP_TYPE_XSKMAP, 4, 4, 4, BPF_F_RDONLY_PROG, -EINVAL},
  };
  const bool kernel = getenv("USERBPF_NO_KERNEL") == nullptr &&
                      KernelMap(make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 1)).ok();
  for (const Case& c : cases) {
    MapSpec spec = make_spec(c.type, c.key, c.value, c.max, c.flags);
    SCOPED_TRACE(std::string(map_type_name(c.type)) + " key " + std::to_string(c.key) + " value " +
                 std::to_string(c.value) + " max " + std::to_string(c.max) + " flags " +
                 std::to_string(c.flags));
    std::string why;
    int err = check_spec(spec, &why);
    EXPECT_EQ(err, c.err) << why;
    auto created = create_map(spec);
    EXPECT_EQ(static_cast<bool>(created), err == 0);
    if (kernel) {
      KernelMap k(spec);
      EXPECT_EQ(k.ok() ? 0 : -k.error(), err) << why;
    }
  }
}

TEST(RedirectMaps, DevmapForcesReadOnlyForProgramsAndReopens) {
  TempDir dir;
  auto map = must_create(make_spec(BPF_MAP_TYPE_DEVMAP, 4, 4, 4), {dir.path(), "dev"});
  ASSERT_TRUE(map);
  EXPECT_EQ(map->spec().map_flags, uint32_t{BPF_F_RDONLY_PROG});
  const uint32_t key = 2, lo = 1;
  ASSERT_EQ(map->update_copy(&key, &lo), 0);
  auto again = open_map(dir.path() + "/dev");
  ASSERT_TRUE(again) << again.error().to_string();
  uint32_t out = 0;
  ASSERT_EQ(again.value()->lookup_copy(&key, &out), 0);
  EXPECT_EQ(out, lo);
  if (getenv("USERBPF_NO_KERNEL") == nullptr) {
    KernelMap k(make_spec(BPF_MAP_TYPE_DEVMAP, 4, 4, 4));
    if (k.ok()) {
      bpf_map_info info{};
      uint32_t len = sizeof(info);
      ASSERT_EQ(bpf_obj_get_info_by_fd(k.fd(), &info, &len), 0);
      EXPECT_EQ(info.map_flags, map->spec().map_flags);
    }
  }
}

TEST(RedirectMaps, DevmapSemantics) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_DEVMAP, 4, 8, 4));
  ASSERT_TRUE(map);
  const uint32_t k0 = 0, k3 = 3, k9 = 9;
  Bytes lo = u32_pair(1, 0, 8);
  EXPECT_EQ(map->update_copy(&k0, lo.data(), BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(map->update_copy(&k9, lo.data()), -E2BIG);
  EXPECT_EQ(map->update_copy(&k0, u32_pair(missing_ifindex(), 0, 8).data()), -EINVAL);
  EXPECT_EQ(map->update_copy(&k0, u32_pair(1, 7, 8).data()), -EINVAL);  // a program fd
  EXPECT_EQ(map->update_copy(&k0, u32_pair(0, 7, 8).data()), -EINVAL);
  EXPECT_EQ(map->update_copy(&k3, u32_pair(1, 0xffffffff, 8).data()), 0);  // fd -1: none
  Bytes out(8, 0xee);
  ASSERT_EQ(map->lookup_copy(&k3, out.data()), 0);
  EXPECT_EQ(out, lo);  // ifindex 1, program id 0
  EXPECT_EQ(map->lookup_copy(&k0, out.data()), -ENOENT);
  EXPECT_NE(map->lookup(&k3), nullptr);
  EXPECT_EQ(map->delete_copy(&k0), 0);  // empty slots delete fine
  EXPECT_EQ(map->delete_copy(&k9), -EINVAL);
  EXPECT_EQ(map->update_copy(&k3, u32_pair(0, 0, 8).data()), 0);  // ifindex 0 empties
  EXPECT_EQ(map->lookup(&k3), nullptr);
}

TEST(RedirectMaps, DevmapHashOrderAndLimits) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 3));
  ASSERT_TRUE(map);
  const uint32_t lo = 1;
  const uint32_t keys[] = {5, 1, 9, 13};
  EXPECT_EQ(map->update_copy(&keys[0], &lo, BPF_EXIST), 0);  // Linux inserts anyway
  EXPECT_EQ(map->update_copy(&keys[1], &lo), 0);
  EXPECT_EQ(map->update_copy(&keys[2], &lo), 0);
  EXPECT_EQ(map->update_copy(&keys[3], &lo), -E2BIG);
  EXPECT_EQ(map->update_copy(&keys[2], &lo, BPF_NOEXIST), -EEXIST);
  const uint32_t zero = 0;
  EXPECT_EQ(map->update_copy(&keys[2], &zero), -EINVAL);
  EXPECT_EQ(map->size(), 3u);
  // 4 buckets: 5 and 9 and 1 share bucket 1, newest first.
  auto walk = key_walk([&](const void* k, void* n) { return map->get_next_key(k, n); }, 10);
  EXPECT_EQ(walk, (std::vector<uint32_t>{9, 1, 5}));
  EXPECT_EQ(map->delete_copy(&keys[1]), 0);
  EXPECT_EQ(map->delete_copy(&keys[1]), -ENOENT);
  EXPECT_EQ(map->update_copy(&keys[3], &lo), 0);
  walk = key_walk([&](const void* k, void* n) { return map->get_next_key(k, n); }, 10);
  EXPECT_EQ(walk, (std::vector<uint32_t>{13, 9, 5}));
}

TEST(RedirectMaps, CpumapAndXskmap) {
  auto cpus = must_create(make_spec(BPF_MAP_TYPE_CPUMAP, 4, 4, 8));
  ASSERT_TRUE(cpus);
  const uint32_t k0 = 0, far = possible_cpus();
  const uint32_t q = 64, huge = 16385, zero = 0;
  EXPECT_EQ(cpus->update_copy(&k0, &huge), -EOVERFLOW);
  EXPECT_EQ(cpus->update_copy(&k0, &q, BPF_NOEXIST), -EEXIST);
  if (far < 8) {
    EXPECT_EQ(cpus->update_copy(&far, &q), -ENODEV);
  }
  ASSERT_EQ(cpus->update_copy(&k0, &q), 0);
  uint32_t out = 0;
  ASSERT_EQ(cpus->lookup_copy(&k0, &out), 0);
  EXPECT_EQ(out, q);
  ASSERT_EQ(cpus->update_copy(&k0, &zero), 0);
  EXPECT_EQ(cpus->lookup_copy(&k0, &out), -ENOENT);

  auto xsk = must_create(make_spec(BPF_MAP_TYPE_XSKMAP, 4, 4, 2));
  ASSERT_TRUE(xsk);
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  const int devnull = open("/dev/null", O_RDONLY);
  const uint32_t bad = 100000, sock = static_cast<uint32_t>(udp);
  const uint32_t file = static_cast<uint32_t>(devnull);
  EXPECT_EQ(xsk->update_copy(&k0, &bad), -EBADF);
  EXPECT_EQ(xsk->update_copy(&k0, &file), -ENOTSOCK);
  EXPECT_EQ(xsk->update_copy(&k0, &sock), -EOPNOTSUPP);
  EXPECT_EQ(xsk->lookup_copy(&k0, &out), -EOPNOTSUPP);
  EXPECT_EQ(xsk->delete_copy(&k0), 0);
  const int xdp = socket(AF_XDP, SOCK_RAW, 0);
  if (xdp >= 0) {  // an AF_XDP socket is accepted and remembered (the same one again: 0)
    const uint32_t x = static_cast<uint32_t>(xdp);
    EXPECT_EQ(xsk->update_copy(&k0, &x, BPF_EXIST), -ENOENT);
    EXPECT_EQ(xsk->update_copy(&k0, &x, BPF_NOEXIST), 0);
    EXPECT_EQ(xsk->update_copy(&k0, &x, BPF_NOEXIST), 0);
    EXPECT_NE(xsk->lookup(&k0), nullptr);
    EXPECT_EQ(xsk->lookup_copy(&k0, &out), -EOPNOTSUPP);
    close(xdp);
  }
  close(udp);
  close(devnull);
}

// Random update/lookup/delete/get_next_key sequences on userbpf's map and the kernel's.
void compare_with_kernel(const MapSpec& spec, const std::vector<Bytes>& values, int steps) {
  KernelMap kernel(spec);
  ASSERT_TRUE(kernel.ok()) << "kernel refused the spec: " << std::strerror(kernel.error());
  auto map = must_create(spec);
  ASSERT_TRUE(map);
  std::mt19937 rng(spec.type * 31 + spec.value_size);
  const uint64_t flag_choices[] = {BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3};
  for (int step = 0; step < steps; ++step) {
    const uint32_t key = rng() % (spec.max_entries + 3);
    const Bytes& value = values[rng() % values.size()];
    SCOPED_TRACE("step " + std::to_string(step) + " key " + std::to_string(key));
    switch (rng() % 6) {
      case 0:
      case 1: {
        const uint64_t flags = flag_choices[rng() % 4];
        uint32_t first = 0;
        std::memcpy(&first, value.data(), 4);
        ASSERT_EQ(map->update_copy(&key, value.data(), flags),
                  kernel.update(&key, value.data(), flags))
            << "update flags " << flags << " value[0] " << first;
        break;
      }
      case 2:
      case 3: {
        Bytes out_u(spec.value_size, 0xee), out_k(spec.value_size, 0xee);
        const int ru = map->lookup_copy(&key, out_u.data());
        ASSERT_EQ(ru, kernel.lookup(&key, out_k.data()));
        if (ru == 0) {
          ASSERT_EQ(out_u, out_k);
        }
        break;
      }
      case 4: ASSERT_EQ(map->delete_copy(&key), kernel.erase(&key)); break;
      default: {
        uint32_t nu = 0, nk = 0;
        const int ru = map->get_next_key(&key, &nu);
        ASSERT_EQ(ru, kernel.next_key(&key, &nk));
        if (ru == 0) {
          ASSERT_EQ(nu, nk);
        }
      }
    }
  }
  auto ours = key_walk([&](const void* k, void* n) { return map->get_next_key(k, n); }, 100);
  auto theirs = key_walk([&](const void* k, void* n) { return kernel.next_key(k, n); }, 100);
  EXPECT_EQ(ours, theirs);
}

std::vector<Bytes> device_values(size_t size, int open_fd) {
  const uint32_t none = missing_ifindex();
  std::vector<Bytes> v;
  for (uint32_t ifindex : {0u, 1u, 1u, 2u, 2u, none}) {
    v.push_back(u32_pair(ifindex, 0xffffffff, size));
    if (size == 8) {
      v.push_back(u32_pair(ifindex, 0, size));
      v.push_back(u32_pair(ifindex, static_cast<uint32_t>(open_fd), size));  // not a program
      v.push_back(u32_pair(ifindex, 9999, size));                            // not open
    }
  }
  return v;
}

TEST(RedirectMaps, DevmapMatchesKernel) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  const int fd = open("/dev/null", O_RDONLY);
  compare_with_kernel(make_spec(BPF_MAP_TYPE_DEVMAP, 4, 4, 6), device_values(4, fd), 600);
  compare_with_kernel(make_spec(BPF_MAP_TYPE_DEVMAP, 4, 8, 6), device_values(8, fd), 600);
  close(fd);
}

TEST(RedirectMaps, DevmapHashMatchesKernel) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  const int fd = open("/dev/null", O_RDONLY);
  compare_with_kernel(make_spec(BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 5), device_values(4, fd), 800);
  compare_with_kernel(make_spec(BPF_MAP_TYPE_DEVMAP_HASH, 4, 8, 7), device_values(8, fd), 800);
  close(fd);
}

TEST(RedirectMaps, CpumapMatchesKernel) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  const int fd = open("/dev/null", O_RDONLY);
  for (uint32_t vsize : {4u, 8u}) {
    std::vector<Bytes> values;
    for (uint32_t q : {0u, 1u, 64u, 16384u, 16385u}) {
      values.push_back(u32_pair(q, 0, vsize));
      if (vsize == 8) values.push_back(u32_pair(q, static_cast<uint32_t>(fd), vsize));
    }
    compare_with_kernel(make_spec(BPF_MAP_TYPE_CPUMAP, 4, vsize, possible_cpus() + 2), values, 500);
  }
  close(fd);
}

TEST(RedirectMaps, XskmapMatchesKernel) {
  USERBPF_REQUIRE_KERNEL_MAPS();
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  const int devnull = open("/dev/null", O_RDONLY);
  const int xdp = socket(AF_XDP, SOCK_RAW, 0);  // unbound: no rings
  const int xdp2 = socket(AF_XDP, SOCK_RAW, 0);
  std::vector<Bytes> values = {u32_pair(static_cast<uint32_t>(udp), 0, 4),
                               u32_pair(static_cast<uint32_t>(devnull), 0, 4),
                               u32_pair(100000, 0, 4)};
  for (int x : {xdp, xdp2}) {
    if (x >= 0) values.push_back(u32_pair(static_cast<uint32_t>(x), 0, 4));
  }
  compare_with_kernel(make_spec(BPF_MAP_TYPE_XSKMAP, 4, 4, 4), values, 400);
  close(udp);
  close(devnull);
  if (xdp >= 0) close(xdp);
  if (xdp2 >= 0) close(xdp2);
}

}  // namespace
}  // namespace userbpf::maps::testing

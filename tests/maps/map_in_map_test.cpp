// Map-in-map outer maps, prog_array and perf_event_array at the maps level: spec checks with
// Linux's errno, inner template matching, id storage, resolution of inner maps.
#include "userbpf/map_in_map.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <thread>

#include "maps/map_test_util.hpp"
#include "userbpf/perf_buffer.hpp"
#include "userbpf/prog_array.hpp"

namespace userbpf::maps {
namespace {

using testing::make_spec;
using testing::must_create;
using testing::TempDir;

TEST(MapInMap, SpecChecks) {
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 8)), 0);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 8, 8)), -EINVAL);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_ARRAY_OF_MAPS, 8, 4, 8)), -EINVAL);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 8, BPF_F_MMAPABLE)), -EINVAL);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_HASH_OF_MAPS, 16, 4, 8)), 0);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_HASH_OF_MAPS, 16, 4, 0)), -EINVAL);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8)), 0);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 8)), -EINVAL);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8, BPF_F_RDONLY_PROG)), -EINVAL);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8, BPF_F_PRESERVE_ELEMS)), -EINVAL);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 8, BPF_F_PRESERVE_ELEMS)), 0);
  EXPECT_EQ(check_spec(make_spec(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 0)), -EINVAL);
}

TEST(MapInMap, TemplateIdsAndResolution) {
  TempDir dir;
  // Inner maps named "<id>.map" next to the outer map: the runtime's layout.
  const MapSpec inner_spec = make_spec(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, "in");
  auto inner7 = must_create(inner_spec, Backing{dir.path(), "7.map"});
  auto wrong =
      must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 8, 5, 0, "in"), Backing{dir.path(), "8.map"});
  auto hash9 =
      must_create(make_spec(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "h"), Backing{dir.path(), "9.map"});
  for (uint32_t type : {BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS}) {
    SCOPED_TRACE(type);
    const std::string name = type == BPF_MAP_TYPE_ARRAY_OF_MAPS ? "aom" : "hom";
    auto outer =
        create_map_in_map(make_spec(type, 4, 4, 4, 0, name), inner_spec, Backing{dir.path(), name});
    ASSERT_TRUE(outer) << outer.error().to_string();
    Map& m = **outer;
    EXPECT_EQ(inner_map_template(m).max_entries, 4u);
    uint32_t key = 2, id = 7;
    EXPECT_EQ(m.lookup(&key), nullptr);
    ASSERT_EQ(m.update_copy(&key, &id), 0);
    auto* handle = static_cast<Map*>(m.lookup(&key));
    ASSERT_NE(handle, nullptr);
    EXPECT_EQ(handle->generation(), inner7->generation());  // the same map, mapped again
    uint32_t read = 0;
    ASSERT_EQ(m.lookup_copy(&key, &read), 0);
    EXPECT_EQ(read, 7u);
    id = 8;  // max_entries differs from the template
    EXPECT_EQ(m.update_copy(&key, &id), -EINVAL);
    id = 9;  // type differs
    EXPECT_EQ(m.update_copy(&key, &id), -EINVAL);
    id = 12345;  // no such map
    EXPECT_EQ(m.update_copy(&key, &id), -EBADF);
    // Writes through the handle reach the inner map other processes see.
    uint32_t k = 1;
    uint64_t v = 77, back = 0;
    ASSERT_EQ(handle->update(&k, &v, 0), 0);
    ASSERT_EQ(inner7->lookup_copy(&k, &back), 0);
    EXPECT_EQ(back, 77u);
    // Another process's view (open_map) resolves the same way and keeps the template.
    auto reopened = open_map(dir.path() + "/" + name);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(inner_map_template(**reopened).type, uint32_t{BPF_MAP_TYPE_ARRAY});
    EXPECT_NE((*reopened)->lookup(&key), nullptr);
    ASSERT_EQ(m.delete_copy(&key), 0);
    EXPECT_EQ(m.lookup(&key), nullptr);
    EXPECT_EQ((*reopened)->lookup(&key), nullptr);
    EXPECT_EQ(m.delete_copy(&key), -ENOENT);
  }
  EXPECT_FALSE(create_map_in_map(make_spec(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4),
                                 make_spec(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4)));
  EXPECT_FALSE(create_map_in_map(make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 4), inner_spec));
  // BPF_F_INNER_MAP in the template lets inner maps differ in max_entries.
  auto loose = create_map_in_map(make_spec(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, "loose"),
                                 make_spec(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP),
                                 Backing{dir.path(), "loose"});
  ASSERT_TRUE(loose);
  auto inner10 = must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 8, 100, BPF_F_INNER_MAP, "in"),
                             Backing{dir.path(), "10.map"});
  uint32_t key = 0, id = 10;
  EXPECT_EQ((*loose)->update_copy(&key, &id), 0);
}

TEST(MapInMap, ExplicitResolverForAnonymousMaps) {
  auto inner = must_create(make_spec(BPF_MAP_TYPE_HASH, 8, 8, 16));
  auto outer = create_map_in_map(make_spec(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2),
                                 make_spec(BPF_MAP_TYPE_HASH, 8, 8, 16));
  ASSERT_TRUE(outer);
  uint32_t key = 0, id = 3;
  EXPECT_EQ((*outer)->update_copy(&key, &id), -EBADF);
  set_inner_map_resolver(**outer, [&](uint32_t want) { return want == 3 ? inner : nullptr; });
  ASSERT_EQ((*outer)->update_copy(&key, &id), 0);
  EXPECT_EQ((*outer)->lookup(&key), inner.get());
}

TEST(ProgArray, SlotsHoldIds) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 3));
  uint32_t key = 1, id = 42, out = 0;
  EXPECT_EQ(prog_array_slot(*map, 1), 0u);
  EXPECT_EQ(map->lookup_copy(&key, &out), -ENOENT);
  EXPECT_EQ(map->update_copy(&key, &id, BPF_EXIST), -EINVAL);
  ASSERT_EQ(map->update_copy(&key, &id), 0);
  EXPECT_EQ(prog_array_slot(*map, 1), 42u);
  EXPECT_EQ(prog_array_slot(*map, 3), 0u);
  EXPECT_EQ(map->lookup(&key), nullptr);  // programs cannot read slots
  ASSERT_EQ(map->lookup_copy(&key, &out), 0);
  EXPECT_EQ(out, 42u);
  key = 3;
  EXPECT_EQ(map->update_copy(&key, &id), -E2BIG);
  key = 1;
  EXPECT_EQ(map->delete_copy(&key), 0);
  EXPECT_EQ(map->delete_copy(&key), -ENOENT);
  auto array = must_create(make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 3));
  EXPECT_EQ(prog_array_slot(*array, 0), 0u);
}

TEST(PerfEventArray, ConsumerWakesAndSlotsClose) {
  auto map = must_create(make_spec(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, possible_cpus()));
  uint64_t x = 5;
  EXPECT_EQ(perf_event_output(*map, 0, &x, 8), -ENOENT);
  EXPECT_EQ(perf_event_output(*map, uint64_t{1} << 40, &x, 8), -EINVAL);
  int got = 0;
  {
    auto pb = PerfBuffer::create(map, [&](int cpu, const void* data, uint32_t size) {
      EXPECT_EQ(cpu, 0);
      EXPECT_EQ(size, 12u);  // 8 bytes padded: 8 + 4 + 12 = 24
      uint64_t v;
      std::memcpy(&v, data, 8);
      EXPECT_EQ(v, 5u);
      ++got;
    });
    ASSERT_TRUE(pb);
    EXPECT_FALSE(PerfBuffer::create(map, [](int, const void*, uint32_t) {}));  // one consumer
    EXPECT_EQ((*pb)->poll(10), 0);
    std::thread producer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      perf_event_output(*map, 0, &x, 8);
    });
    EXPECT_EQ((*pb)->poll(10000), 1);
    producer.join();
    EXPECT_EQ(got, 1);
  }
  EXPECT_EQ(perf_event_output(*map, 0, &x, 8), -ENOENT);  // consumer gone: slot closed
}

}  // namespace
}  // namespace userbpf::maps

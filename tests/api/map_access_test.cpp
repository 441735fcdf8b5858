// The typed map helpers of userbpf/map_access.hpp on a loaded object's maps.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>

#include "api/api_test_util.hpp"
#include "userbpf/userbpf.hpp"

namespace userbpf {
namespace {

class ApiMapAccess : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Object::open(api_test::test_object());
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    obj_.emplace(std::move(opened).value());
    ASSERT_TRUE(obj_->load().ok());
    auto t = obj_->map("table");
    ASSERT_TRUE(t.ok());
    table_ = *t;
  }
  std::optional<Object> obj_;
  std::shared_ptr<maps::Map> table_;
};

TEST_F(ApiMapAccess, UpdateLookupEraseAndIterate) {
  for (uint32_t k = 1; k <= 5; ++k) ASSERT_TRUE(update(*table_, k, uint64_t{k * 10}).ok());
  auto v = lookup<uint64_t>(*table_, uint32_t{3});
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(*v, 30u);

  auto all = keys<uint32_t>(*table_);
  ASSERT_TRUE(all.ok());
  std::sort(all->begin(), all->end());
  EXPECT_EQ(*all, (std::vector<uint32_t>{1, 2, 3, 4, 5}));
  auto pairs = entries<uint32_t, uint64_t>(*table_);
  ASSERT_TRUE(pairs.ok());
  ASSERT_EQ(pairs->size(), 5u);
  for (const auto& [k, value] : *pairs) EXPECT_EQ(value, k * 10u);

  ASSERT_TRUE(erase(*table_, uint32_t{3}).ok());
  auto gone = lookup<uint64_t>(*table_, uint32_t{3});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::not_found);
  EXPECT_EQ(gone.error().message, "map 'table': lookup: No such file or directory (ENOENT)");
  auto erase_again = erase(*table_, uint32_t{3});
  EXPECT_EQ(erase_again.error().code, Errc::not_found);
  EXPECT_EQ(keys<uint32_t>(*table_)->size(), 4u);
}

TEST_F(ApiMapAccess, FlagsKeepLinuxSemantics) {
  ASSERT_TRUE(update(*table_, uint32_t{1}, uint64_t{1}, BPF_NOEXIST).ok());
  auto exists = update(*table_, uint32_t{1}, uint64_t{2}, BPF_NOEXIST);
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.error().message, "map 'table': update: File exists (EEXIST)");
  auto missing = update(*table_, uint32_t{2}, uint64_t{2}, BPF_EXIST);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(*lookup<uint64_t>(*table_, uint32_t{1}), 1u);
}

TEST_F(ApiMapAccess, WrongSizesAreRefusedWithBothSizes) {
  auto wide_key = lookup<uint64_t>(*table_, uint64_t{1});
  ASSERT_FALSE(wide_key.ok());
  EXPECT_EQ(wide_key.error().code, Errc::invalid_argument);
  EXPECT_EQ(wide_key.error().message, "map 'table': key is 4 bytes, not 8");
  auto narrow_value = update(*table_, uint32_t{1}, uint32_t{1});
  EXPECT_EQ(narrow_value.error().message, "map 'table': value is 8 bytes, not 4");
  EXPECT_EQ(erase(*table_, uint16_t{1}).error().message, "map 'table': key is 4 bytes, not 2");
  EXPECT_FALSE(keys<uint64_t>(*table_).ok());
  EXPECT_TRUE(keys<uint32_t>(*table_)->empty());
}

TEST_F(ApiMapAccess, PerCpuValuesOnePerCpu) {
  auto percpu = obj_->map("percpu");
  ASSERT_TRUE(percpu.ok());
  struct Args {
    uint32_t input, pad;
    uint64_t output;
  } args{1, 0, 0};
  std::vector<uint8_t> ctx(sizeof(args));
  std::memcpy(ctx.data(), &args, sizeof(args));
  ASSERT_TRUE(obj_->program("compute")->run_context(ctx, 4).ok());
  auto values = lookup_percpu<uint64_t>(**percpu, uint32_t{0});
  ASSERT_TRUE(values.ok()) << values.error().to_string();
  EXPECT_EQ(values->size(), maps::possible_cpus());
  uint64_t sum = 0;
  for (uint64_t v : *values) sum += v;
  EXPECT_EQ(sum, 4u);
  // A plain lookup of a per-CPU map must take the whole per-CPU buffer.
  if (maps::possible_cpus() > 1) {
    EXPECT_FALSE(lookup<uint64_t>(**percpu, uint32_t{0}).ok());
  }
  auto not_percpu = lookup_percpu<uint64_t>(*table_, uint32_t{0});
  ASSERT_FALSE(not_percpu.ok());
  EXPECT_EQ(not_percpu.error().message, "map 'table' is not per-CPU");
}

TEST_F(ApiMapAccess, ProgramWritesAreVisible) {
  struct Args {
    uint32_t input, pad;
    uint64_t output;
  } args{11, 0, 0};
  std::vector<uint8_t> ctx(sizeof(args));
  std::memcpy(ctx.data(), &args, sizeof(args));
  ASSERT_TRUE(obj_->program("compute")->run_context(ctx).ok());
  EXPECT_EQ(*lookup<uint64_t>(*table_, uint32_t{11}), 1033u);  // 11 * 3 + 1000
  auto unsupported = keys<uint32_t>(**obj_->map("events"));    // a ring buffer has no keys
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.error().message.find("map 'events': "), std::string::npos);
}

}  // namespace
}  // namespace userbpf

// btf_format: map keys and values through BTF as bpftool's "formatted" JSON member shows them.
#include "cli/map_btf.hpp"

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace userbpf::cli {
namespace {

TEST(MapBtf, FormatsStructWithIntsEnumStringAndArray) {
  std::unique_ptr<btf, void (*)(btf*)> b(btf__new_empty(), btf__free);
  ASSERT_TRUE(b);
  const int u32 = btf__add_int(b.get(), "unsigned int", 4, 0);
  const int s64 = btf__add_int(b.get(), "long", 8, BTF_INT_SIGNED);
  const int chr = btf__add_int(b.get(), "char", 1, BTF_INT_SIGNED);
  const int boolean = btf__add_int(b.get(), "_Bool", 1, BTF_INT_BOOL);
  const int name = btf__add_array(b.get(), u32, chr, 8);
  const int pair = btf__add_array(b.get(), u32, u32, 2);
  const int color = btf__add_enum(b.get(), "color", 4);
  ASSERT_EQ(btf__add_enum_value(b.get(), "RED", 0), 0);
  ASSERT_EQ(btf__add_enum_value(b.get(), "BLUE", 2), 0);
  const int st = btf__add_struct(b.get(), "value", 40);
  ASSERT_EQ(btf__add_field(b.get(), "count", u32, 0, 0), 0);
  ASSERT_EQ(btf__add_field(b.get(), "delta", s64, 64, 0), 0);
  ASSERT_EQ(btf__add_field(b.get(), "name", name, 128, 0), 0);
  ASSERT_EQ(btf__add_field(b.get(), "pair", pair, 192, 0), 0);
  ASSERT_EQ(btf__add_field(b.get(), "color", color, 256, 0), 0);
  ASSERT_EQ(btf__add_field(b.get(), "on", boolean, 288, 0), 0);

  uint8_t data[40] = {};
  const uint32_t count = 7;
  const int64_t delta = -3;
  const uint32_t pair_values[2] = {1, 2};
  const uint32_t blue = 2;
  std::memcpy(data, &count, 4);
  std::memcpy(data + 8, &delta, 8);
  std::memcpy(data + 16, "hello", 6);
  std::memcpy(data + 24, pair_values, 8);
  std::memcpy(data + 32, &blue, 4);
  data[36] = 1;
  auto j = btf_format(b.get(), uint32_t(st), data);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->dump(),
            R"({"count":7,"delta":-3,"name":"hello","pair":[1,2],"color":"BLUE","on":true})");

  // A value that matches no enumerator is a number; a non-string char array is an array.
  const uint32_t other = 5;
  std::memcpy(data + 32, &other, 4);
  std::memcpy(data + 16, "\x01\x02\0\0\0\0\0\0", 8);
  j = btf_format(b.get(), uint32_t(st), data);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->at("color"), 5);
  EXPECT_TRUE(j->at("name").is_array());
  // Too little data is refused rather than read past.
  EXPECT_FALSE(btf_format(b.get(), uint32_t(st), std::span<const uint8_t>(data, 10)));
}

}  // namespace
}  // namespace userbpf::cli

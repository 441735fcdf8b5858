#include "isa/helper_ids.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>

namespace userbpf::isa {
namespace {

TEST(HelperIds, NamesFollowLinuxNumbering) {
  EXPECT_STREQ(helper_name(0), "unspec");
  EXPECT_STREQ(helper_name(BPF_FUNC_map_lookup_elem), "map_lookup_elem");
  EXPECT_STREQ(helper_name(BPF_FUNC_trace_printk), "trace_printk");
  EXPECT_STREQ(helper_name(BPF_FUNC_tail_call), "tail_call");
  EXPECT_STREQ(helper_name(BPF_FUNC_ringbuf_output), "ringbuf_output");
  EXPECT_STREQ(helper_name(209), "user_ringbuf_drain");
}

TEST(HelperIds, NewerThanInstalledHeaderUpToLinux612) {
  EXPECT_STREQ(helper_name(210), "cgrp_storage_get");
  EXPECT_STREQ(helper_name(211), "cgrp_storage_delete");
  EXPECT_EQ(helper_name(212), nullptr);
  EXPECT_EQ(helper_name(0xffffffffu), nullptr);
}

TEST(HelperIds, EveryNameMapsBackToItsId) {
  for (uint32_t id = 0; id < kHelperIdLimit; ++id) {
    const char* name = helper_name(id);
    ASSERT_NE(name, nullptr) << id;
    EXPECT_EQ(helper_id(name), id) << name;
  }
  EXPECT_EQ(helper_id("map_update_elem"), 2u);
  EXPECT_EQ(helper_id("bpf_map_update_elem"), std::nullopt);  // names carry no prefix
  EXPECT_EQ(helper_id("no_such_helper"), std::nullopt);
}

}  // namespace
}  // namespace userbpf::isa

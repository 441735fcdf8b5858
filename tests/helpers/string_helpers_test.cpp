// bpf_strtol, bpf_strtoul and bpf_strncmp with the kernel's parsing rules, through the strtox
// syscall program (tests/runtime/progs/helpers_syscall.bpf.c). Expected values follow Linux's
// kstrtox rules: base prefixes, overflow, leading space (NBSP included), no '+'.
#include <gtest/gtest.h>

#include <cerrno>
#include <climits>

#include "runtime/test_run_util.hpp"

namespace userbpf::runtime {
namespace {

struct StrtoxArgs {
  char text[32];
  uint32_t len;
  uint32_t flags;
  int64_t value;
  int64_t result;
  uint64_t uvalue;
  int64_t uresult;
  int32_t cmp[3];
};

class StringHelpers : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = testing::load_program("helpers_syscall.bpf.o", "strtox");
    ASSERT_TRUE(loaded_->prog) << loaded_->error;
  }
  StrtoxArgs parse(const std::string& text, uint32_t flags, uint32_t len = 0) {
    StrtoxArgs a{};
    std::memcpy(a.text, text.data(), std::min(text.size(), sizeof a.text));
    a.len = len ? len : static_cast<uint32_t>(std::max<size_t>(text.size(), 1));
    a.flags = flags;
    TestRunInput in;
    in.ctx_in = testing::bytes_of(a);
    auto out = test_run(*loaded_->prog, in);
    EXPECT_TRUE(out.ok()) << out.error().to_string();
    return out.ok() ? testing::from_bytes<StrtoxArgs>(out->ctx_out) : StrtoxArgs{};
  }
  std::unique_ptr<testing::LoadedProgram> loaded_;
};

TEST_F(StringHelpers, StrtolAndStrtoulParseLikeTheKernel) {
  struct Want {
    std::string text;
    uint32_t flags;
    int64_t result;
    int64_t value;
    int64_t uresult;
    uint64_t uvalue;
  };
  const Want table[] = {
      {"123", 0, 3, 123, 3, 123},
      {"  -42xyz", 10, 5, -42, -EINVAL, 0},  // strtoul refuses a sign
      {"0x1f", 0, 4, 31, 4, 31},
      {"0X1A", 0, 4, 26, 4, 26},
      {"0x1f", 16, 4, 31, 4, 31},
      {"1f", 16, 2, 31, 2, 31},
      {"0x", 0, 1, 0, 1, 0},  // no hex digit after x: octal "0"
      {"0x", 16, -EINVAL, 0, -EINVAL, 0},
      {"019", 0, 2, 1, 2, 1},  // octal stops at 9
      {"777", 8, 3, 511, 3, 511},
      {"9223372036854775807", 10, 19, INT64_MAX, 19, 9223372036854775807ull},
      {"9223372036854775808", 10, -ERANGE, 0, 19, 9223372036854775808ull},
      {"-9223372036854775808", 10, 20, INT64_MIN, -EINVAL, 0},
      {"-9223372036854775809", 10, -ERANGE, 0, -EINVAL, 0},
      {"18446744073709551615", 10, -ERANGE, 0, 20, UINT64_MAX},
      {"18446744073709551616", 10, -ERANGE, 0, -ERANGE, 0},
      {"\t\n 7", 0, 4, 7, 4, 7},
      {"\xa0"
       "5",
       10, 2, 5, 2, 5},  // the kernel's ctype counts NBSP as space
      {"+5", 10, -EINVAL, 0, -EINVAL, 0},
      {"-", 10, -EINVAL, 0, -EINVAL, 0},
      {"  ", 10, -EINVAL, 0, -EINVAL, 0},
      {"abc", 10, -EINVAL, 0, -EINVAL, 0},
      {"abc", 16, 3, 0xabc, 3, 0xabc},
      {"12", 7, -EINVAL, 0, -EINVAL, 0},          // base must be 0, 8, 10 or 16
      {"12", 0x20 | 10, -EINVAL, 0, -EINVAL, 0},  // unknown flag bits
  };
  for (const Want& w : table) {
    SCOPED_TRACE("'" + w.text + "' flags " + std::to_string(w.flags));
    StrtoxArgs a = parse(w.text, w.flags);
    EXPECT_EQ(a.result, w.result);
    EXPECT_EQ(a.value, w.value);
    EXPECT_EQ(a.uresult, w.uresult);
    EXPECT_EQ(a.uvalue, w.uvalue);
  }
  // buf_len bounds the parse.
  StrtoxArgs a = parse("12345", 10, 3);
  EXPECT_EQ(a.result, 3);
  EXPECT_EQ(a.value, 123);
}

TEST_F(StringHelpers, StrncmpAnswersMinusOneZeroOne) {
  StrtoxArgs a = parse("abc", 0, 4);  // includes the NUL
  EXPECT_EQ(a.cmp[0], 0);
  EXPECT_EQ(a.cmp[1], -1);  // "abc" < "abd"
  EXPECT_EQ(a.cmp[2], 1);   // "abc" > ""
  a = parse("ab", 0, 2);
  EXPECT_EQ(a.cmp[0], 0);  // only 2 characters compared
  a = parse("abz", 0, 3);
  EXPECT_EQ(a.cmp[0], 1);
  EXPECT_EQ(a.cmp[1], 1);
  a = parse("", 0, 1);
  EXPECT_EQ(a.cmp[0], -1);
  EXPECT_EQ(a.cmp[2], 0);
}

}  // namespace
}  // namespace userbpf::runtime

#include "helpers/bprintf.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "helpers/safe_memory.hpp"

namespace userbpf::helpers {
namespace {

uint64_t addr(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

// Formats with the kernel's three trace_printk argument slots.
std::string fmt3(std::string_view fmt, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0,
                 int* ret = nullptr) {
  const uint64_t args[3] = {a, b, c};
  std::string out = "<untouched>";
  std::string with_nul(fmt);
  with_nul.push_back('\0');
  const int r = bprintf(with_nul, args, out);
  if (ret) *ret = r;
  return r < 0 ? "<" + std::to_string(r) + ">" : out;
}

TEST(Bprintf, IntegersFollowTheirLengthModifiers) {
  EXPECT_EQ(fmt3("%d %u %x", static_cast<uint64_t>(-5), 7, 255), "-5 7 ff");
  // int-sized conversions take the low 32 bits, as the kernel's bin_args do
  EXPECT_EQ(fmt3("%d", 0x1'0000'0002ull), "2");
  EXPECT_EQ(fmt3("%u", static_cast<uint64_t>(-1)), "4294967295");
  EXPECT_EQ(fmt3("%ld %lld", static_cast<uint64_t>(-5), static_cast<uint64_t>(INT64_MIN)),
            "-5 -9223372036854775808");
  EXPECT_EQ(fmt3("%llx %lX %lu", 0x1122334455667788ull, 0xabcull, UINT64_MAX),
            "1122334455667788 ABC 18446744073709551615");
  EXPECT_EQ(fmt3("%i", 42), "42");
}

TEST(Bprintf, FlagsAndWidthAreHonoured) {
  EXPECT_EQ(fmt3("[%5d][%-5d][%05x]", 42, 42, 0xab), "[   42][42   ][000ab]");
  EXPECT_EQ(fmt3("[%+d][% d][%8s]", 7, 7, reinterpret_cast<uint64_t>("ab")), "[+7][ 7][      ab]");
}

TEST(Bprintf, StringsAndCharsAreReadFromProgramMemory) {
  const char name[] = "eBPF";
  EXPECT_EQ(fmt3("hi %s!", addr(name)), "hi eBPF!");
  EXPECT_EQ(fmt3("%c%c", 'o', 'k'), "ok");
  EXPECT_EQ(fmt3("%pks %pus", addr(name), addr(name)), "eBPF eBPF");
  EXPECT_EQ(fmt3("100%%"), "100%");
}

TEST(Bprintf, ABadStringPointerPrintsEmptyInsteadOfFaulting) {
  EXPECT_EQ(fmt3("[%s]", 0), "[]");
  void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  EXPECT_EQ(fmt3("[%s]", addr(page)), "[]");
  munmap(page, 4096);
}

TEST(Bprintf, IpAddresses) {
  const uint8_t v4[4] = {192, 168, 1, 7};
  EXPECT_EQ(fmt3("%pI4 %pi4", addr(v4), addr(v4)), "192.168.1.7 192.168.001.007");
  uint8_t v6[16] = {};
  v6[0] = 0xfe;
  v6[1] = 0x80;
  v6[15] = 1;
  EXPECT_EQ(fmt3("%pI6", addr(v6)), "fe80:0000:0000:0000:0000:0000:0000:0001");
}

TEST(Bprintf, RefusesWhatTheKernelRefuses) {
  EXPECT_EQ(fmt3("%f", 1), "<" + std::to_string(-EINVAL) + ">") << "no floating point";
  EXPECT_EQ(fmt3("%.2d", 1), "<" + std::to_string(-EINVAL) + ">") << "no precision";
  EXPECT_EQ(fmt3("%d %d %d %d", 1, 2, 3), "<" + std::to_string(-EINVAL) + ">")
      << "more conversions than arguments";
  EXPECT_EQ(fmt3("%sx", 0), "<" + std::to_string(-EINVAL) + ">") << "%s followed by a letter";
  EXPECT_EQ(fmt3("%pQ", 0), "<" + std::to_string(-EINVAL) + ">") << "unknown pointer form";
  EXPECT_EQ(fmt3("bell\a"), "<" + std::to_string(-EINVAL) + ">") << "control character";
  const uint64_t args[3] = {};
  std::string out = "keep";
  EXPECT_EQ(bprintf(std::string_view("no terminator", 13), args, out), -EINVAL);
  EXPECT_EQ(out, "keep") << "output untouched on error";
}

TEST(Bprintf, NewlinesAndUtf8PassThrough) {
  EXPECT_EQ(fmt3("two\nlines\t%d", 1), "two\nlines\t1");
  EXPECT_EQ(fmt3("\xe4\xbd\xa0\xe5\xa5\xbd"), "\xe4\xbd\xa0\xe5\xa5\xbd");
}

TEST(Bprintf, ReturnsTheFullLengthAndTruncatesTheOutput) {
  const std::string long_fmt(2000, 'a');
  int ret = 0;
  const std::string out = fmt3(long_fmt, 0, 0, 0, &ret);
  EXPECT_EQ(ret, 2000);
  EXPECT_EQ(out.size(), kMaxBprintfOutput - 1);
}

TEST(SafeMemory, ReadsMappedAndRefusesUnmappedMemory) {
  const uint64_t value = 0x1122334455667788;
  uint64_t copy = 0;
  EXPECT_TRUE(read_nofault(addr(&value), &copy, sizeof copy));
  EXPECT_EQ(copy, value);
  EXPECT_FALSE(read_nofault(0, &copy, 8));
  EXPECT_FALSE(read_nofault(8, &copy, 8));
  std::string s;
  EXPECT_EQ(read_string_nofault(0x10, s, 16), -EFAULT);
}

TEST(SafeMemory, AStringEndingJustBeforeAnUnmappedPageIsRead) {
  char* pages = static_cast<char*>(
      mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(pages, MAP_FAILED);
  ASSERT_EQ(mprotect(pages + 4096, 4096, PROT_NONE), 0);
  std::memcpy(pages + 4096 - 3, "ab", 3);
  std::string s;
  EXPECT_EQ(read_string_nofault(addr(pages + 4096 - 3), s, 100), 3);
  EXPECT_EQ(s, "ab");
  std::memcpy(pages + 4096 - 2, "cd", 2);  // no NUL before the unmapped page
  EXPECT_EQ(read_string_nofault(addr(pages + 4096 - 2), s, 100), -EFAULT);
  munmap(pages, 8192);
}

}  // namespace
}  // namespace userbpf::helpers

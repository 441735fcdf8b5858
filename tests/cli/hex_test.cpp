#include "cli/hex.hpp"

#include <gtest/gtest.h>

namespace userbpf::cli {
namespace {

TEST(CliHex, ParsesCompactSpacedAndPrefixed) {
  const std::vector<uint8_t> expected = {0x00, 0x11, 0xaa, 0xbb};
  EXPECT_EQ(*parse_hex("0011aabb"), expected);
  EXPECT_EQ(*parse_hex("00 11 AA bb"), expected);
  EXPECT_EQ(*parse_hex("0x0011aabb"), expected);
  EXPECT_TRUE(parse_hex("")->empty());
}

TEST(CliHex, ErrorsNameTheOffset) {
  EXPECT_EQ(parse_hex("00zz").error().message, "invalid hex character 'z' at offset 2");
  EXPECT_EQ(parse_hex("0 1").error().message, "invalid hex character ' ' at offset 1");
  EXPECT_EQ(parse_hex("abc").error().message,
            "odd number of hex digits (last byte incomplete at offset 2)");
  EXPECT_EQ(parse_hex(std::string("a\x01", 2)).error().message,
            "invalid hex character byte 0x01 at offset 1");
}

TEST(CliHex, RoundTrip) {
  const std::vector<uint8_t> bytes = {0xde, 0xad, 0x00, 0x7f};
  EXPECT_EQ(to_hex(bytes), "dead007f");
  EXPECT_EQ(*parse_hex(to_hex(bytes)), bytes);
}

TEST(CliHex, DumpLayout) {
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 18; ++i) bytes.push_back(uint8_t('A' + i));
  // A short last row keeps the ASCII column aligned with the full rows.
  EXPECT_EQ(hex_dump(bytes),
            "0000000\t4142 4344 4546 4748 494a 4b4c 4d4e 4f50 | ABCDEFGH IJKLMNOP\n"
            "0000010\t5152 " +
                std::string(35, ' ') + "| QR\n");
}

}  // namespace
}  // namespace userbpf::cli

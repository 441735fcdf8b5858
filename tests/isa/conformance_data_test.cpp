#include "isa/conformance_data.hpp"

#include <gtest/gtest.h>

namespace userbpf::isa {
namespace {

TEST(ConformanceData, ParsesEverySection) {
  auto c = parse_conformance_data(
      "# Copyright header\n"
      "# SPDX-License-Identifier: MIT\n"
      "-- asm\n"
      "mov %r0, 1 # a comment\n"
      "exit\n"
      "-- mem\n"
      "aa bb # first\n"
      "cc0d\n"
      "-- result\n"
      "0x1122334455667788\n"
      "-- c\n"
      "int main() { return 0; } # ignored\n");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE(c->has_asm);
  EXPECT_EQ(c->asm_first_line, 4);
  EXPECT_EQ(c->asm_text, "mov %r0, 1 # a comment\nexit\n");
  EXPECT_EQ(c->memory, (std::vector<uint8_t>{0xaa, 0xbb, 0xcc, 0x0d}));
  ASSERT_TRUE(c->result);
  EXPECT_EQ(*c->result, 0x1122334455667788u);
  EXPECT_FALSE(c->error);
  EXPECT_FALSE(c->has_unknown_section);
  EXPECT_FALSE(c->has_raw);
}

TEST(ConformanceData, RawWordsAndByteLines) {
  auto words = parse_conformance_data("-- raw\n0x5566778800000018\n0x1122334400000000\n149\n");
  ASSERT_TRUE(words.ok());
  EXPECT_EQ(words->raw_words,
            (std::vector<uint64_t>{0x5566778800000018, 0x1122334400000000, 0x95}));
  const RawInsn first = raw_from_word(words->raw_words[0]);
  EXPECT_EQ(first.code, 0x18);
  EXPECT_EQ(first.imm, 0x55667788);
  EXPECT_EQ(word_from_raw(first), 0x5566778800000018u);

  auto bytes = parse_conformance_data(
      "-- raw\n07 00 01 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- error\n");
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->raw_words.size(), 2u);
  const RawInsn add = raw_from_word(bytes->raw_words[0]);
  EXPECT_EQ(add.code, 0x07);
  EXPECT_EQ(add.off, 1);
  EXPECT_EQ(add.imm, 1);
  EXPECT_EQ(raw_from_word(bytes->raw_words[1]).code, 0x95);
  ASSERT_TRUE(bytes->error);
  EXPECT_EQ(*bytes->error, "");  // present but empty
}

TEST(ConformanceData, ErrorTextIsTrimmed) {
  auto c = parse_conformance_data(
      "-- asm\nexit\n-- error\n\n  Invalid number of operands for lock  \n\n");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->error);
  EXPECT_EQ(*c->error, "Invalid number of operands for lock");
}

TEST(ConformanceData, UnknownSectionsAreRecorded) {
  auto c = parse_conformance_data(
      "-- asm\n-- Unknown directive\nwhatever\n-- error\nInvalid register\n");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->has_unknown_section);
  EXPECT_EQ(c->unknown_sections, (std::vector<std::string>{"Unknown directive"}));
  EXPECT_EQ(c->asm_text, "");
}

TEST(ConformanceData, MalformedFilesAreRefusedWithTheLine) {
  auto outside = parse_conformance_data("# ok\nmov %r0, 1\n");
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().where.line, 2);
  auto bad_raw = parse_conformance_data("-- raw\n0x95\nzz\n");
  ASSERT_FALSE(bad_raw.ok());
  EXPECT_EQ(bad_raw.error().where.line, 3);
  EXPECT_FALSE(parse_conformance_data("-- result\n1 2\n").ok());
  EXPECT_FALSE(parse_conformance_data("-- result\n0xg\n").ok());
  EXPECT_FALSE(parse_conformance_data("-- mem\nabc\n").ok());
  EXPECT_FALSE(parse_conformance_data("-- asm\n-- asm\n").ok());
}

}  // namespace
}  // namespace userbpf::isa

#include "isa/conformance_asm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "isa/conformance_data.hpp"

namespace userbpf::isa {
namespace {

namespace fs = std::filesystem;

const fs::path kSuite = fs::path(USERBPF_SHARED_DIR) / "conformance";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> data_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".data") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint64_t> words(const std::vector<RawInsn>& raw) {
  std::vector<uint64_t> out;
  for (const RawInsn& r : raw) out.push_back(word_from_raw(r));
  return out;
}

uint64_t word(const char* text) {
  auto raw = assemble(text);
  EXPECT_TRUE(raw.ok()) << text << ": " << (raw.ok() ? "" : raw.error().to_string());
  if (!raw.ok() || raw->size() != 1) {
    ADD_FAILURE() << text << " did not give one slot";
    return 0;
  }
  return word_from_raw((*raw)[0]);
}

TEST(ConformanceAsm, Encodings) {
  EXPECT_EQ(word("mov32 %r0, 0"), 0x00000000000000b4u);
  EXPECT_EQ(word("mov %r0, -1"), 0xffffffff000000b7u);
  EXPECT_EQ(word("add32 %r0, %r1"), 0x000000000000100cu);
  EXPECT_EQ(word("ldxh %r0, [%r1+2]"), 0x0000000000021069u);
  EXPECT_EQ(word("stxdw [%r10-8], %r3"), 0x00000000fff83a7bu);
  EXPECT_EQ(word("stdw [%r10-8], 0x11"), 0x00000011fff80a7au);
  EXPECT_EQ(word("stb [%r1], 1"), 0x0000000100000172u);
  EXPECT_EQ(word("jne %r0, 15, +1"), 0x0000000f00010055u);
  EXPECT_EQ(word("jeq %r1, 0x80000000, +1"), 0x8000000000010115u);
  EXPECT_EQ(word("jsge32 %r1, %r2, -3"), 0x00000000fffd217eu);
  EXPECT_EQ(word("ja32 +2"), 0x0000000200000006u);
  EXPECT_EQ(word("ja -1"), 0x00000000ffff0005u);
  EXPECT_EQ(word("lock fetch add [%r10-8], %r1"), 0x00000001fff81adbu);
  EXPECT_EQ(word("lock add32 [%r10-8], %r1"), 0x00000000fff81ac3u);
  EXPECT_EQ(word("lock cmpxchg [%r10-8], %r1"), 0x000000f1fff81adbu);
  EXPECT_EQ(word("lock xchg32 [%r10-8], %r1"), 0x000000e1fff81ac3u);
  EXPECT_EQ(word("be16 %r0"), 0x00000010000000dcu);
  EXPECT_EQ(word("le32 %r0"), 0x00000020000000d4u);
  EXPECT_EQ(word("bswap64 %r0"), 0x00000040000000d7u);
  EXPECT_EQ(word("swap16 %r0"), 0x00000010000000d7u);
  EXPECT_EQ(word("movsx1632 %r0, %r1"), 0x00000000001010bcu);
  EXPECT_EQ(word("movsx3264 %r0, %r1"), 0x00000000002010bfu);
  EXPECT_EQ(word("sdiv32 %r0, -3"), 0xfffffffd00010034u);
  EXPECT_EQ(word("smod %r0, %r1"), 0x000000000001109fu);
  EXPECT_EQ(word("ldxsb %r0, [%r10-1]"), 0x00000000ffffa091u);
  EXPECT_EQ(word("ldxsw %r0, [%r10-4]"), 0x00000000fffca081u);
  EXPECT_EQ(word("call 5"), 0x0000000500000085u);
  EXPECT_EQ(word("call kfunc 7"), 0x0000000700002085u);
  EXPECT_EQ(word("call %r2"), 0x000000000000028du);
  EXPECT_EQ(word("neg %r3"), 0x0000000000000387u);
  EXPECT_EQ(word("arsh32 %r0, 3"), 0x00000003000000c4u);
  EXPECT_EQ(word("exit"), 0x0000000000000095u);
  EXPECT_EQ(word(".raw 0x0000000100010007"), 0x0000000100010007u);

  auto lddw = assemble("lddw %r0, 0x1122334455667788");
  ASSERT_TRUE(lddw.ok());
  EXPECT_EQ(words(*lddw), (std::vector<uint64_t>{0x5566778800000018, 0x1122334400000000}));
  auto negative = assemble("lddw %r1, -1");
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(words(*negative), (std::vector<uint64_t>{0xffffffff00000118, 0xffffffff00000000}));
}

TEST(ConformanceAsm, LabelsCommentsAndImplicitExit) {
  auto raw = assemble(
      "# leading comment\n"
      "  mov %r0, 0   # trailing\n"
      "top: jeq %r0, 1, done\n"
      "call local sub\n"
      "ja top\n"
      "done:\n"
      "jne %r0, 0, exit\n"
      "exit\n"
      "sub:\n"
      "mov %r0, 1\n"
      "exit\n");
  ASSERT_TRUE(raw.ok()) << raw.error().to_string();
  ASSERT_EQ(raw->size(), 8u);
  EXPECT_EQ((*raw)[1].off, 2);  // top: -> done (slot 4)
  EXPECT_EQ((*raw)[2].imm, 3);  // call local sub (slot 6)
  EXPECT_EQ((*raw)[2].src_reg, BPF_PSEUDO_CALL);
  EXPECT_EQ((*raw)[3].off, -3);  // ja top (slot 1)
  EXPECT_EQ((*raw)[4].off, 0);   // jne ..., exit: the first exit is slot 5
}

struct BadCase {
  const char* text;
  const char* message;
  int line;
};

TEST(ConformanceAsm, ErrorsNameTheProblemAndLine) {
  const BadCase cases[] = {
      {"mov %r0, 1\nor %r0, %r11\n", "Invalid register '%r11'", 2},
      {"foo %r0\n", "Invalid mnemonic 'foo'", 1},
      {"exit\nja NOT_A_LABEL\n", "Invalid label 'NOT_A_LABEL'", 2},
      {"lock\n", "Invalid number of operands for lock", 1},
      {"lock or [%r10-8]\n", "Invalid number of operands for lock", 1},
      {"lock fetch [%r10-8], %r1\n", "Invalid number of operands for lock", 1},
      {"lock nand [%r10-8], %r1\n", "Invalid mnemonic 'lock nand'", 1},
      {"ldxb %r0, [%r1+0x10000]\n", "Invalid offset '0x10000'", 1},
      {"ldxb %r0, [%r1-32769]\n", "Invalid offset '-32769'", 1},
      {"ldxb %r0, %r1\n", "Invalid memory operand '%r1'", 1},
      {"mov32 %r0, 2147483648\n", "Invalid immediate '2147483648'", 1},
      {"mov32 %r0, 0x100000000\n", "Invalid immediate '0x100000000'", 1},
      {"mov32 %r0, -2147483649\n", "Invalid immediate '-2147483649'", 1},
      {"mov32 %r0, 12abc\n", "Invalid immediate '12abc'", 1},
      {"lddw %r0\n", "Invalid number of operands for lddw", 1},
      {"lddw %r0, 0x10000000000000000\n", "Invalid immediate '0x10000000000000000'", 1},
      {"exit %r0\n", "Invalid number of operands for exit", 1},
      {"mov %r0, 1, 2\n", "Invalid number of operands for mov", 1},
      {"jeq %r0, 1\n", "Invalid number of operands for jeq", 1},
      {"x:\nx:\n", "Duplicate label 'x'", 2},
      {"call sideways 1\n", "Invalid call mode 'sideways'", 1},
      {"mov %r01, 1\n", "Invalid register '%r01'", 1},
      {"ja +32768\n", "Invalid offset '+32768'", 1},
  };
  for (const BadCase& c : cases) {
    auto raw = assemble(c.text);
    ASSERT_FALSE(raw.ok()) << c.text;
    EXPECT_EQ(raw.error().code, Errc::assemble);
    EXPECT_EQ(raw.error().message, c.message) << c.text;
    EXPECT_EQ(raw.error().where.line, c.line) << c.text;
  }
  // Accepted edge values of the same rules.
  EXPECT_EQ(word("mov32 %r0, 0xffffffff"), 0xffffffff000000b4u);
  EXPECT_EQ(word("mov32 %r0, -2147483648"), 0x80000000000000b4u);
  EXPECT_EQ(word("mov32 %r0, 2147483647"), 0x7fffffff000000b4u);
  EXPECT_EQ(word("ldxb %r0, [%r1+0xffff]"), 0x00000000ffff1071u);
  EXPECT_EQ(word("ldxb %r0, [%r1-32768]"), 0x0000000080001071u);
  EXPECT_TRUE(assemble("").ok());
}

TEST(ConformanceAsm, DisassemblyRoundTripsAndUsesLabels) {
  const char* text =
      "mov %r1, 2\n"
      "jeq %r1, 2, +2\n"
      "call local +3\n"
      "ja32 -4\n"
      "lddw %r0, 0x1\n"
      "exit\n";
  auto raw = assemble(text);
  ASSERT_TRUE(raw.ok());
  const std::string back = disassemble(*raw);
  EXPECT_EQ(back,
            "L0:\n"
            "mov %r1, 2\n"
            "jeq %r1, 2, L4\n"
            "call local L6\n"
            "ja32 L0\n"
            "L4:\n"
            "lddw %r0, 0x1\n"
            "L6:\n"
            "exit\n");
  auto again = assemble(back);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(words(*again), words(*raw));
}

TEST(ConformanceAsm, InexpressibleSlotsUseRawAndStillRoundTrip) {
  std::vector<RawInsn> raw = {
      make_raw(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 1, 1),                // nonzero unused off
      make_raw(BPF_JMP | BPF_JCOND, 0, 0, 1, 0),                        // may_goto
      make_raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, 3),  // pseudo lddw
      make_raw(0, 0, 0, 0, 0),
      make_raw(BPF_JMP | BPF_JA, 0, 0, 100, 0),         // target out of range
      make_raw(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 3),  // lddw without tail
  };
  const std::string text = disassemble(raw);
  EXPECT_EQ(text,
            ".raw 0x0000000100010007\n"
            ".raw 0x00000000000100e5\n"
            ".raw 0x0000000300001118\n"
            ".raw 0x0000000000000000\n"
            "ja +100\n"
            ".raw 0x0000000300000118\n");
  auto back = assemble(text);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(words(*back), words(raw));
  EXPECT_FALSE(suite_expressible(raw, 0));
  EXPECT_FALSE(suite_expressible(raw, 2));
  EXPECT_FALSE(suite_expressible(raw, 3));
  EXPECT_TRUE(suite_expressible(raw, 4));
  EXPECT_FALSE(suite_expressible(raw, 5));
}

// Every suite file: the asm assembles, equals the raw section where there is one, and
// disassemble -> assemble reproduces the same slots.
TEST(ConformanceAsm, EverySuiteFileRoundTrips) {
  int assembled = 0, with_raw = 0;
  for (const fs::path& path : data_files(kSuite)) {
    SCOPED_TRACE(path.filename().string());
    auto c = parse_conformance_data(read_file(path));
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    ASSERT_TRUE(c->has_asm);
    auto raw = assemble(c->asm_text);
    ASSERT_TRUE(raw.ok()) << raw.error().to_string();
    ASSERT_FALSE(raw->empty());
    ++assembled;
    if (c->has_raw) {
      EXPECT_EQ(words(*raw), c->raw_words);
      ++with_raw;
    }
    const std::string text = disassemble(*raw);
    EXPECT_EQ(text.find(".raw"), std::string::npos) << text;
    auto again = assemble(text);
    ASSERT_TRUE(again.ok()) << again.error().to_string() << "\n" << text;
    EXPECT_EQ(words(*again), words(*raw)) << text;
  }
  EXPECT_EQ(assembled, 313);
  EXPECT_GE(with_raw, 1);
}

// The negative files that hold malformed assembly fail with the right message on the right line.
TEST(ConformanceAsm, NegativeFilesWithMalformedAssembly) {
  const std::map<std::string, std::string> expected = {
      {"invalid_imm32_dec_range.data", "Invalid immediate '2147483648'"},
      {"invalid_imm32_hex_range.data", "Invalid immediate '0x100000000'"},
      {"invalid_label.data", "Invalid label 'NOT_A_LABEL'"},
      {"invalid_lock.data", "Invalid number of operands for lock"},
      {"invalid_lock2.data", "Invalid number of operands for lock"},
      {"invalid_mnemonic.data", "Invalid mnemonic 'ldxq'"},
      {"invalid_offset.data", "Invalid memory operand '%r1'"},
      {"invalid_offset_range.data", "Invalid offset '0x10000'"},
      {"invalid_operand_count.data", "Invalid number of operands for lddw"},
      {"invalid_register.data", "Invalid register '%r50'"},
  };
  int checked = 0;
  for (const fs::path& path : data_files(kSuite / "negative")) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    auto c = parse_conformance_data(read_file(path));
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    auto it = expected.find(name);
    if (it == expected.end()) {
      // Everything else is well-formed assembly (or raw, or no program at all).
      if (c->has_asm && !c->has_unknown_section) {
        EXPECT_TRUE(assemble(c->asm_text).ok());
      }
      continue;
    }
    auto raw = assemble(c->asm_text);
    ASSERT_FALSE(raw.ok());
    EXPECT_EQ(raw.error().message, it->second);
    // In each of these files the first instruction line of the asm section is the bad one.
    int first_instruction = 0;
    std::istringstream lines(c->asm_text);
    std::string line;
    for (int n = 1; std::getline(lines, line); ++n) {
      line = line.substr(0, line.find('#'));
      if (line.find_first_not_of(" \t\r") != std::string::npos) {
        first_instruction = n;
        break;
      }
    }
    EXPECT_EQ(raw.error().where.line, first_instruction);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(expected.size()));
}

}  // namespace
}  // namespace userbpf::isa

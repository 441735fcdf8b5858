// The random program generator: determinism, well-formedness, coverage of the instruction set, and
// (where the kernel is available) that the Linux verifier accepts what it produces.
#include "support/random_program.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string>

#include "isa/decode.hpp"
#include "oracle/memory_run.hpp"
#include "oracle/skip_without_kernel.hpp"

namespace userbpf::testing {
namespace {

bool same_bytes(const std::vector<isa::RawInsn>& a, const std::vector<isa::RawInsn>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 8) == 0;
}

RandomProgramOptions varied_options(uint64_t seed) {
  RandomProgramOptions options;
  options.seed = seed;
  options.insn_count = 1 + seed % 120;
  options.memory_size = (seed * 7) % 97;  // includes 0 and sizes below 8
  return options;
}

TEST(RandomProgramTest, SameSeedGivesTheSameProgram) {
  for (uint64_t seed : {1ull, 42ull, 0xdeadbeefull}) {
    RandomProgramOptions options;
    options.seed = seed;
    const RandomProgram a = generate_random_program(options);
    const RandomProgram b = generate_random_program(options);
    EXPECT_TRUE(same_bytes(a.insns, b.insns));
    EXPECT_EQ(a.memory, b.memory);
  }
  RandomProgramOptions one, two;
  one.seed = 1;
  two.seed = 2;
  EXPECT_FALSE(same_bytes(generate_random_program(one).insns, generate_random_program(two).insns));
}

TEST(RandomProgramTest, ProgramsDecodeAndKeepTheBaseRegisters) {
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    const RandomProgramOptions options = varied_options(seed);
    const RandomProgram program = generate_random_program(options);
    ASSERT_EQ(program.memory.size(), options.memory_size);
    auto decoded = isa::decode(program.insns);
    ASSERT_TRUE(decoded.ok()) << "seed " << seed << ": " << decoded.error().to_string() << "\n"
                              << hex_listing(program.insns);
    ASSERT_GE(program.insns.size(), options.insn_count);
    ASSERT_EQ(decoded->insns.back().kind, isa::Kind::exit);
    bool seen_atomic = false;  // the stack area's initialization comes before any atomic
    for (size_t i = 0; i < decoded->size(); ++i) {
      const isa::Insn& insn = decoded->insns[i];
      seen_atomic = seen_atomic || insn.kind == isa::Kind::atomic;
      const bool writes_dst = insn.kind == isa::Kind::alu || insn.kind == isa::Kind::endian ||
                              insn.kind == isa::Kind::load || insn.kind == isa::Kind::lddw;
      if (writes_dst) {
        ASSERT_NE(insn.dst, 1) << "seed " << seed << " insn " << i;
      }
      if (insn.kind == isa::Kind::alu && isa::uses_reg_source(insn.opcode)) {
        ASSERT_TRUE(insn.src != 1 && insn.src != 10) << "seed " << seed << " insn " << i;
      }
      if (insn.kind == isa::Kind::load || insn.kind == isa::Kind::store_reg ||
          insn.kind == isa::Kind::store_imm) {
        const int base = insn.kind == isa::Kind::load ? insn.src : insn.dst;
        ASSERT_TRUE(base == 1 || base == 10) << "seed " << seed << " insn " << i;
        const bool in_range =
            base == 1 ? insn.off >= 0 && insn.off + insn.width <= int(options.memory_size)
                      : insn.off < 0 && insn.off % insn.width == 0 && insn.off >= -64;
        ASSERT_TRUE(in_range) << "seed " << seed << " insn " << i;
        if (base == 10 && insn.kind != isa::Kind::load && seen_atomic) {
          ASSERT_LE(insn.off, -32) << "plain store into the atomics' area, seed " << seed;
        }
      }
      if (insn.kind == isa::Kind::atomic) {
        ASSERT_EQ(insn.dst, 10);
      }
    }
  }
}

TEST(RandomProgramTest, InstructionClassesAreRespected) {
  for (uint64_t seed = 0; seed < 300; ++seed) {
    RandomProgramOptions options = varied_options(seed);
    options.classes = kAlu64 | kLddw;
    auto alu_only = isa::decode(generate_random_program(options).insns);
    ASSERT_TRUE(alu_only.ok());
    for (const isa::Insn& insn : alu_only->insns) {
      EXPECT_NE(insn.kind, isa::Kind::jump_cond);
      EXPECT_NE(insn.kind, isa::Kind::jump);
      EXPECT_NE(insn.kind, isa::Kind::atomic);
      EXPECT_NE(insn.kind, isa::Kind::endian);
    }
    options.classes = kJmp32;
    auto jmp32_only = isa::decode(generate_random_program(options).insns);
    ASSERT_TRUE(jmp32_only.ok());
    for (const isa::Insn& insn : jmp32_only->insns) {
      if (insn.kind == isa::Kind::jump_cond) {
        EXPECT_TRUE(isa::is_jmp32(insn.opcode));
      }
    }
  }
}

// Over a few hundred programs, every instruction form the generator promises shows up.
TEST(RandomProgramTest, CoversTheInstructionSet) {
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    RandomProgramOptions options;
    options.seed = seed;
    options.insn_count = 100;
    auto decoded = isa::decode(generate_random_program(options).insns);
    ASSERT_TRUE(decoded.ok());
    for (size_t i = 0; i < decoded->size(); ++i) {
      const isa::Insn& insn = decoded->insns[i];
      const uint8_t code = insn.opcode;
      char key[64];
      if (insn.kind == isa::Kind::alu || insn.kind == isa::Kind::jump_cond)
        std::snprintf(key, sizeof(key), "%02x/%d", code,
                      insn.off == 1 || insn.kind == isa::Kind::jump_cond ? 0 : insn.off);
      else
        std::snprintf(key, sizeof(key), "%02x", code);
      seen.insert(key);
      if (insn.kind == isa::Kind::alu && insn.off == 1) seen.insert(std::string("signed ") + key);
      if (insn.kind == isa::Kind::endian)
        seen.insert("end " + std::to_string(code) + "/" + std::to_string(insn.imm));
      if (insn.kind == isa::Kind::atomic) seen.insert("atomic " + std::to_string(insn.imm));
      if (insn.target >= 0 && insn.target <= static_cast<int32_t>(i)) seen.insert("backward");
    }
  }
  std::vector<std::string> missing;
  auto want = [&](const std::string& key) {
    if (!seen.count(key)) missing.push_back(key);
  };
  char key[32];
  for (uint8_t cls : {BPF_ALU, BPF_ALU64}) {
    for (uint8_t op : {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH,
                       BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH}) {
      for (uint8_t src : {BPF_K, BPF_X}) {
        std::snprintf(key, sizeof(key), "%02x/0", cls | op | src);
        want(key);
      }
    }
    std::snprintf(key, sizeof(key), "%02x/0", cls | BPF_NEG);
    want(key);
    for (uint8_t op : {BPF_DIV, BPF_MOD})
      for (uint8_t src : {BPF_K, BPF_X}) {
        std::snprintf(key, sizeof(key), "signed %02x/0", cls | op | src);
        want(key);
      }
    for (int from : {8, 16}) {
      std::snprintf(key, sizeof(key), "%02x/%d", cls | BPF_MOV | BPF_X, from);
      want(key);
    }
  }
  std::snprintf(key, sizeof(key), "%02x/32", BPF_ALU64 | BPF_MOV | BPF_X);
  want(key);
  for (uint8_t cls : {BPF_JMP, BPF_JMP32}) {
    for (uint8_t op : {BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT, BPF_JSGE, BPF_JLT,
                       BPF_JLE, BPF_JSLT, BPF_JSLE})
      for (uint8_t src : {BPF_K, BPF_X}) {
        std::snprintf(key, sizeof(key), "%02x/0", cls | op | src);
        want(key);
      }
    std::snprintf(key, sizeof(key), "%02x", cls | BPF_JA);
    want(key);
  }
  for (uint8_t size : {BPF_B, BPF_H, BPF_W, BPF_DW}) {
    for (uint8_t code : {uint8_t(BPF_LDX | BPF_MEM | size), uint8_t(BPF_ST | BPF_MEM | size),
                         uint8_t(BPF_STX | BPF_MEM | size)}) {
      std::snprintf(key, sizeof(key), "%02x", code);
      want(key);
    }
    if (size != BPF_DW) {
      std::snprintf(key, sizeof(key), "%02x", BPF_LDX | BPF_MEMSX | size);
      want(key);
    }
  }
  for (int bits : {16, 32, 64}) {
    want("end " + std::to_string(BPF_ALU | BPF_END | BPF_TO_LE) + "/" + std::to_string(bits));
    want("end " + std::to_string(BPF_ALU | BPF_END | BPF_TO_BE) + "/" + std::to_string(bits));
    want("end " + std::to_string(BPF_ALU64 | BPF_END | BPF_TO_LE) + "/" + std::to_string(bits));
  }
  for (int op : {BPF_ADD, BPF_AND, BPF_OR, BPF_XOR}) {
    want("atomic " + std::to_string(op));
    want("atomic " + std::to_string(op | BPF_FETCH));
  }
  want("atomic " + std::to_string(BPF_XCHG));
  want("atomic " + std::to_string(BPF_CMPXCHG));
  want("18");
  want("backward");
  std::string list;
  for (const std::string& m : missing) list += " [" + m + "]";
  EXPECT_TRUE(missing.empty()) << "never generated:" << list;
}

// Every generated program must pass the Linux verifier (as the body of run_memory_program); a
// refusal is a generator bug.
TEST(RandomProgramTest, LinuxVerifierAcceptsGeneratedPrograms) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const auto start = std::chrono::steady_clock::now();
  int refused = 0, runs = 0;
  std::string first_refusals;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const RandomProgramOptions options = varied_options(seed * 31 + 5);
    const RandomProgram program = generate_random_program(options);
    auto run = oracle::run_memory_program(program.insns, program.memory);
    ++runs;
    if (!run.ok()) {
      if (++refused <= 3)
        first_refusals += "seed " + std::to_string(options.seed) + ":\n" + run.error().to_string() +
                          "\n" + hex_listing(program.insns) + "\n";
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("kernel accepted %d of %d generated programs in %.2f s\n", runs - refused, runs,
              seconds);
  EXPECT_EQ(refused, 0) << first_refusals;
}

}  // namespace
}  // namespace userbpf::testing

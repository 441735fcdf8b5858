// Tests of the strict decoder: every rule of decode.cpp, checked against Linux's verifier rules
// (check_alu_op, do_check, check_atomic, resolve_pseudo_ldimm64, check_subprogs).
#include "isa/decode.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "isa/conformance_data.hpp"

namespace userbpf::isa {
namespace {

const RawInsn kExit = make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

// Decodes {insn, exit} and returns the error message, or "" when it decodes.
std::string refusal(RawInsn insn) {
  std::vector<RawInsn> raw = {insn, kExit};
  auto prog = decode(raw);
  return prog.ok() ? "" : prog.error().message;
}

bool accepted(RawInsn insn) {
  return refusal(insn).empty();
}

// The message starts with `why` (the rest lists the fields).
::testing::AssertionResult refused_as(RawInsn insn, const std::string& why) {
  const std::string message = refusal(insn);
  if (message.rfind(why, 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected '" << why << "...', got '" << message << "'";
}

TEST(Decode, RawFromBytes) {
  EXPECT_FALSE(raw_from_bytes({}).ok());
  const std::vector<uint8_t> seven(7, 0);
  auto bad = raw_from_bytes(seven);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "program length 7 is not a multiple of 8 bytes");
  const std::vector<uint8_t> bytes = {0xb7, 0x01, 0xf8, 0xff, 0x2a, 0, 0, 0,
                                      0x95, 0,    0,    0,    0,    0, 0, 0};
  auto raw = raw_from_bytes(bytes);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 2u);
  EXPECT_EQ((*raw)[0].code, 0xb7);
  EXPECT_EQ((*raw)[0].dst_reg, 1);
  EXPECT_EQ((*raw)[0].off, -8);
  EXPECT_EQ((*raw)[0].imm, 42);
  EXPECT_EQ((*raw)[1].code, 0x95);
}

TEST(Decode, EmptyProgram) {
  auto prog = decode(std::vector<RawInsn>{});
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().code, Errc::decode);
}

TEST(Decode, UnknownOpcodes) {
  for (uint8_t code : {uint8_t{0x00}, uint8_t{0xff}, uint8_t(BPF_ALU64 | 0xe0),
                       uint8_t(BPF_ALU64 | BPF_END | BPF_X), uint8_t(BPF_JMP32 | BPF_CALL),
                       uint8_t(BPF_JMP32 | BPF_EXIT), uint8_t(BPF_JMP | BPF_JA | BPF_X),
                       uint8_t(BPF_JMP32 | BPF_JCOND), uint8_t(BPF_JMP | 0xf0),
                       uint8_t(BPF_LDX | BPF_MEMSX | BPF_DW), uint8_t(BPF_LDX | BPF_IMM | BPF_W),
                       uint8_t(BPF_ST | BPF_ATOMIC | BPF_W), uint8_t(BPF_STX | BPF_IMM | BPF_W),
                       uint8_t(BPF_LD | BPF_ABS | BPF_DW), uint8_t(BPF_LD | BPF_IMM | BPF_W),
                       uint8_t(BPF_JMP | BPF_CALL | BPF_X)}) {
    EXPECT_TRUE(refused_as(make_raw(code, 0, 0, 0, 0), "unknown opcode")) << int(code);
  }
}

TEST(Decode, Registers) {
  EXPECT_TRUE(
      refused_as(make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 11, 0, 0, 0), "invalid register r11"));
  EXPECT_TRUE(
      refused_as(make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 1, 15, 0, 0), "invalid register r15"));
  EXPECT_TRUE(accepted(make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0)));  // reading r10 is fine
}

TEST(Decode, WritesToFramePointer) {
  const char* why = "frame pointer r10 is read only";
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_ADD | BPF_K, 10, 0, 0, 8), why));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU | BPF_END | BPF_TO_BE, 10, 0, 0, 16), why));
  EXPECT_TRUE(refused_as(make_raw(BPF_LDX | BPF_MEM | BPF_DW, 10, 1, 0, 0), why));
  EXPECT_TRUE(refused_as(make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 1, 0, BPF_LOAD_ACQ), why));
  // Fetching atomics write their source register.
  EXPECT_TRUE(
      refused_as(make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 10, 0, BPF_ADD | BPF_FETCH), why));
  EXPECT_TRUE(refused_as(make_raw(BPF_STX | BPF_ATOMIC | BPF_W, 1, 10, 0, BPF_XCHG), why));
  // cmpxchg writes r0, not its source; a plain atomic add writes no register.
  EXPECT_TRUE(accepted(make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 10, 0, BPF_CMPXCHG)));
  EXPECT_TRUE(accepted(make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 1, -8, BPF_ADD)));
  // Stores through r10 are the normal stack access.
  EXPECT_TRUE(accepted(make_raw(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -8, 0)));
  EXPECT_TRUE(accepted(make_raw(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 1)));
  std::vector<RawInsn> lddw = {make_raw(BPF_LD | BPF_IMM | BPF_DW, 10, 0, 0, 1),
                               make_raw(0, 0, 0, 0, 0), kExit};
  auto prog = decode(lddw);
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().message, why);
  EXPECT_EQ(prog.error().where.insn, 0);
}

TEST(Decode, AluReservedFields) {
  const char* alu = "BPF_ALU uses reserved fields";
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 1, 1), alu));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_ADD | BPF_K, 0, 1, 0, 1), alu));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU | BPF_ADD | BPF_X, 0, 1, 0, 1), alu));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU | BPF_ADD | BPF_X, 0, 1, 1, 0), alu));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_DIV | BPF_X, 0, 1, 2, 0), alu));
  EXPECT_TRUE(accepted(make_raw(BPF_ALU64 | BPF_DIV | BPF_X, 0, 1, 1, 0)));  // sdiv
  EXPECT_TRUE(accepted(make_raw(BPF_ALU | BPF_MOD | BPF_K, 0, 0, 1, 3)));    // smod32
  EXPECT_TRUE(
      accepted(make_raw(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 0, 0)));  // div by 0: verifier's job

  const char* neg = "BPF_NEG uses reserved fields";
  EXPECT_TRUE(accepted(make_raw(BPF_ALU64 | BPF_NEG, 0, 0, 0, 0)));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_NEG | BPF_X, 0, 0, 0, 0), neg));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_NEG, 0, 1, 0, 0), neg));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU | BPF_NEG, 0, 0, 1, 0), neg));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU | BPF_NEG, 0, 0, 0, 1), neg));

  const char* mov = "BPF_MOV uses reserved fields";
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 0, 1), mov));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 1, 0), mov));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 32, 0), mov));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 1, 0, 0), mov));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 8, 0), mov));
  for (int16_t off : {8, 16, 32})
    EXPECT_TRUE(accepted(make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, off, 0)));
  for (int16_t off : {8, 16})
    EXPECT_TRUE(accepted(make_raw(BPF_ALU | BPF_MOV | BPF_X, 0, 1, off, 0)));
}

TEST(Decode, EndianRules) {
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU | BPF_END | BPF_TO_LE, 0, 1, 0, 16),
                         "BPF_END uses reserved fields"));
  EXPECT_TRUE(refused_as(make_raw(BPF_ALU | BPF_END | BPF_TO_LE, 0, 0, 1, 16),
                         "BPF_END uses reserved fields"));
  EXPECT_TRUE(
      refused_as(make_raw(BPF_ALU64 | BPF_END, 0, 0, 0, 8), "BPF_END uses an invalid width"));
  for (int32_t w : {16, 32, 64}) {
    auto prog = decode(std::vector<RawInsn>{make_raw(BPF_ALU64 | BPF_END, 0, 0, 0, w), kExit});
    ASSERT_TRUE(prog.ok());
    EXPECT_EQ(prog->insns[0].kind, Kind::endian);
    EXPECT_EQ(prog->insns[0].width, w);
  }
}

TEST(Decode, JumpRules) {
  const char* ja = "BPF_JA uses reserved fields";
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_JA, 1, 0, 0, 0), ja));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_JA, 0, 1, 0, 0), ja));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_JA, 0, 0, 0, 1), ja));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP32 | BPF_JA, 0, 0, 1, 0), ja));
  const char* cond = "BPF_JMP/JMP32 uses reserved fields";
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_JEQ | BPF_X, 0, 1, 0, 1), cond));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP32 | BPF_JGT | BPF_K, 0, 1, 0, 1), cond));
  const char* jcond = "BPF_JCOND uses reserved fields";
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_JCOND, 1, 0, 0, 0), jcond));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_JCOND, 0, 1, 0, 0), jcond));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_JCOND, 0, 0, 0, 1), jcond));
  const char* exit_why = "BPF_EXIT uses reserved fields";
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_EXIT, 1, 0, 0, 0), exit_why));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_EXIT, 0, 1, 0, 0), exit_why));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_EXIT, 0, 0, 1, 0), exit_why));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 1), exit_why));
}

TEST(Decode, CallRules) {
  const char* call = "BPF_CALL uses reserved fields";
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_CALL, 1, 0, 0, 1), call));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_CALL, 0, 3, 0, 1), call));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_CALL, 0, 0, 1, 1), call));
  EXPECT_TRUE(refused_as(make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 1, 0), call));
  // kfunc calls carry the module BTF fd index in off.
  auto prog = decode(
      std::vector<RawInsn>{make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 2, 1234), kExit});
  ASSERT_TRUE(prog.ok()) << prog.error().to_string();
  EXPECT_EQ(prog->insns[0].call, CallKind::kfunc);
  EXPECT_EQ(prog->insns[0].imm, 1234);
  EXPECT_EQ(prog->insns[0].target, -1);
  auto helper = decode(std::vector<RawInsn>{make_raw(BPF_JMP | BPF_CALL, 0, 0, 0, 1), kExit});
  ASSERT_TRUE(helper.ok());
  EXPECT_EQ(helper->insns[0].call, CallKind::helper);
}

TEST(Decode, MemoryRules) {
  EXPECT_TRUE(
      refused_as(make_raw(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 0, 1), "BPF_LDX uses reserved fields"));
  EXPECT_TRUE(refused_as(make_raw(BPF_LDX | BPF_MEMSX | BPF_B, 0, 1, 0, 1),
                         "BPF_LDX uses reserved fields"));
  EXPECT_TRUE(
      refused_as(make_raw(BPF_STX | BPF_MEM | BPF_W, 1, 2, 0, 1), "BPF_STX uses reserved fields"));
  EXPECT_TRUE(
      refused_as(make_raw(BPF_ST | BPF_MEM | BPF_W, 1, 2, 0, 1), "BPF_ST uses reserved fields"));
  auto prog =
      decode(std::vector<RawInsn>{make_raw(BPF_LDX | BPF_MEMSX | BPF_H, 3, 1, -2, 0), kExit});
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(prog->insns[0].kind, Kind::load);
  EXPECT_EQ(prog->insns[0].width, 2);
  EXPECT_EQ(prog->insns[0].off, -2);
}

TEST(Decode, AtomicRules) {
  EXPECT_TRUE(refused_as(make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, BPF_SUB),
                         "BPF_ATOMIC uses invalid atomic opcode"));
  EXPECT_TRUE(refused_as(make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, BPF_XCHG & ~BPF_FETCH),
                         "BPF_ATOMIC uses invalid atomic opcode"));
  EXPECT_TRUE(refused_as(make_raw(BPF_STX | BPF_ATOMIC | BPF_B, 1, 2, 0, BPF_ADD),
                         "invalid atomic operand size"));
  EXPECT_TRUE(refused_as(make_raw(BPF_STX | BPF_ATOMIC | BPF_H, 1, 2, 0, BPF_CMPXCHG),
                         "invalid atomic operand size"));
  for (int32_t op : {BPF_ADD, BPF_AND, BPF_OR, BPF_XOR}) {
    EXPECT_TRUE(accepted(make_raw(BPF_STX | BPF_ATOMIC | BPF_W, 1, 2, 0, op)));
    EXPECT_TRUE(accepted(make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, op | BPF_FETCH)));
  }
  EXPECT_TRUE(accepted(make_raw(BPF_STX | BPF_ATOMIC | BPF_B, 1, 2, 0, BPF_LOAD_ACQ)));
  EXPECT_TRUE(accepted(make_raw(BPF_STX | BPF_ATOMIC | BPF_H, 1, 2, 0, BPF_STORE_REL)));
}

TEST(Decode, PacketLoadRules) {
  const char* why = "BPF_LD_[ABS|IND] uses reserved fields";
  EXPECT_TRUE(refused_as(make_raw(BPF_LD | BPF_ABS | BPF_W, 1, 0, 0, 4), why));
  EXPECT_TRUE(refused_as(make_raw(BPF_LD | BPF_ABS | BPF_W, 0, 0, 1, 4), why));
  EXPECT_TRUE(refused_as(make_raw(BPF_LD | BPF_ABS | BPF_W, 0, 1, 0, 4), why));
  EXPECT_TRUE(accepted(make_raw(BPF_LD | BPF_IND | BPF_W, 0, 1, 0, 4)));
}

std::vector<RawInsn> lddw_prog(uint8_t dst, uint8_t src, int16_t off, int32_t lo, RawInsn tail) {
  return {make_raw(BPF_LD | BPF_IMM | BPF_DW, dst, src, off, lo), tail, kExit};
}

TEST(Decode, LddwRules) {
  auto ok = decode(lddw_prog(1, 0, 0, 0x55667788, make_raw(0, 0, 0, 0, 0x11223344)));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->insns[0].kind, Kind::lddw);
  EXPECT_EQ(ok->insns[0].imm64, 0x1122334455667788);
  EXPECT_EQ(ok->insns[0].next_imm, 0x11223344);
  EXPECT_TRUE(ok->insns[1].is_lddw_tail());
  EXPECT_FALSE(ok->insns[2].is_lddw_tail());

  auto missing =
      decode(std::vector<RawInsn>{kExit, make_raw(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1)});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().where.insn, 1);
  EXPECT_NE(missing.error().message.find("missing its second slot"), std::string::npos);

  for (RawInsn tail : {make_raw(1, 0, 0, 0, 0), make_raw(0, 1, 0, 0, 0), make_raw(0, 0, 1, 0, 0),
                       make_raw(0, 0, 0, 1, 0)}) {
    auto bad = decode(lddw_prog(0, 0, 0, 1, tail));
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().where.insn, 1);
    EXPECT_NE(bad.error().message.find("second slot uses reserved fields"), std::string::npos);
  }
  auto off = decode(lddw_prog(0, 0, 1, 1, make_raw(0, 0, 0, 0, 0)));
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.error().where.insn, 0);
  EXPECT_NE(off.error().message.find("BPF_LD_IMM64 uses reserved fields"), std::string::npos);
  auto src = decode(lddw_prog(0, 7, 0, 1, make_raw(0, 0, 0, 0, 0)));
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.error().message.find("unknown src_reg"), std::string::npos);

  // Pseudo forms: map fd / idx must leave the second imm zero; map value carries an offset there.
  for (uint8_t s : {uint8_t{BPF_PSEUDO_MAP_FD}, uint8_t{BPF_PSEUDO_MAP_IDX}}) {
    EXPECT_TRUE(decode(lddw_prog(1, s, 0, 3, make_raw(0, 0, 0, 0, 0))).ok());
    EXPECT_FALSE(decode(lddw_prog(1, s, 0, 3, make_raw(0, 0, 0, 0, 8))).ok());
  }
  for (uint8_t s : {uint8_t{BPF_PSEUDO_MAP_VALUE}, uint8_t{BPF_PSEUDO_MAP_IDX_VALUE},
                    uint8_t{BPF_PSEUDO_BTF_ID}}) {
    auto prog = decode(lddw_prog(1, s, 0, 3, make_raw(0, 0, 0, 0, 8)));
    ASSERT_TRUE(prog.ok()) << int(s);
    EXPECT_EQ(prog->insns[0].src, s);
    EXPECT_EQ(prog->insns[0].next_imm, 8);
  }
}

TEST(Decode, PseudoFuncLddwResolvesItsTarget) {
  std::vector<RawInsn> raw = {make_raw(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_FUNC, 0, 1),
                              make_raw(0, 0, 0, 0, 0), kExit, kExit};
  auto prog = decode(raw);
  ASSERT_TRUE(prog.ok()) << prog.error().to_string();
  EXPECT_EQ(prog->insns[0].target, 2);  // like a call: i + imm + 1
  raw[0].imm = 2;
  auto last = decode(raw);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->insns[0].target, 3);
  raw[0].imm = 3;
  auto past = decode(raw);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().message, "jump out of range from insn 0 to 4");
  raw[0].imm = 0;  // onto its own tail
  auto tail = decode(raw);
  ASSERT_FALSE(tail.ok());
  EXPECT_EQ(tail.error().message, "jump from insn 0 into the middle of ldimm64 insn 0");
}

TEST(Decode, JumpTargets) {
  std::vector<RawInsn> raw = {
      make_raw(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 2, 0),         // 0 -> 3
      make_raw(BPF_JMP32 | BPF_JA, 0, 0, 0, 1),                // 1 -> 3 (gotol)
      make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2),  // 2 -> 5
      make_raw(BPF_JMP | BPF_JCOND, 0, 0, -4, 0),              // 3 -> 0 (may_goto)
      make_raw(BPF_JMP | BPF_JA, 0, 0, -5, 0),                 // 4 -> 0
      kExit,                                                   // 5
  };
  auto prog = decode(raw);
  ASSERT_TRUE(prog.ok()) << prog.error().to_string();
  EXPECT_EQ(prog->insns[0].target, 3);
  EXPECT_EQ(prog->insns[1].target, 3);
  EXPECT_EQ(prog->insns[2].target, 5);
  EXPECT_EQ(prog->insns[2].call, CallKind::local);
  EXPECT_EQ(prog->insns[3].target, 0);
  EXPECT_EQ(prog->insns[4].target, 0);
  EXPECT_EQ(prog->insns[5].target, -1);

  auto out_of_range = [&](size_t at, RawInsn insn) {
    std::vector<RawInsn> copy = raw;
    copy[at] = insn;
    auto p = decode(copy);
    if (p.ok()) return std::string("decoded");
    EXPECT_EQ(p.error().where.insn, static_cast<int64_t>(at));
    return p.error().message;
  };
  EXPECT_EQ(out_of_range(0, make_raw(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 5, 0)),
            "jump out of range from insn 0 to 6");
  EXPECT_EQ(out_of_range(0, make_raw(BPF_JMP | BPF_JA, 0, 0, -2, 0)),
            "jump out of range from insn 0 to -1");
  EXPECT_EQ(out_of_range(1, make_raw(BPF_JMP32 | BPF_JA, 0, 0, 0, 1000000)),
            "jump out of range from insn 1 to 1000002");
  EXPECT_EQ(out_of_range(2, make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 3)),
            "jump out of range from insn 2 to 6");
  EXPECT_EQ(out_of_range(3, make_raw(BPF_JMP | BPF_JCOND, 0, 0, 2, 0)),
            "jump out of range from insn 3 to 6");
}

TEST(Decode, JumpIntoLddwTail) {
  std::vector<RawInsn> raw = {make_raw(BPF_JMP | BPF_JA, 0, 0, 1, 0),
                              make_raw(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1),
                              make_raw(0, 0, 0, 0, 0), kExit};
  auto prog = decode(raw);
  ASSERT_FALSE(prog.ok());
  EXPECT_EQ(prog.error().message, "jump from insn 0 into the middle of ldimm64 insn 1");
  EXPECT_EQ(prog.error().where.insn, 0);
  raw[0].off = 2;  // just past the tail is fine
  EXPECT_TRUE(decode(raw).ok());
}

// Every `unused-*` negative file of the conformance suite sets a field that must be zero.
TEST(Decode, ConformanceUnusedFieldFilesAreRefused) {
  namespace fs = std::filesystem;
  int refused = 0;
  for (const auto& entry :
       fs::directory_iterator(fs::path(USERBPF_SHARED_DIR) / "conformance" / "negative")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("unused-", 0) != 0) continue;
    SCOPED_TRACE(name);
    std::ifstream in(entry.path());
    std::ostringstream text;
    text << in.rdbuf();
    auto c = parse_conformance_data(text.str());
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    ASSERT_TRUE(c->has_raw);
    auto prog = decode(raw_from_words(c->raw_words));
    ASSERT_FALSE(prog.ok());
    EXPECT_EQ(prog.error().code, Errc::decode);
    EXPECT_EQ(prog.error().where.insn, 0);
    ++refused;
  }
  EXPECT_EQ(refused, 45);
}

}  // namespace
}  // namespace userbpf::isa

#include "isa/disasm.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "isa/decode.hpp"

namespace userbpf::isa {
namespace {

// Decodes `raw` (which must be valid) and formats instruction 0.
std::string text_of(std::vector<RawInsn> raw, const DisasmOptions& options = {}) {
  auto prog = decode(raw);
  EXPECT_TRUE(prog.ok()) << (prog.ok() ? "" : prog.error().to_string());
  if (!prog.ok()) return "<decode error>";
  return format_insn(*prog, 0, options);
}

std::string one(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return text_of({make_raw(code, dst, src, off, imm), make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
}

TEST(Disasm, Alu) {
  EXPECT_EQ(one(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), "r0 = 0");
  EXPECT_EQ(one(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, -1), "r0 = -1");
  EXPECT_EQ(one(BPF_ALU | BPF_ADD | BPF_X, 0, 1, 0, 0), "w0 += w1");
  EXPECT_EQ(one(BPF_ALU64 | BPF_SUB | BPF_X, 2, 3, 0, 0), "r2 -= r3");
  EXPECT_EQ(one(BPF_ALU64 | BPF_MUL | BPF_K, 2, 0, 0, 7), "r2 *= 7");
  EXPECT_EQ(one(BPF_ALU64 | BPF_DIV | BPF_K, 2, 0, 0, 7), "r2 /= 7");
  EXPECT_EQ(one(BPF_ALU64 | BPF_OR | BPF_K, 2, 0, 0, 7), "r2 |= 7");
  EXPECT_EQ(one(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 7), "r2 &= 7");
  EXPECT_EQ(one(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 7), "r2 <<= 7");
  EXPECT_EQ(one(BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 7), "r2 >>= 7");
  EXPECT_EQ(one(BPF_ALU | BPF_ARSH | BPF_K, 2, 0, 0, 7), "w2 s>>= 7");
  EXPECT_EQ(one(BPF_ALU64 | BPF_MOD | BPF_X, 2, 4, 0, 0), "r2 %= r4");
  EXPECT_EQ(one(BPF_ALU64 | BPF_XOR | BPF_X, 2, 4, 0, 0), "r2 ^= r4");
  EXPECT_EQ(one(BPF_ALU64 | BPF_NEG, 3, 0, 0, 0), "r3 = -r3");
  EXPECT_EQ(one(BPF_ALU | BPF_NEG, 3, 0, 0, 0), "w3 = -w3");
}

TEST(Disasm, SignedDivModAndMovsx) {
  EXPECT_EQ(one(BPF_ALU64 | BPF_DIV | BPF_X, 0, 1, 1, 0), "r0 s/= r1");
  EXPECT_EQ(one(BPF_ALU64 | BPF_MOD | BPF_X, 0, 1, 1, 0), "r0 s%= r1");
  EXPECT_EQ(one(BPF_ALU | BPF_DIV | BPF_K, 0, 0, 1, -3), "w0 s/= -3");
  EXPECT_EQ(one(BPF_ALU | BPF_MOD | BPF_K, 0, 0, 1, 3), "w0 s%= 3");
  EXPECT_EQ(one(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 8, 0), "r0 = (s8)r1");
  EXPECT_EQ(one(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 16, 0), "r0 = (s16)r1");
  EXPECT_EQ(one(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 32, 0), "r0 = (s32)r1");
  EXPECT_EQ(one(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 8, 0), "w0 = (s8)w1");
  EXPECT_EQ(one(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 16, 0), "w0 = (s16)w1");
}

TEST(Disasm, Endian) {
  EXPECT_EQ(one(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 16), "r0 = be16 r0");
  EXPECT_EQ(one(BPF_ALU | BPF_END | BPF_TO_LE, 0, 0, 0, 32), "r0 = le32 r0");
  EXPECT_EQ(one(BPF_ALU | BPF_END | BPF_TO_BE, 5, 0, 0, 64), "r5 = be64 r5");
  EXPECT_EQ(one(BPF_ALU64 | BPF_END | BPF_TO_LE, 0, 0, 0, 16), "r0 = bswap16 r0");
  EXPECT_EQ(one(BPF_ALU64 | BPF_END | BPF_TO_LE, 1, 0, 0, 64), "r1 = bswap64 r1");
}

TEST(Disasm, LoadsAndStores) {
  EXPECT_EQ(one(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 4, 0), "r0 = *(u32 *)(r1 +4)");
  EXPECT_EQ(one(BPF_LDX | BPF_MEM | BPF_B, 0, 1, 0, 0), "r0 = *(u8 *)(r1 +0)");
  EXPECT_EQ(one(BPF_LDX | BPF_MEM | BPF_DW, 0, 10, -8, 0), "r0 = *(u64 *)(r10 -8)");
  EXPECT_EQ(one(BPF_LDX | BPF_MEMSX | BPF_H, 0, 1, 2, 0), "r0 = *(s16 *)(r1 +2)");
  EXPECT_EQ(one(BPF_LDX | BPF_MEMSX | BPF_B, 0, 1, 2, 0), "r0 = *(s8 *)(r1 +2)");
  EXPECT_EQ(one(BPF_LDX | BPF_MEMSX | BPF_W, 0, 1, 2, 0), "r0 = *(s32 *)(r1 +2)");
  EXPECT_EQ(one(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -8, 0), "*(u64 *)(r10 -8) = r1");
  EXPECT_EQ(one(BPF_STX | BPF_MEM | BPF_H, 1, 2, 6, 0), "*(u16 *)(r1 +6) = r2");
  EXPECT_EQ(one(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, -7), "*(u32 *)(r10 -4) = -7");
  EXPECT_EQ(one(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 4), "r0 = *(u8 *)skb[4]");
  EXPECT_EQ(one(BPF_LD | BPF_IND | BPF_W, 0, 3, 0, 8), "r0 = *(u32 *)skb[r3 + 8]");
}

TEST(Disasm, Atomics) {
  const uint8_t dw = BPF_STX | BPF_ATOMIC | BPF_DW, w = BPF_STX | BPF_ATOMIC | BPF_W;
  EXPECT_EQ(one(dw, 10, 1, -8, BPF_ADD), "lock *(u64 *)(r10 -8) += r1");
  EXPECT_EQ(one(w, 10, 1, -8, BPF_AND), "lock *(u32 *)(r10 -8) &= r1");
  EXPECT_EQ(one(dw, 10, 1, -8, BPF_OR), "lock *(u64 *)(r10 -8) |= r1");
  EXPECT_EQ(one(dw, 10, 1, -8, BPF_XOR), "lock *(u64 *)(r10 -8) ^= r1");
  EXPECT_EQ(one(dw, 10, 0, -8, BPF_ADD | BPF_FETCH),
            "r0 = atomic64_fetch_add((u64 *)(r10 -8), r0)");
  EXPECT_EQ(one(w, 10, 2, -8, BPF_XOR | BPF_FETCH), "r2 = atomic_fetch_xor((u32 *)(r10 -8), r2)");
  EXPECT_EQ(one(dw, 10, 2, -8, BPF_CMPXCHG), "r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r2)");
  EXPECT_EQ(one(w, 10, 2, -8, BPF_XCHG), "r2 = atomic_xchg((u32 *)(r10 -8), r2)");
  EXPECT_EQ(one(dw, 0, 1, 0, BPF_LOAD_ACQ), "r0 = load_acquire((u64 *)(r1 +0))");
  EXPECT_EQ(one(w, 1, 2, 4, BPF_STORE_REL), "store_release((u32 *)(r1 +4), r2)");
}

TEST(Disasm, JumpsCallsExit) {
  const RawInsn exit_insn = make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  std::vector<RawInsn> raw(8, exit_insn);
  raw[0] = make_raw(BPF_JMP | BPF_JGT | BPF_K, 1, 0, 3, 5);
  raw[1] = make_raw(BPF_JMP32 | BPF_JNE | BPF_X, 1, 2, 1, 0);
  raw[2] = make_raw(BPF_JMP | BPF_JSLT | BPF_K, 1, 0, 0, -1);
  raw[3] = make_raw(BPF_JMP | BPF_JA, 0, 0, -2, 0);
  raw[4] = make_raw(BPF_JMP32 | BPF_JA, 0, 0, 0, 2);
  raw[5] = make_raw(BPF_JMP | BPF_JCOND, 0, 0, 1, 0);
  auto prog = decode(raw);
  ASSERT_TRUE(prog.ok()) << prog.error().to_string();
  EXPECT_EQ(format_insn(*prog, 0), "if r1 > 0x5 goto pc+3");
  EXPECT_EQ(format_insn(*prog, 1), "if w1 != w2 goto pc+1");
  EXPECT_EQ(format_insn(*prog, 2), "if r1 s< 0xffffffff goto pc+0");
  EXPECT_EQ(format_insn(*prog, 3), "goto pc-2");
  EXPECT_EQ(format_insn(*prog, 4), "gotol pc+2");
  EXPECT_EQ(format_insn(*prog, 5), "may_goto pc+1");
  EXPECT_EQ(format_insn(*prog, 6), "exit");

  EXPECT_EQ(one(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
            "call bpf_map_lookup_elem#1");
  EXPECT_EQ(one(BPF_JMP | BPF_CALL, 0, 0, 0, 211), "call bpf_cgrp_storage_delete#211");
  EXPECT_EQ(one(BPF_JMP | BPF_CALL, 0, 0, 0, 5000), "call unknown#5000");
  EXPECT_EQ(one(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 77), "call kernel-function#77");
  DisasmOptions named;
  named.kfunc_name = [](const Insn&) { return std::optional<std::string>("bpf_obj_new_impl"); };
  EXPECT_EQ(
      text_of({make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 77), exit_insn}, named),
      "call bpf_obj_new_impl#77");
  EXPECT_EQ(text_of({make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 1), exit_insn, exit_insn}),
            "call pc+1");
}

TEST(Disasm, Lddw) {
  const RawInsn exit_insn = make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  const uint8_t lddw = BPF_LD | BPF_IMM | BPF_DW;
  EXPECT_EQ(
      text_of({make_raw(lddw, 0, 0, 0, 0x55667788), make_raw(0, 0, 0, 0, 0x11223344), exit_insn}),
      "r0 = 0x1122334455667788");
  EXPECT_EQ(text_of({make_raw(lddw, 3, 0, 0, -1), make_raw(0, 0, 0, 0, 0), exit_insn}),
            "r3 = 0xffffffff");
  EXPECT_EQ(
      text_of({make_raw(lddw, 1, BPF_PSEUDO_MAP_FD, 0, 7), make_raw(0, 0, 0, 0, 0), exit_insn}),
      "r1 = map[id:7]");
  EXPECT_EQ(
      text_of({make_raw(lddw, 1, BPF_PSEUDO_MAP_VALUE, 0, 7), make_raw(0, 0, 0, 0, 16), exit_insn}),
      "r1 = map[id:7][0]+16");
  EXPECT_EQ(text_of({make_raw(lddw, 1, BPF_PSEUDO_MAP_IDX_VALUE, 0, 2), make_raw(0, 0, 0, 0, 4),
                     exit_insn}),
            "r1 = map[idx:2]+4");
  EXPECT_EQ(text_of({make_raw(lddw, 2, BPF_PSEUDO_FUNC, 0, 1), make_raw(0, 0, 0, 0, 0), exit_insn,
                     exit_insn}),
            "r2 = subprog[+1]");
  DisasmOptions hidden;
  hidden.allow_ptr_leaks = false;
  EXPECT_EQ(
      text_of({make_raw(lddw, 1, BPF_PSEUDO_MAP_FD, 0, 7), make_raw(0, 0, 0, 0, 0), exit_insn},
              hidden),
      "r1 = 0x0");
  DisasmOptions named;
  named.lddw_text = [](const Insn& d) -> std::optional<std::string> {
    if (d.src != BPF_PSEUDO_MAP_FD) return std::nullopt;
    return "map[counters]";
  };
  EXPECT_EQ(
      text_of({make_raw(lddw, 1, BPF_PSEUDO_MAP_FD, 0, 7), make_raw(0, 0, 0, 0, 0), exit_insn},
              named),
      "r1 = map[counters]");
}

TEST(Disasm, DumpXlatedLikeBpftool) {
  std::vector<RawInsn> raw = {
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
      make_raw(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 0x55667788),
      make_raw(0, 0, 0, 0, 0x11223344),
      make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  auto prog = decode(raw);
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(dump_xlated(*prog),
            "   0: (b7) r0 = 0\n"
            "   1: (18) r1 = 0x1122334455667788\n"
            "   3: (95) exit\n");
  DisasmOptions opcodes;
  opcodes.opcodes = true;
  EXPECT_EQ(dump_xlated(*prog, opcodes),
            "   0: (b7) r0 = 0\n"
            "       b7 00 00 00 00 00 00 00\n"
            "   1: (18) r1 = 0x1122334455667788\n"
            "       18 01 00 00 88 77 66 55 00 00 00 00 44 33 22 11\n"
            "   3: (95) exit\n"
            "       95 00 00 00 00 00 00 00\n");
  // Wide programs: the index grows past four columns without truncation.
  std::vector<RawInsn> many(10001, make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  many.back() = make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  auto big = decode(many);
  ASSERT_TRUE(big.ok());
  const std::string text = dump_xlated(*big);
  EXPECT_NE(text.find("\n 999: (b7) r0 = 0\n1000: (b7)"), std::string::npos);
  EXPECT_NE(text.find("\n10000: (95) exit\n"), std::string::npos);
}

TEST(Disasm, LddwTailFormatsEmpty) {
  auto prog = decode(std::vector<RawInsn>{make_raw(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1),
                                          make_raw(0, 0, 0, 0, 0),
                                          make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(format_insn(*prog, 1), "");
}

}  // namespace
}  // namespace userbpf::isa

// Instruction pairs the JIT emits as one (src/jit/emit_fused.cpp): `x <<= 32; x >>= 32` as a
// 32-bit move and `x <<= 32; x s>>= 32` as a sign-extending one, a conditional jump over a goto
// as one inverted jump, and the cases that must stay two instructions (a jump landing between
// them, another register, another count).
#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

constexpr uint64_t kValue = 0xfedcba9887654321ull;

size_t code_size(const std::vector<RawInsn>& code) {
  auto loaded = load(code, true);
  EXPECT_TRUE(loaded.ok());
  if (!loaded.ok()) return 0;
  const vm::NativeCode& native = *loaded->native();
  return native.insn_offsets.back();
}

TEST(JitFused, ZeroAndSignExtensionPairs) {
  for (uint8_t right : {uint8_t{BPF_RSH}, uint8_t{BPF_ARSH}}) {
    for (uint8_t r = 0; r <= 9; ++r) {
      SCOPED_TRACE("r" + std::to_string(r) + (right == BPF_RSH ? " >>" : " s>>"));
      Builder p;
      p.lddw(r, kValue).alu64_imm(BPF_LSH, r, 32).alu64_imm(right, r, 32);
      if (r != 0) p.mov64_reg(0, r);
      p.exit();
      EngineResult out = expect_same(p.finish());
      ASSERT_TRUE(out.ok);
      EXPECT_EQ(out.r0, right == BPF_RSH ? 0x87654321ull : 0xffffffff87654321ull);
    }
  }
}

TEST(JitFused, PairIsOneMove) {
  Builder fused, unfused;
  fused.lddw(3, kValue).alu64_imm(BPF_LSH, 3, 32).alu64_imm(BPF_RSH, 3, 32);
  unfused.lddw(3, kValue).alu64_imm(BPF_LSH, 3, 32).alu64_imm(BPF_RSH, 3, 31);
  fused.mov64_reg(0, 3).exit();
  unfused.mov64_reg(0, 3).exit();
  // `mov edx, edx` is 2 bytes where the two shifts take 8.
  EXPECT_EQ(code_size(unfused.finish()) - code_size(fused.finish()), 6u);
}

// A jump to the second shift must see the first one's result only on the path through it.
TEST(JitFused, JumpBetweenTheShiftsKeepsBoth) {
  for (int32_t take : {0, 1}) {
    SCOPED_TRACE(take);
    Builder p;
    p.lddw(0, kValue).mov64_imm(2, take).jmp_imm(BPF_JEQ, 2, 1, "second");
    p.alu64_imm(BPF_LSH, 0, 32).label("second").alu64_imm(BPF_RSH, 0, 32).exit();
    EngineResult out = expect_same(p.finish());
    ASSERT_TRUE(out.ok);
    EXPECT_EQ(out.r0, take ? kValue >> 32 : 0x87654321ull);
  }
}

TEST(JitFused, NonPairsStayApart) {
  Builder p;  // different registers, counts and orders: each must compute its own shifts
  p.lddw(1, kValue).mov64_reg(2, 1).mov64_reg(3, 1).mov64_reg(4, 1);
  p.alu64_imm(BPF_LSH, 1, 32).alu64_imm(BPF_RSH, 2, 32);  // two registers
  p.alu64_imm(BPF_LSH, 3, 31).alu64_imm(BPF_RSH, 3, 32);  // other count
  p.alu64_imm(BPF_RSH, 4, 32).alu64_imm(BPF_LSH, 4, 32);  // other order
  p.mov64_reg(0, 1).alu64_reg(BPF_XOR, 0, 2).alu64_reg(BPF_XOR, 0, 3).alu64_reg(BPF_XOR, 0, 4);
  p.exit();
  EngineResult out = expect_same(p.finish());
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.r0,
            (kValue << 32) ^ (kValue >> 32) ^ ((kValue << 31) >> 32) ^ ((kValue >> 32) << 32));
}

// `if c goto +1; goto far` for every condition, both widths and both operand kinds, with operands
// on either side of the comparison: the inverted jump must go to `far` exactly when c is false.
TEST(JitFused, InvertedJumpEveryCondition) {
  const uint8_t conditions[] = {BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
                                BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
  const uint64_t lefts[] = {
      0, 4, 5, 6, 0xffffffffffffffffull, 0x8000000000000005ull, 0x100000005ull};
  for (uint8_t op : conditions) {
    for (uint8_t cls : {uint8_t{BPF_JMP}, uint8_t{BPF_JMP32}}) {
      for (bool regsrc : {false, true}) {
        for (uint64_t left : lefts) {
          SCOPED_TRACE(::testing::Message() << "op " << int{op} << " cls " << int{cls} << " reg "
                                            << regsrc << " left " << left);
          Builder p;
          p.lddw(1, left).mov64_imm(2, 5).mov64_imm(0, 7);
          if (regsrc)
            p.jmp_reg(op, 1, 2, "taken", cls);
          else
            p.jmp_imm(op, 1, 5, "taken", cls);
          p.ja("far").label("taken").mov64_imm(0, 1).exit();
          p.label("far").mov64_imm(0, 2).exit();
          EngineResult out = expect_same(p.finish());
          ASSERT_TRUE(out.ok);
          EXPECT_TRUE(out.r0 == 1 || out.r0 == 2) << out.r0;
        }
      }
    }
  }
}

// clang's loop latch: `if i == n goto +1; goto head`, backward, as one jump.
TEST(JitFused, InvertedJumpLoop) {
  Builder p;
  p.mov64_imm(0, 0).mov64_imm(1, 0).label("head").alu64_imm(BPF_ADD, 0, 3);
  p.alu64_imm(BPF_ADD, 1, 1).jmp_imm(BPF_JEQ, 1, 10, "out").ja("head");
  p.label("out").exit();
  EngineResult out = expect_same(p.finish());
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.r0, 30u);
}

// A jump that lands on the goto needs it: the pair stays two jumps there, and both paths work.
TEST(JitFused, JumpToTheGotoKeepsIt) {
  auto program = [](bool land_on_goto, int32_t r9, int32_t r1) {
    Builder p;
    p.mov64_imm(0, 0).mov64_imm(9, r9).mov64_imm(1, r1);
    p.jmp_imm(BPF_JEQ, 9, 1, land_on_goto ? "goto" : "compare");
    p.label("compare").jmp_imm(BPF_JGT, 1, 3, "over");
    p.label("goto").ja("far").label("over").mov64_imm(0, 1).exit();
    p.label("far").mov64_imm(0, 2).exit();
    return p.finish();
  };
  for (bool land : {false, true}) {
    for (int32_t r9 : {0, 1}) {
      for (int32_t r1 : {3, 4}) {
        SCOPED_TRACE(::testing::Message() << "land " << land << " r9 " << r9 << " r1 " << r1);
        EngineResult out = expect_same(program(land, r9, r1));
        ASSERT_TRUE(out.ok);
        EXPECT_EQ(out.r0, (land && r9 == 1) || r1 == 3 ? 2u : 1u);
      }
    }
  }
  // The same instructions; only where the first jump lands differs, so the kept goto is all the
  // difference: a forward jmp rel32.
  EXPECT_EQ(code_size(program(true, 0, 3)) - code_size(program(false, 0, 3)), 5u);
}

// clang's unsigned remainder `a = b; a /= c; a *= c; b -= a` as one divide, for every register
// choice (b and c may be r0 or r3, which x86's divide uses), operands below and above 2^32 and a
// zero divisor: every register afterwards as the interpreter has it (all ten are stored to the
// stack and folded into r0).
std::vector<RawInsn> remainder_program(uint8_t a, uint8_t b, uint8_t c, uint64_t vb, uint64_t vc,
                                       bool land_inside) {
  Builder p;
  for (uint8_t r = 0; r <= 9; ++r) p.lddw(r, 0x1111111111111111ull * r + 5);
  p.lddw(b, vb);
  if (c != b) p.lddw(c, vc);
  if (land_inside) p.jmp_imm(BPF_JEQ, 10, 0, "mid");
  p.mov64_reg(a, b).alu64_reg(BPF_DIV, a, c).label("mid").alu64_reg(BPF_MUL, a, c);
  p.alu64_reg(BPF_SUB, b, a);
  for (uint8_t r = 0; r <= 9; ++r) p.stx(BPF_DW, 10, r, static_cast<int16_t>(-8 * (r + 1)));
  p.mov64_imm(0, 0);
  for (uint8_t r = 0; r <= 9; ++r) {
    p.ldx(BPF_DW, 1, 10, static_cast<int16_t>(-8 * (r + 1)));
    p.alu64_imm(BPF_MUL, 0, 31).alu64_reg(BPF_XOR, 0, 1);
  }
  return p.exit().finish();
}

TEST(JitFused, RemainderEveryRegisterChoice) {
  const std::pair<uint64_t, uint64_t> operands[] = {
      {100, 7}, {100, 0}, {0x100000007ull, 3}, {~0ull, 0x100000003ull}, {5, 0x100000000ull}};
  for (uint8_t a = 0; a <= 9; ++a) {
    for (uint8_t b = 0; b <= 9; ++b) {
      for (uint8_t c = 0; c <= 9; ++c) {
        if (a == b || a == c) continue;
        for (const auto& [vb, vc] : operands) {
          SCOPED_TRACE(::testing::Message() << "a r" << int{a} << " b r" << int{b} << " c r"
                                            << int{c} << " " << vb << " % " << vc);
          EngineResult out = expect_same(remainder_program(a, b, c, vb, vc, false));
          ASSERT_TRUE(out.ok);
        }
      }
    }
  }
}

// The four instructions become one divide without the multiply; a jump landing inside keeps them.
TEST(JitFused, RemainderIsOneDivide) {
  auto size = [](bool land) { return code_size(remainder_program(4, 0, 5, 100, 7, land)); };
  auto loaded = load(remainder_program(4, 0, 5, 100, 7, false), true);
  ASSERT_TRUE(loaded.ok());
  const vm::NativeCode& native = *loaded->native();
  const std::vector<uint8_t> code(native.code, native.code + native.code_size);
  // No imul r64, r64 (REX.W 0F AF) is left in the fused form.
  bool has_imul_reg = false;
  for (size_t i = 0; i + 2 < code.size(); ++i)
    if ((code[i] & 0xf8) == 0x48 && code[i + 1] == 0x0f && code[i + 2] == 0xaf) has_imul_reg = true;
  EXPECT_FALSE(has_imul_reg);
  EXPECT_LT(size(false) + 4, size(true));  // the not-taken jump (4 bytes short) aside
  for (bool land : {false, true}) {
    EngineResult out = expect_same(remainder_program(4, 0, 5, 100, 7, land));
    ASSERT_TRUE(out.ok);
  }
}

// `a = b; a += c` and `a = b; a += imm` as one lea, and `a = b; a += c; a += imm` as lea and add,
// for every register choice (c may be a itself, which holds b after the copy, or r10) and
// immediates of both signs: every register afterwards as the interpreter has it.
std::vector<RawInsn> copy_add_program(uint8_t a, uint8_t b, int c, int32_t imm) {
  Builder p;
  for (uint8_t r = 0; r <= 9; ++r) p.lddw(r, 0x0123456789abcdefull * (r + 1));
  p.mov64_reg(a, b);
  if (c < 0) {
    p.alu64_imm(BPF_ADD, a, imm);
  } else {
    p.alu64_reg(BPF_ADD, a, static_cast<uint8_t>(c));
    if (imm != 0) p.alu64_imm(BPF_ADD, a, imm);
  }
  if (a != 0) p.mov64_reg(0, a);
  // r10 differs between runs: where it was added, keep only the rest.
  if (b == 10 || c == 10) p.alu64_reg(BPF_SUB, 0, 10);
  for (uint8_t r = 1; r <= 9; ++r)
    if (r != a) p.alu64_imm(BPF_MUL, 0, 31).alu64_reg(BPF_XOR, 0, r);  // a is in r0 already
  return p.exit().finish();
}

TEST(JitFused, CopyAddEveryRegisterChoice) {
  for (uint8_t a = 0; a <= 9; ++a) {
    for (uint8_t b = 0; b <= 10; ++b) {
      if (a == b) continue;
      for (int c = -1; c <= 10; ++c) {
        for (int32_t imm : {0, 44, -8, INT32_MIN, INT32_MAX}) {
          if (b == 10 && (c == 10 || c == a)) continue;  // r10 twice: differs between runs
          SCOPED_TRACE(::testing::Message()
                       << "a r" << int{a} << " b r" << int{b} << " c " << c << " imm " << imm);
          EngineResult out = expect_same(copy_add_program(a, b, c, imm));
          ASSERT_TRUE(out.ok);
        }
      }
    }
  }
}

// The copy is gone: `mov rcx, rdi; add rcx, 44` (7 bytes) is `lea rcx, [rdi+44]` (4 bytes).
TEST(JitFused, CopyAddIsOneLea) {
  Builder fused, other;
  fused.mov64_reg(4, 1).alu64_imm(BPF_ADD, 4, 44).mov64_reg(0, 4).exit();
  other.mov64_reg(4, 1).alu64_imm(BPF_ADD, 1, 44).mov64_reg(0, 4).exit();  // adds to another
  EXPECT_EQ(code_size(other.finish()) - code_size(fused.finish()), 3u);
}

// `a = b; a += c; a += 1` is two instructions (lea a, [b + 1]; add a, c) at the first eBPF one.
TEST(JitFused, CopyAddAddIsLeaAndAdd) {
  Builder p;
  p.mov64_imm(1, 5).mov64_imm(2, 7);
  p.mov64_reg(4, 1).alu64_reg(BPF_ADD, 4, 2).alu64_imm(BPF_ADD, 4, 1).mov64_reg(0, 4).exit();
  const std::vector<RawInsn> code = p.finish();
  auto jit = load(code, true);
  ASSERT_TRUE(jit.ok()) << jit.error().to_string();
  const auto& at = jit->native()->insn_offsets;
  EXPECT_EQ(at[3], at[2]);
  EXPECT_EQ(at[4], at[2]);
  // lea rcx, [rdi+1] (4 bytes) and add rcx, rsi (3 bytes).
  EXPECT_EQ(at[5] - at[2], 7u);
  EXPECT_EQ(expect_same(code).r0, 13u);
}

// `a = b; a += c` and an access through a: b is the memory (or r10, c a negative offset), c = 8.
// `after` 0 replaces a (the access folds to [b + c + off]), 1 reads it (a keeps the sum, no
// fold). Every register then goes to memory, relative to the pointer where it holds one.
enum class Access { load, load_signed, store, store_imm };
std::vector<RawInsn> indexed_access_program(Access kind, uint8_t size, uint8_t a, uint8_t b,
                                            uint8_t c, uint8_t other, int after) {
  Builder p;
  const uint8_t base = b == 10 ? 9 : b;  // the register that keeps the memory's address
  if (base != 1) p.mov64_reg(base, 1);
  for (uint8_t r = 0; r <= 9; ++r)
    if (r != base) p.lddw(r, 0x8123456789abcdefull * (r + 1));
  if (b == 10) {
    for (int16_t off = -48; off < 0; off += 8) p.st(BPF_DW, 10, off, off * 0x1111);
    p.mov64_imm(c, -40);
  } else {
    p.mov64_imm(c, 8);
  }
  p.mov64_reg(a, b).alu64_reg(BPF_ADD, a, c);
  const int16_t off = 3;
  switch (kind) {
    case Access::load: p.ldx(size, other, a, off); break;
    case Access::load_signed: p.ldxsx(size, other, a, off); break;
    case Access::store: p.stx(size, a, other, off); break;
    case Access::store_imm: p.st(size, a, off, -0x5a5a5a5b); break;
  }
  if (after == 0)
    p.mov64_imm(a, 77);
  else
    p.alu64_reg(BPF_SUB, a, b);  // the sum less the pointer: c
  if (b == 10)                   // what the stores left on the stack
    for (int16_t off = -48; off < 0; off += 8)
      p.ldx(BPF_DW, 0, 10, off).stx(BPF_DW, base, 0, 160 + off);
  for (uint8_t r = 0; r <= 9; ++r)
    if (r != base) p.stx(BPF_DW, base, r, static_cast<int16_t>(32 + 8 * r));
  return p.mov64_imm(0, 0).exit().finish();
}

TEST(JitFused, IndexedAccessEveryRegisterChoice) {
  std::vector<uint8_t> memory(160);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(0x93 * i + 0x41);
  size_t fused = 0, apart = 0;
  for (Access kind : {Access::load, Access::load_signed, Access::store, Access::store_imm}) {
    for (uint8_t size : {uint8_t{BPF_B}, uint8_t{BPF_H}, uint8_t{BPF_W}, uint8_t{BPF_DW}}) {
      if (kind == Access::load_signed && size == BPF_DW) continue;
      for (uint8_t a = 0; a <= 9; ++a) {
        for (uint8_t b = 0; b <= 10; ++b) {
          for (uint8_t c = 0; c <= 9; ++c) {
            const uint8_t base = b == 10 ? 9 : b;
            if (a == b || c == a || c == base || a == base) continue;
            if ((a * 7 + b * 3 + c) % 3 != 0) continue;  // a third of the choices of c
            for (uint8_t other = 0; other <= 9; ++other) {
              // The loaded or stored register: any but the pointer's (a store of a is not
              // fused, a load into a replaces it); a few choices per combination suffice.
              if (other == base || (other != a && other != c && other != (a + 1) % 10)) continue;
              for (int after : {0, 1}) {
                const bool reads = kind == Access::load || kind == Access::load_signed;
                if (after == 1 && reads && other == a) continue;  // a holds the value read
                SCOPED_TRACE(::testing::Message()
                             << "kind " << int(kind) << " size " << int{size} << " a r" << int{a}
                             << " b r" << int{b} << " c r" << int{c} << " other r" << int{other}
                             << " after " << after);
                const auto code = indexed_access_program(kind, size, a, b, c, other, after);
                // A store of a writes the pointer, which differs between the runs: only its
                // code is checked (not fused).
                if (kind != Access::store || other != a) {
                  EngineResult out = expect_same(code, memory);
                  ASSERT_TRUE(out.ok) << out.error.to_string();
                }
                auto jit = load(code, true);
                ASSERT_TRUE(jit.ok());
                const auto& at = jit->native()->insn_offsets;
                // The copy's index: after the pointer move, 10 lddw less the base's (2 slots
                // each), the stack set-up and c.
                size_t copy = (base != 1) + 18 + (b == 10 ? 6 : 0) + 1;
                const bool folds =
                    !(kind == Access::store && other == a) && (after == 0 || (reads && other == a));
                EXPECT_EQ(at[copy + 2] == at[copy], folds);
                (folds ? fused : apart)++;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(fused, 0u);
  EXPECT_GT(apart, 0u);
}

// `a = b; a += c` and several accesses through a with other instructions between them (a load,
// a store and an add through another pointer, r4): all of them at [b + c + off] when a is
// replaced after the last; apart when a is read after it, or when an instruction between them
// writes c (the later accesses need the sum from before that write) or reads a.
enum class Between { others, writes_c, reads_a };
std::vector<RawInsn> several_accesses_program(Between between, bool read_after) {
  Builder p;
  p.mov64_imm(3, 8).mov64_reg(4, 1).alu64_imm(BPF_ADD, 4, 40);
  p.mov64_reg(5, 1).alu64_reg(BPF_ADD, 5, 3);  // the copy at index 3
  p.ldx(BPF_B, 0, 5, 0);
  p.ldx(BPF_B, 6, 4, 0);
  if (between == Between::writes_c) p.alu64_imm(BPF_ADD, 3, 1);
  if (between == Between::reads_a) p.mov64_reg(7, 5);
  p.stx(BPF_B, 5, 6, 1).stx(BPF_B, 4, 0, 0).alu64_imm(BPF_ADD, 4, -1);
  p.st(BPF_H, 5, 2, 0x1234).ldx(BPF_W, 8, 5, 4);
  if (read_after)
    p.mov64_reg(0, 5).alu64_reg(BPF_SUB, 0, 1);  // the sum less the pointer: c
  else
    p.mov64_imm(5, 77).mov64_reg(0, 8);
  p.alu64_reg(BPF_ADD, 0, 4).alu64_reg(BPF_SUB, 0, 1);
  if (between == Between::reads_a) p.alu64_reg(BPF_ADD, 0, 7).alu64_reg(BPF_SUB, 0, 1);
  return p.exit().finish();
}

TEST(JitFused, SeveralAccessesThroughOneSum) {
  std::vector<uint8_t> memory(64);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(0x35 * i + 7);
  for (Between between : {Between::others, Between::writes_c, Between::reads_a}) {
    for (bool read_after : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << "between " << int(between) << " read after " << read_after);
      const auto code = several_accesses_program(between, read_after);
      const EngineResult out = expect_same(code, memory);
      ASSERT_TRUE(out.ok) << out.error.to_string();
      auto jit = load(code, true);
      ASSERT_TRUE(jit.ok());
      const auto& at = jit->native()->insn_offsets;
      const size_t copy = 3;
      const bool folds = between == Between::others && !read_after;
      EXPECT_EQ(at[copy + 2] == at[copy], folds);
    }
  }
}

// Whether a is dead after the access is followed through a conditional jump (without the
// dataflow, a program with no map calls): a read on the jump's target or on its fall-through
// keeps the sum; replaced on both ways (one of them a goto), it folds.
enum class Reader { none, on_target, on_fall_through };
std::vector<RawInsn> sum_read_behind_a_jump(Reader reader, uint8_t byte) {
  Builder p;
  p.mov64_imm(3, 8).mov64_reg(5, 1).alu64_reg(BPF_ADD, 5, 3);  // the copy at index 1
  p.ldx(BPF_B, 0, 5, 0).jmp_imm(BPF_JEQ, 0, byte, "target");
  if (reader == Reader::on_fall_through)
    p.mov64_reg(0, 5).alu64_reg(BPF_SUB, 0, 1).exit();
  else
    p.mov64_imm(5, 1).ja("end");
  p.label("target");
  if (reader == Reader::on_target)
    p.mov64_reg(0, 5).alu64_reg(BPF_SUB, 0, 1).exit();
  else
    p.mov64_imm(5, 2);
  p.label("end").alu64_reg(BPF_ADD, 0, 5).exit();
  return p.finish();
}

TEST(JitFused, TheSumIsKeptForAReaderBehindAJump) {
  std::vector<uint8_t> memory(16);
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = static_cast<uint8_t>(i * 3);
  for (Reader reader : {Reader::none, Reader::on_target, Reader::on_fall_through}) {
    for (uint8_t byte : {memory[8], uint8_t(memory[8] + 1)}) {  // each way taken
      SCOPED_TRACE(::testing::Message() << "reader " << int(reader) << " byte " << int{byte});
      const auto code = sum_read_behind_a_jump(reader, byte);
      const EngineResult out = expect_same(code, memory);
      ASSERT_TRUE(out.ok) << out.error.to_string();
      auto jit = load(code, true);
      ASSERT_TRUE(jit.ok());
      const auto& at = jit->native()->insn_offsets;
      EXPECT_EQ(at[3] == at[1], reader == Reader::none);
    }
  }
}

// `k = imm; if k op x goto` and `if x op k goto` for every condition, both widths, both moves
// and immediates of both signs, against values of x around the constant: the jump as the
// interpreter takes it. With k read after the jump on one path (`read_after`) the move stays.
TEST(JitFused, ConstantCompareEveryCondition) {
  static constexpr uint8_t kConditions[] = {BPF_JEQ,  BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                                            BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};
  size_t fused = 0, apart = 0;
  for (uint8_t op : kConditions) {
    for (bool wide : {true, false}) {
      for (bool mov32 : {false, true}) {
        for (int32_t imm : {0, 5, -5, INT32_MIN, INT32_MAX}) {
          for (bool k_left : {true, false}) {
            for (int read_after : {0, 1, 2}) {  // 0 neither path, 1 the jump's, 2 fall-through
              for (int64_t dx : {-1, 0, 1}) {
                SCOPED_TRACE(::testing::Message() << "op " << int{op} << (wide ? " 64" : " 32")
                                                  << (mov32 ? " mov32" : "") << " imm " << imm
                                                  << (k_left ? " k left" : " k right") << " read "
                                                  << read_after << " x = imm + " << dx);
                const uint64_t x = static_cast<uint64_t>(int64_t{imm} + dx);
                Builder p;
                p.lddw(3, x).mov64_imm(0, 100);  // 0-2
                if (mov32)
                  p.alu32_imm(BPF_MOV, 4, imm);  // 3: k
                else
                  p.mov64_imm(4, imm);
                const uint8_t dst = k_left ? 4 : 3, src = k_left ? 3 : 4;
                p.jmp_reg(op, dst, src, "taken", wide ? BPF_JMP : BPF_JMP32);  // 4
                p.mov64_imm(0, 200).mov64_imm(4, 0);                           // 5-6: fall-through
                if (read_after == 2) p.alu64_reg(BPF_ADD, 0, 4).ja("end");
                p.label("taken");
                if (read_after == 1) p.alu64_reg(BPF_ADD, 0, 4);
                p.label("end").exit();
                const std::vector<RawInsn> code = p.finish();
                const std::vector<uint32_t> at = jit_offsets_of_same_run(code);
                ASSERT_FALSE(at.empty());
                const bool folds = read_after != 1 && !(wide && mov32 && imm < 0);
                EXPECT_EQ(at[4] == at[3], folds);
                (folds ? fused : apart)++;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(fused, 0u);
  EXPECT_GT(apart, 0u);
}

// `x = *(size *)(p + off); if x op imm goto` for every load size and condition, both jump widths,
// immediates inside and outside the load's unsigned range and of both signs, p as r10, another
// register and x itself, against memory around the immediate: the jump as the interpreter takes
// it. The pair is one compare of memory unless x is read after the jump or the immediate is out
// of a narrower load's range (jset excepted), or the load is no load at all.
TEST(JitFused, LoadCompareEverySizeAndCondition) {
  static constexpr uint8_t kConditions[] = {BPF_JEQ,  BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                                            BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};
  static constexpr uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
  static constexpr int32_t kImmediates[] = {
      0, 5, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000, -5, -0x80, INT32_MIN, INT32_MAX};
  size_t fused = 0, apart = 0;
  for (uint8_t size : kSizes) {
    const unsigned bytes = size == BPF_B ? 1 : size == BPF_H ? 2 : size == BPF_W ? 4 : 8;
    for (uint8_t op : kConditions) {
      for (bool wide : {true, false}) {
        for (int32_t imm : kImmediates) {
          for (int base : {10, 2, 4}) {
            for (int read_after : {0, 1, 2}) {  // 0 neither path, 1 the jump's, 2 fall-through
              for (int64_t dx : {-1, 0, 1}) {
                SCOPED_TRACE(::testing::Message()
                             << "bytes " << bytes << " op " << int{op} << (wide ? " 64" : " 32")
                             << " imm " << imm << " base r" << base << " read " << read_after
                             << " x = imm + " << dx);
                // Above the loaded bytes, bits that only a wrong width would see.
                const uint64_t x = static_cast<uint64_t>(int64_t{imm} + dx) ^
                                   (bytes < 8 ? uint64_t{0xa5} << (8 * bytes) : 0);
                Builder p;
                p.lddw(3, x).stx(BPF_DW, 10, 3, -8).mov64_imm(0, 100);  // 0-3
                size_t loaded_at = 4;
                int16_t off = -8;
                if (base != 10) {
                  p.mov64_reg(static_cast<uint8_t>(base), 10)
                      .alu64_imm(BPF_ADD, static_cast<uint8_t>(base), -8);
                  loaded_at = 6;
                  off = 0;
                }
                p.ldx(size, 4, static_cast<uint8_t>(base), off);
                p.jmp_imm(op, 4, imm, "taken", wide ? BPF_JMP : BPF_JMP32);
                p.mov64_imm(0, 200);  // fall-through
                if (read_after == 2) p.alu64_reg(BPF_ADD, 0, 4);
                p.exit();
                p.label("taken");
                if (read_after == 1) p.alu64_reg(BPF_ADD, 0, 4);
                p.exit();
                const std::vector<RawInsn> code = p.finish();
                const std::vector<uint32_t> at = jit_offsets_of_same_run(code);
                ASSERT_FALSE(at.empty());
                const uint64_t largest =
                    bytes == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1;
                const bool narrow = bytes < (wide ? 8u : 4u);
                const bool in_range = !narrow || op == BPF_JSET ||
                                      (imm >= 0 && static_cast<uint64_t>(imm) <= largest);
                // A u64 reload of the slot r3 was just stored to is taken from r3
                // (stack_forwarding.cpp): no load to fuse.
                const bool forwarded = bytes == 8 && base == 10;
                const bool folds = read_after == 0 && in_range && !forwarded;
                EXPECT_EQ(at[loaded_at + 1] == at[loaded_at], folds);
                (folds ? fused : apart)++;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(fused, 0u);
  EXPECT_GT(apart, 0u);
}

// `a = b; a <<= 32; a >>= 32` (and `s>>=`) for every register pair: b's low half, zero- or
// sign-extended, in a; b itself unchanged.
TEST(JitFused, CopyExtendEveryRegisterChoice) {
  for (uint8_t right : {uint8_t{BPF_RSH}, uint8_t{BPF_ARSH}}) {
    for (uint8_t a = 0; a <= 9; ++a) {
      for (uint8_t b = 0; b <= 9; ++b) {
        SCOPED_TRACE(::testing::Message()
                     << "a r" << int{a} << " b r" << int{b} << (right == BPF_RSH ? " >>" : " s>>"));
        Builder p;
        p.lddw(b, kValue).mov64_reg(a, b).alu64_imm(BPF_LSH, a, 32).alu64_imm(right, a, 32);
        p.mov64_reg(0, a).alu64_imm(BPF_MUL, 0, 3).alu64_reg(BPF_ADD, 0, b).exit();
        EngineResult out = expect_same(p.finish());
        ASSERT_TRUE(out.ok);
        const uint64_t low = right == BPF_RSH ? 0x87654321ull : 0xffffffff87654321ull;
        // r0 = a * 3 + b, where b is r0 itself (then a * 3 doubled) or a when they are one.
        EXPECT_EQ(out.r0, b == 0 ? low * 6 : a == b ? low * 4 : low * 3 + kValue);
      }
    }
  }
}

// The three are one move at the copy (`mov ecx, edi`, 2 bytes); a jump landing on the shifts
// keeps the copy apart.
TEST(JitFused, CopyExtendIsOneMove) {
  for (bool landing : {false, true}) {
    SCOPED_TRACE(landing ? "a jump lands on the shift" : "straight");
    Builder p;
    p.lddw(1, kValue).mov64_reg(4, 1).jmp_imm(BPF_JEQ, 1, 0, landing ? "shift" : "copy");  // 0-3
    p.label("copy").mov64_reg(4, 1);                                                       // 4
    p.label("shift").alu64_imm(BPF_LSH, 4, 32).alu64_imm(BPF_RSH, 4, 32);                  // 5-6
    p.mov64_reg(0, 4).exit();
    const std::vector<RawInsn> code = p.finish();
    auto jit = load(code, true);
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    const auto& at = jit->native()->insn_offsets;
    if (landing) {  // the copy apart, the shifts still one 32-bit move
      EXPECT_GT(at[5], at[4]);
      EXPECT_EQ(at[6], at[5]);
    } else {
      EXPECT_EQ(at[5], at[4]);
      EXPECT_EQ(at[6], at[4]);
      EXPECT_EQ(at[7] - at[4], 2u);
    }
    EXPECT_EQ(expect_same(code).r0, 0x87654321ull);
  }
}

}  // namespace
}  // namespace userbpf::jit::testing

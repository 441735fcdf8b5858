// Assembler and disassembler for the assembly syntax of the eBPF conformance suite
// (shared/conformance/*.data, `-- asm` sections), e.g.
//
//     mov32 %r0, 0              add %r0, %r1             ldxh %r0, [%r1+2]
//     stxdw [%r10-8], %r3       stw [%r1-4], 7           lddw %r0, 0x1122334455667788
//     jne %r0, 15, label        jeq %r1, 0x80000000, +1  ja32 +2
//     lock fetch add [%r10-8], %r1      lock cmpxchg32 [%r10-8], %r1      lock xchg [%r10-8], %r1
//     be16 %r0   le32 %r0   bswap64 %r0 (also swap64)    movsx1632 %r0, %r1 (movsx{8,16,32}{32,64})
//     sdiv32 %r0, -3   smod %r0, %r1   ldxsb %r0, [%r10-1]   neg %r0   arsh32 %r0, 3
//     call 5 (helper)   call local name   call %r2 (callx, opcode 0x8d, register in dst)   exit
//
// Labels are `name:` (alone on a line or before an instruction); the first `exit` instruction also
// defines the label `exit` unless the text defines it. `#` starts a comment anywhere. Numbers are
// decimal or `0x` hex with an optional sign. Range rules, as the suite's negative files require:
//   imm32:  decimal in [-2^31, 2^31-1]; hex up to 0xffffffff (a bit pattern); -0x up to -0x80000000
//   offset: decimal in [-32768, 32767]; hex up to 0xffff (a bit pattern); -0x up to -0x8000
//   lddw:   any value that fits 64 bits, signed or unsigned
// Extensions of userbpf, beyond the suite: `call helper N`, `call kfunc N` (also `call runtime N`,
// the reference assembler's name; BPF_PSEUDO_KFUNC_CALL), and `.raw WORD`, which emits one
// instruction slot given as a suite raw word (see conformance_data.hpp). The disassembler prints
// `.raw` for slots the suite syntax cannot express (nonzero unused fields, may_goto, LD_ABS/IND,
// pseudo lddw forms, ...), so that disassemble() is total and always assembles back.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::isa {

// Assembles suite syntax. Errors are Errc::assemble with Location::line the 1-based text line and
// messages such as `Invalid register '%r11'`, `Invalid mnemonic 'foo'`, `Invalid label 'x'`,
// `Invalid number of operands for lock`, `Invalid offset '0x10000'`, `Invalid immediate
// '2147483648'`, `Invalid memory operand '%r1'`, `Duplicate label 'x'`. The result is not decoded
// (it may hold encodings the decoder refuses, such as callx); an empty text gives an empty vector.
Result<std::vector<RawInsn>> assemble(std::string_view text);

// Prints instructions as suite syntax, one per line, with labels `L<slot>:` for jump and local
// call targets inside the program (other targets print as `+N`/`-N`). Assembling the text gives
// back exactly the same slots.
std::string disassemble(std::span<const RawInsn> insns);

// True when slot `index` disassembles to suite syntax rather than to the `.raw` extension (for an
// lddw, both slots are judged together; its tail gives the same answer as its head).
bool suite_expressible(std::span<const RawInsn> insns, size_t index);

}  // namespace userbpf::isa

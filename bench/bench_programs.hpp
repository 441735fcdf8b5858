// The interpreter benchmark programs, each as raw eBPF and as the native C++ it mirrors. Shared by
// bench_interp (timing), bench_interp_count (callgrind driver) and tests/vm (which checks that each
// program computes what its native twin computes, in both modes).
#pragma once

#include <cstdint>
#include <vector>

#include "raw_builder.hpp"

namespace userbpf::bench {

struct BenchCase {
  const char* name;
  std::vector<isa::RawInsn> code;
  uint64_t (*native)(uint64_t r1, uint64_t r2);
  bool uses_packet;  // r1 = packet address, r2 = its length; else r1 = arg
  uint64_t arg;
};

inline constexpr size_t kPacketSize = 1500;

// A deterministic 1500-byte "packet".
inline std::vector<uint8_t> bench_packet() {
  std::vector<uint8_t> packet(kPacketSize);
  uint32_t x = 0x12345678;
  for (uint8_t& b : packet) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  return packet;
}

// Primes below r1, by trial division.
inline uint64_t native_prime_count(uint64_t limit, uint64_t) {
  uint64_t count = 0;
  for (uint64_t n = 2; n < limit; ++n) {
    bool prime = true;
    for (uint64_t d = 2; d * d <= n; ++d)
      if (n % d == 0) {
        prime = false;
        break;
      }
    count += prime;
  }
  return count;
}

inline std::vector<isa::RawInsn> prime_count_program() {
  rawasm::Builder b;
  b.mov64_imm(0, 0).mov64_imm(2, 2);
  b.label("loop").jmp_reg(BPF_JGE, 2, 1, "end");
  b.mov64_imm(3, 2);
  b.label("inner").mov64_reg(4, 3).alu64_reg(BPF_MUL, 4, 3).jmp_reg(BPF_JGT, 4, 2, "prime");
  b.mov64_reg(5, 2).alu64_reg(BPF_MOD, 5, 3).jmp_imm(BPF_JEQ, 5, 0, "next");
  b.alu64_imm(BPF_ADD, 3, 1).ja("inner");
  b.label("prime").alu64_imm(BPF_ADD, 0, 1);
  b.label("next").alu64_imm(BPF_ADD, 2, 1).ja("loop");
  b.label("end").exit();
  return b.finish();
}

// 32-bit FNV-1a over the packet: one byte load per five ALU/jump instructions.
inline uint64_t native_packet_hash(uint64_t data, uint64_t len) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  uint32_t h = 0x811c9dc5u;
  for (uint64_t i = 0; i < len; ++i) {
    h ^= p[i];
    h *= 0x01000193u;
  }
  return h;
}

inline std::vector<isa::RawInsn> packet_hash_program() {
  rawasm::Builder b;
  b.alu32_imm(BPF_MOV, 0, static_cast<int32_t>(0x811c9dc5u));
  b.mov64_reg(3, 1).alu64_reg(BPF_ADD, 3, 2);
  b.label("loop").jmp_reg(BPF_JGE, 1, 3, "end");
  b.ldx(BPF_B, 4, 1, 0);
  b.alu32_reg(BPF_XOR, 0, 4).alu32_imm(BPF_MUL, 0, 0x01000193);
  b.alu64_imm(BPF_ADD, 1, 1).ja("loop");
  b.label("end").exit();
  return b.finish();
}

// A switch over i & 7 compiled as a chain of compares, for i below r1.
inline uint64_t native_switch_chain(uint64_t n, uint64_t) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; ++i) {
    switch (i & 7) {
      case 0: acc += 3; break;
      case 1: acc ^= 0x55; break;
      case 2: acc *= 3; break;
      case 3: acc -= 7; break;
      case 4: acc >>= 1; break;
      case 5: acc += 1000; break;
      case 6: acc <<= 2; break;
      default: acc += i; break;
    }
  }
  return acc;
}

inline std::vector<isa::RawInsn> switch_chain_program() {
  rawasm::Builder b;
  b.mov64_imm(0, 0).mov64_imm(6, 0);
  b.label("loop").jmp_reg(BPF_JGE, 6, 1, "end");
  b.mov64_reg(2, 6).alu64_imm(BPF_AND, 2, 7);
  for (int c = 0; c < 7; ++c) b.jmp_imm(BPF_JEQ, 2, c, "c" + std::to_string(c));
  b.alu64_reg(BPF_ADD, 0, 6).ja("next");
  b.label("c0").alu64_imm(BPF_ADD, 0, 3).ja("next");
  b.label("c1").alu64_imm(BPF_XOR, 0, 0x55).ja("next");
  b.label("c2").alu64_imm(BPF_MUL, 0, 3).ja("next");
  b.label("c3").alu64_imm(BPF_SUB, 0, 7).ja("next");
  b.label("c4").alu64_imm(BPF_RSH, 0, 1).ja("next");
  b.label("c5").alu64_imm(BPF_ADD, 0, 1000).ja("next");
  b.label("c6").alu64_imm(BPF_LSH, 0, 2);
  b.label("next").alu64_imm(BPF_ADD, 6, 1).ja("loop");
  b.label("end").exit();
  return b.finish();
}

// Three nested bpf-to-bpf calls per iteration; the callees reuse r6, which the caller must get
// back intact.
inline uint64_t native_f3(uint64_t x) {
  return x * 3 + 7;
}
inline uint64_t native_f2(uint64_t x) {
  return native_f3(x << 1) ^ x;
}
inline uint64_t native_f1(uint64_t x) {
  return native_f2(x + 1) + x;
}
inline uint64_t native_call_chain(uint64_t n, uint64_t) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; ++i) acc += native_f1(i);
  return acc;
}

inline std::vector<isa::RawInsn> call_chain_program() {
  rawasm::Builder b;
  b.mov64_imm(6, 0).mov64_imm(7, 0).mov64_reg(8, 1);
  b.label("loop").jmp_reg(BPF_JGE, 6, 8, "end");
  b.mov64_reg(1, 6).call_local("f1").alu64_reg(BPF_ADD, 7, 0);
  b.alu64_imm(BPF_ADD, 6, 1).ja("loop");
  b.label("end").mov64_reg(0, 7).exit();
  b.label("f1").mov64_reg(6, 1).alu64_imm(BPF_ADD, 1, 1).call_local("f2");
  b.alu64_reg(BPF_ADD, 0, 6).exit();
  b.label("f2").mov64_reg(6, 1).alu64_imm(BPF_LSH, 1, 1).call_local("f3");
  b.alu64_reg(BPF_XOR, 0, 6).exit();
  b.label("f3").mov64_reg(0, 1).alu64_imm(BPF_MUL, 0, 3).alu64_imm(BPF_ADD, 0, 7).exit();
  return b.finish();
}

// Fills 32 stack slots and sums them back, r1 times.
inline uint64_t native_stack_loop(uint64_t n, uint64_t) {
  uint64_t acc = 0;
  uint64_t slots[32];
  for (uint64_t i = 0; i < n; ++i) {
    for (uint64_t j = 0; j < 32; ++j) slots[j] = j * i;
    for (uint64_t j = 0; j < 32; ++j) acc = (acc + slots[j]) ^ j;
  }
  return acc;
}

inline std::vector<isa::RawInsn> stack_loop_program() {
  rawasm::Builder b;
  b.mov64_imm(0, 0).mov64_imm(6, 0);
  b.label("outer").jmp_reg(BPF_JGE, 6, 1, "end");
  b.mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -256).mov64_imm(3, 0);
  b.label("fill").jmp_imm(BPF_JGE, 3, 32, "filled");
  b.mov64_reg(4, 3).alu64_reg(BPF_MUL, 4, 6).stx(BPF_DW, 2, 4, 0);
  b.alu64_imm(BPF_ADD, 2, 8).alu64_imm(BPF_ADD, 3, 1).ja("fill");
  b.label("filled").mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -256).mov64_imm(3, 0);
  b.label("sum").jmp_imm(BPF_JGE, 3, 32, "next");
  b.ldx(BPF_DW, 4, 2, 0).alu64_reg(BPF_ADD, 0, 4).alu64_reg(BPF_XOR, 0, 3);
  b.alu64_imm(BPF_ADD, 2, 8).alu64_imm(BPF_ADD, 3, 1).ja("sum");
  b.label("next").alu64_imm(BPF_ADD, 6, 1).ja("outer");
  b.label("end").exit();
  return b.finish();
}

inline std::vector<BenchCase> bench_cases() {
  return {
      {"prime_count", prime_count_program(), native_prime_count, false, 5000},
      {"packet_hash", packet_hash_program(), native_packet_hash, true, 0},
      {"switch_chain", switch_chain_program(), native_switch_chain, false, 10000},
      {"call_chain", call_chain_program(), native_call_chain, false, 10000},
      {"stack_loop", stack_loop_program(), native_stack_loop, false, 300},
  };
}

}  // namespace userbpf::bench

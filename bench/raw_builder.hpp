// A tiny builder for raw eBPF programs with named labels, for benchmarks and interpreter tests
// (which must not depend on the conformance assembler). Jumps and bpf-to-bpf calls name a label;
// finish() resolves them to Linux's relative offsets.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "isa/instruction.hpp"

namespace userbpf::rawasm {

class Builder {
 public:
  using Raw = isa::RawInsn;

  Builder& raw(Raw insn) {
    code_.push_back(insn);
    return *this;
  }
  Builder& raw(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return raw(isa::make_raw(code, dst, src, off, imm));
  }
  Builder& label(const std::string& name) {
    labels_[name] = static_cast<int>(code_.size());
    return *this;
  }

  // ALU: op is BPF_ADD, BPF_SUB, ... ; 64-bit (alu64_*) or 32-bit (alu32_*).
  Builder& alu64_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off = 0) {
    return raw(BPF_ALU64 | op | BPF_K, dst, 0, off, imm);
  }
  Builder& alu64_reg(uint8_t op, uint8_t dst, uint8_t src, int16_t off = 0) {
    return raw(BPF_ALU64 | op | BPF_X, dst, src, off, 0);
  }
  Builder& alu32_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off = 0) {
    return raw(BPF_ALU | op | BPF_K, dst, 0, off, imm);
  }
  Builder& alu32_reg(uint8_t op, uint8_t dst, uint8_t src, int16_t off = 0) {
    return raw(BPF_ALU | op | BPF_X, dst, src, off, 0);
  }
  Builder& mov64_imm(uint8_t dst, int32_t imm) { return alu64_imm(BPF_MOV, dst, imm); }
  Builder& mov64_reg(uint8_t dst, uint8_t src) { return alu64_reg(BPF_MOV, dst, src); }
  Builder& lddw(uint8_t dst, uint64_t value, uint8_t pseudo = 0) {
    raw(BPF_LD | BPF_IMM | BPF_DW, dst, pseudo, 0, static_cast<int32_t>(value));
    return raw(0, 0, 0, 0, static_cast<int32_t>(value >> 32));
  }
  // lddw BPF_PSEUDO_FUNC of the function at `target`.
  Builder& lddw_func(uint8_t dst, const std::string& target) {
    fixups_.push_back({code_.size(), target, Field::imm});
    raw(BPF_LD | BPF_IMM | BPF_DW, dst, BPF_PSEUDO_FUNC, 0, 0);
    return raw(0, 0, 0, 0, 0);
  }

  // Jumps. cls is BPF_JMP or BPF_JMP32.
  Builder& jmp_imm(uint8_t op, uint8_t dst, int32_t imm, const std::string& target,
                   uint8_t cls = BPF_JMP) {
    fixups_.push_back({code_.size(), target, Field::off});
    return raw(cls | op | BPF_K, dst, 0, 0, imm);
  }
  Builder& jmp_reg(uint8_t op, uint8_t dst, uint8_t src, const std::string& target,
                   uint8_t cls = BPF_JMP) {
    fixups_.push_back({code_.size(), target, Field::off});
    return raw(cls | op | BPF_X, dst, src, 0, 0);
  }
  Builder& ja(const std::string& target) {
    fixups_.push_back({code_.size(), target, Field::off});
    return raw(BPF_JMP | BPF_JA, 0, 0, 0, 0);
  }
  Builder& gotol(const std::string& target) {
    fixups_.push_back({code_.size(), target, Field::imm});
    return raw(BPF_JMP32 | BPF_JA, 0, 0, 0, 0);
  }
  Builder& may_goto(const std::string& target) {
    fixups_.push_back({code_.size(), target, Field::off});
    return raw(BPF_JMP | 0xe0 /* BPF_JCOND */, 0, 0, 0, 0);
  }
  Builder& call_helper(int32_t id) { return raw(BPF_JMP | BPF_CALL, 0, 0, 0, id); }
  Builder& call_local(const std::string& target) {
    fixups_.push_back({code_.size(), target, Field::imm});
    return raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0);
  }
  Builder& exit() { return raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

  // Memory: size is BPF_B, BPF_H, BPF_W or BPF_DW.
  Builder& ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
    return raw(BPF_LDX | BPF_MEM | size, dst, src, off, 0);
  }
  Builder& ldxsx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
    return raw(BPF_LDX | 0x80 /* BPF_MEMSX */ | size, dst, src, off, 0);
  }
  Builder& stx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
    return raw(BPF_STX | BPF_MEM | size, dst, src, off, 0);
  }
  Builder& st(uint8_t size, uint8_t dst, int16_t off, int32_t imm) {
    return raw(BPF_ST | BPF_MEM | size, dst, 0, off, imm);
  }
  Builder& atomic(uint8_t size, uint8_t dst, uint8_t src, int16_t off, int32_t op) {
    return raw(BPF_STX | BPF_ATOMIC | size, dst, src, off, op);
  }

  // The program with every label reference resolved; throws std::logic_error on an unknown label
  // (a bug in the program text, not a run-time condition).
  std::vector<Raw> finish() const {
    std::vector<Raw> out = code_;
    for (const Fixup& f : fixups_) {
      auto it = labels_.find(f.target);
      if (it == labels_.end()) throw std::logic_error("unknown label " + f.target);
      const int rel = it->second - static_cast<int>(f.at) - 1;
      if (f.field == Field::off)
        out[f.at].off = static_cast<int16_t>(rel);
      else
        out[f.at].imm = rel;
    }
    return out;
  }

 private:
  enum class Field { off, imm };
  struct Fixup {
    size_t at;
    std::string target;
    Field field;
  };
  std::vector<Raw> code_;
  std::map<std::string, int> labels_;
  std::vector<Fixup> fixups_;
};

}  // namespace userbpf::rawasm

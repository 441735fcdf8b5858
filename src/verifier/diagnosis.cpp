// The diagnosis for people: the failing instruction, its source line, the registers involved and
// the usual fix for the usual mistakes. The kernel's message itself is filled in by run().
#include <cctype>
#include <set>

#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

std::string suggestion_for(const std::string& message) {
  auto has = [&](const char* s) { return message.find(s) != std::string::npos; };
  if (has("_or_null"))
    return "check the pointer against NULL before using it (e.g. the result of "
           "bpf_map_lookup_elem: if (!value) return 0;)";
  if (has("invalid access to packet"))
    return "check the packet bounds first: if (data + offset + size > data_end) return XDP_PASS;";
  if (has("back-edge") || has("too large") || has("infinite loop"))
    return "bound the loop with a constant trip count the verifier can see, or use bpf_loop()";
  if (has("read from stack") || has("!read_ok"))
    return "initialize the variable (or the whole struct, e.g. with __builtin_memset) before it "
           "is read";
  if (has("invalid access to map value") || has("min value is negative") ||
      has("unbounded memory access"))
    return "bound the index before using it: if (idx >= max_entries) return 0; (unsigned)";
  if (has("leaks addr")) return "unprivileged programs may not store or return pointers";
  if (has("Unreleased reference"))
    return "submit or discard every reserved ringbuf record on every path";
  return "";
}

}  // namespace

void Env::log_line(const std::string& line) {
  vlog_.line(line);
}

Diagnosis Env::diagnose(const VerifierState& st) const {
  Diagnosis d;
  d.insn = cur_insn_;
  const SourceLine* best = nullptr;
  for (const SourceLine& line : program_.lines) {
    if (line.insn > d.insn) break;
    best = &line;
  }
  if (best) d.source = fmt::format("{}:{}: {}", best->file, best->line, best->text);
  // The registers the instruction uses, and those the message names.
  std::set<int> regs;
  if (d.insn < decoded_.size()) {
    const isa::Insn& insn = decoded_.insns[d.insn];
    regs.insert(insn.dst);
    if (isa::uses_reg_source(insn.opcode) || insn.kind == isa::Kind::load ||
        insn.kind == isa::Kind::store_reg || insn.kind == isa::Kind::atomic)
      regs.insert(insn.src);
    if (insn.kind == isa::Kind::call || insn.kind == isa::Kind::exit) {
      regs.clear();
      for (int r = 0; r <= 5; ++r) regs.insert(r);
    }
  }
  if (error_) {
    // Every "R<digits>" in the message (a hand scan: std::regex drew GCC false warnings, and
    // stoi threw on a digit run too long for an int).
    const std::string& message = *error_;
    for (size_t i = 0; i + 1 < message.size(); ++i) {
      if (message[i] != 'R' || !std::isdigit(static_cast<unsigned char>(message[i + 1]))) continue;
      int r = 0;
      size_t j = i + 1;
      for (; j < message.size() && std::isdigit(static_cast<unsigned char>(message[j])); ++j)
        if (r <= 10) r = r * 10 + (message[j] - '0');  // beyond r10 it is no register anyway
      regs.insert(r);
      i = j - 1;
    }
  }
  if (!st.frames.empty()) {
    for (int r : regs) {
      if (r < 0 || r > 10) continue;
      const RegState& reg = st.cur().regs[r];
      if (reg.type == RegType::not_init) continue;
      if (!d.registers.empty()) d.registers += ' ';
      d.registers += fmt::format("R{}={}", r, format_reg_state(reg, st.cur(), program_));
    }
  }
  d.suggestion = suggestion_for(error_ ? *error_ : std::string());
  return d;
}

}  // namespace userbpf::verifier

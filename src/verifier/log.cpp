// The kernel-format verifier log (see log.hpp for what it replays and why).
#include "verifier/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "isa/disasm.hpp"
#include "isa/opcodes.hpp"

namespace userbpf::verifier {
namespace {

// log.c's is_unum_decimal / is_snum_decimal: small numbers in decimal, the rest in hex.
std::string unum(uint64_t v) {
  return v <= 0xffff ? std::to_string(v) : fmt::format("{:#x}", v);
}
std::string snum(int64_t v) {
  return v >= -32768 && v <= 32767 ? std::to_string(v)
                                   : fmt::format("{:#x}", static_cast<uint64_t>(v));
}

// tnum_strn: a constant as a number, else "(value; mask)" (the kernel's %#llx prints 0 as 0x0).
std::string tnum_text(const Tnum& t) {
  if (t.is_const()) return unum(t.value);
  return fmt::format("(0x{:x}; 0x{:x})", t.value, t.mask);
}

// print_scalar_ranges: the bounds that are not at their limits, equal values of the same sign
// printed once under all their names ("smax=umax=0xffffffff").
void scalar_ranges(const RegState& r, std::string& out, const char*& sep) {
  struct MinMax {
    const char* name;
    uint64_t val;
    bool omit;
  };
  auto s32 = [](int32_t v) {
    return v >= -32768 && v <= 32767 ? static_cast<uint64_t>(static_cast<int64_t>(v))
                                     : static_cast<uint64_t>(static_cast<uint32_t>(v));
  };
  MinMax m[] = {
      {"smin", static_cast<uint64_t>(r.smin), r.smin == std::numeric_limits<int64_t>::min()},
      {"smax", static_cast<uint64_t>(r.smax), r.smax == std::numeric_limits<int64_t>::max()},
      {"umin", r.umin, r.umin == 0},
      {"umax", r.umax, r.umax == std::numeric_limits<uint64_t>::max()},
      {"smin32", s32(r.s32_min), r.s32_min == std::numeric_limits<int32_t>::min()},
      {"smax32", s32(r.s32_max), r.s32_max == std::numeric_limits<int32_t>::max()},
      {"umin32", r.u32_min, r.u32_min == 0},
      {"umax32", r.u32_max, r.u32_max == std::numeric_limits<uint32_t>::max()},
  };
  constexpr size_t n = sizeof m / sizeof m[0];
  for (size_t i = 0; i < n; ++i) {
    if (m[i].omit) continue;
    const bool neg1 = m[i].name[0] == 's' && static_cast<int64_t>(m[i].val) < 0;
    out += sep;
    out += m[i].name;
    out += '=';
    sep = ",";
    for (size_t j = i + 2; j < n; j += 2) {
      if (m[j].omit || m[j].val != m[i].val) continue;
      const bool neg2 = m[j].name[0] == 's' && static_cast<int64_t>(m[j].val) < 0;
      if (neg2 != neg1) continue;
      m[j].omit = true;
      out += m[j].name;
      out += '=';
    }
    out += m[i].name[0] == 's' ? snum(static_cast<int64_t>(m[i].val)) : unum(m[i].val);
  }
}

bool is_map_pointer(RegType t) {
  return t == RegType::const_ptr_to_map || t == RegType::ptr_to_map_key ||
         t == RegType::ptr_to_map_value;
}

// log.c's slot_type_char for the slot kinds userbpf tracks.
char slot_char(SlotByte b) {
  switch (b) {
    case SlotByte::invalid: return '?';
    case SlotByte::misc: return 'm';
    case SlotByte::zero: return '0';
    case SlotByte::spill: return 'r';
    case SlotByte::iter: return 'i';
  }
  return '?';
}

// vlog_alignment: where the `;` of an instruction's state goes after its text of `pos` bytes.
size_t vlog_alignment(size_t pos) {
  constexpr size_t kMinAlignment = 8, kAlignment = 40;
  const size_t at = std::max(pos + kMinAlignment / 2, kAlignment);
  return (at + kMinAlignment - 1) / kMinAlignment * kMinAlignment - pos - 1;
}

}  // namespace

std::string format_reg_state(const RegState& reg, const FuncFrame& frame, const Program& program) {
  if (reg.type == RegType::scalar && reg.is_const())
    return snum(static_cast<int64_t>(reg.var_off.value));
  std::string out = reg_type_name(reg);
  if (reg.type == RegType::ptr_to_stack) {
    if (reg.frameno != frame.frameno) out += fmt::format("[{}]", reg.frameno);
    if (reg.is_const())
      return out + snum(static_cast<int64_t>(reg.var_off.value) + static_cast<int64_t>(reg.off));
  }
  if (reg.type == RegType::ptr_to_btf_id) out += std::string(reg.btf_name);
  out += '(';
  const char* sep = "";
  auto add = [&](const std::string& item) {
    out += sep;
    out += item;
    sep = ",";
  };
  if (reg.id) add(fmt::format("id={}", reg.id));
  if (reg.ref_obj_id) add(fmt::format("ref_obj_id={}", reg.ref_obj_id));
  if (is_map_pointer(reg.type) && reg.map_index < program.maps.size()) {
    const MapInfo& map = program.maps[reg.map_index];
    if (!map.name.empty()) add("map=" + map.name.substr(0, 15));  // BPF_OBJ_NAME_LEN - 1
    add(fmt::format("ks={},vs={}", map.key_size, map.value_size));
  }
  if (reg.type != RegType::scalar && reg.off) add("off=" + snum(reg.off));
  if (reg.is_packet()) add("r=" + unum(static_cast<uint64_t>(reg.range)));
  if (reg.type == RegType::ptr_to_mem) add("sz=" + unum(reg.mem_size));
  if (reg.is_const()) {
    if (reg.var_off.value) add("imm=" + snum(static_cast<int64_t>(reg.var_off.value)));
  } else {
    scalar_ranges(reg, out, sep);
    if (!reg.var_off.is_unknown()) add("var_off=" + tnum_text(reg.var_off));
  }
  return out + ')';
}

std::string format_frame_state(const VerifierState& st, const Program& program, bool all,
                               uint32_t regs, const std::vector<bool>* slots) {
  std::string out;
  if (st.frames.empty()) return out;
  const FuncFrame& frame = st.cur();
  if (frame.frameno) out += fmt::format(" frame{}:", frame.frameno);
  for (size_t i = 0; i < frame.regs.size(); ++i) {
    const RegState& reg = frame.regs[i];
    if (reg.type == RegType::not_init) continue;
    if (!all && !(regs >> i & 1)) continue;
    out += fmt::format(" R{}=", i) + format_reg_state(reg, frame, program);
  }
  for (size_t i = 0; i < frame.stack.size(); ++i) {
    if (!all && (slots == nullptr || i >= slots->size() || !(*slots)[i])) continue;
    const StackSlot& slot = frame.stack[i];
    // The kernel's slot_type[0] is the slot's highest byte (fp-1 of fp-8..fp-1); userbpf's
    // bytes[0] is its lowest.
    std::string types;
    bool valid = false;
    for (auto b = slot.bytes.rbegin(); b != slot.bytes.rend(); ++b) {
      valid |= *b != SlotByte::invalid;
      types += slot_char(*b);
    }
    if (!valid) continue;
    const std::string where = fmt::format(" fp{}=", -8 * static_cast<int64_t>(i + 1));
    if (slot.is_spill()) {
      // The bytes above a partial spill, then the spilled register.
      types.resize(types.find('r'));
      out += where + types + format_reg_state(slot.spilled, frame, program);
    } else {
      out += where + types;
    }
  }
  if (!st.refs.empty()) {
    out += " refs=";
    for (size_t i = 0; i < st.refs.size(); ++i)
      out += (i ? "," : "") + std::to_string(st.refs[i].id);
  }
  return out;
}

VerifierLog::VerifierLog(const Program& program, const isa::Program& decoded, int level)
    : program_(program), decoded_(decoded), level_(level) {}

void VerifierLog::reset_to(size_t pos) {
  if (pos < buf_.size()) buf_.resize(pos);
}

void VerifierLog::print_insn_state(const VerifierState& st) {
  // print_insn_state: on the previous instruction's line when it is the log's last, else as a
  // line of its own.
  if (prev_log_pos_ != 0 && prev_log_pos_ == buf_.size()) {
    reset_to(prev_log_pos_ - 1);
    buf_ += std::string(std::max<size_t>(vlog_alignment(prev_insn_print_pos_), 1), ' ');
    buf_ += ';';
  } else {
    buf_ += fmt::format("{}:", st.insn);
  }
  buf_ += format_frame_state(st, program_, all_scratched_, scratched_regs_, &scratched_slots_);
  buf_ += '\n';
  all_scratched_ = false;
  scratched_regs_ = 0;
  scratched_slots_.assign(scratched_slots_.size(), false);
}

void VerifierLog::print_linfo(uint32_t insn) {
  // verbose_linfo: the source line covering `insn` when it is a new one (not the same file and
  // line as the last printed, even at another column).
  int32_t found = -1;
  for (size_t i = 0; i < program_.lines.size() && program_.lines[i].insn <= insn; ++i)
    found = static_cast<int32_t>(i);
  if (found < 0 || found == prev_linfo_) return;
  const SourceLine& line = program_.lines[found];
  if (prev_linfo_ >= 0) {
    const SourceLine& prev = program_.lines[prev_linfo_];
    prev_linfo_ = found;
    if (prev.file == line.file && prev.line == line.line) return;
  }
  prev_linfo_ = found;
  size_t start = line.text.find_first_not_of(" \t\n\v\f\r");
  const std::string text = start == std::string::npos ? "" : line.text.substr(start);
  const size_t slash = line.file.rfind('/');
  const std::string file = slash == std::string::npos ? line.file : line.file.substr(slash + 1);
  buf_ += fmt::format("; {} @ {}:{}\n", text, file, line.line);
}

void VerifierLog::before_insn(const VerifierState& st, uint32_t insn) {
  if (level_ <= 0) return;
  if (level_ >= 2 && do_print_state_) {
    buf_ += fmt::format("\nfrom {} to {}:", prev_insn_, insn);
    buf_ += format_frame_state(st, program_, true);
    buf_ += '\n';
    do_print_state_ = false;
  }
  if (all_scratched_ || scratched_regs_ != 0 ||
      std::find(scratched_slots_.begin(), scratched_slots_.end(), true) != scratched_slots_.end())
    print_insn_state(st);
  print_linfo(insn);
  const size_t start = buf_.size();
  const isa::Insn& in = decoded_.insns[insn];
  isa::DisasmOptions options;
  buf_ +=
      fmt::format("{}: ({:02x}) {}\n", insn, in.opcode, isa::format_insn(decoded_, insn, options));
  prev_insn_print_pos_ = buf_.size() - start;
  prev_log_pos_ = buf_.size();
  stack_before_ = st.frames.empty() ? std::vector<StackSlot>{} : st.cur().stack;
}

void VerifierLog::after_insn(const VerifierState& st, uint32_t insn) {
  if (level_ <= 0) return;
  prev_insn_ = insn;
  const isa::Insn& in = decoded_.insns[insn];
  auto mark = [&](int r) { scratched_regs_ |= 1u << r; };
  switch (in.kind) {
    case isa::Kind::alu:
    case isa::Kind::endian:
      mark(in.dst);
      if (in.kind == isa::Kind::alu && isa::uses_reg_source(in.opcode)) mark(in.src);
      break;
    case isa::Kind::load:
    case isa::Kind::store_reg:
      mark(in.dst);
      mark(in.src);
      break;
    case isa::Kind::atomic:
      mark(in.dst);
      mark(in.src);
      mark(0);
      break;
    case isa::Kind::store_imm:
    case isa::Kind::lddw: mark(in.dst); break;
    case isa::Kind::packet_load:
      for (int r = 0; r <= 6; ++r) mark(r);
      if (BPF_MODE(in.opcode) == BPF_IND) mark(in.src);
      break;
    case isa::Kind::call:
      if (in.call == isa::CallKind::local) {
        all_scratched_ = true;
      } else {
        for (int r = 0; r <= 5; ++r) mark(r);
      }
      break;
    case isa::Kind::exit:
      // A bpf-to-bpf return: the caller's frame continues with a `from` header.
      all_scratched_ = true;
      do_print_state_ = true;
      break;
    case isa::Kind::jump_cond:  // printed by after_cond_jmp
    case isa::Kind::jump:
    case isa::Kind::may_goto:
    case isa::Kind::invalid: break;
  }
  // Stack slots the instruction wrote, or read through the frame pointer.
  if (st.frames.empty()) return;
  const std::vector<StackSlot>& now = st.cur().stack;
  if (scratched_slots_.size() < now.size()) scratched_slots_.resize(now.size(), false);
  for (size_t i = 0; i < now.size(); ++i) {
    if (i >= stack_before_.size() || !(now[i] == stack_before_[i])) scratched_slots_[i] = true;
  }
  const bool via_fp = (in.kind == isa::Kind::load && in.src == isa::kFramePointer) ||
                      ((in.kind == isa::Kind::store_reg || in.kind == isa::Kind::store_imm ||
                        in.kind == isa::Kind::atomic) &&
                       in.dst == isa::kFramePointer);
  if (via_fp && in.off < 0) {
    const size_t slot = static_cast<size_t>(-static_cast<int32_t>(in.off) - 1) / 8;
    if (slot < scratched_slots_.size()) scratched_slots_[slot] = true;
  }
}

void VerifierLog::after_cond_jmp(const VerifierState& st) {
  if (level_ <= 0) return;
  const isa::Insn& in = decoded_.insns[st.insn];
  scratched_regs_ |= 1u << in.dst;
  if (isa::uses_reg_source(in.opcode)) scratched_regs_ |= 1u << in.src;
  print_insn_state(st);
}

void VerifierLog::pushed(uint32_t from) {
  if (level_ <= 0) return;
  pending_.push_back({buf_.size(), from});
}

void VerifierLog::popped(uint32_t to) {
  (void)to;
  if (level_ <= 0 || pending_.empty()) return;
  const Pending p = pending_.back();
  pending_.pop_back();
  if (level_ == 1) reset_to(p.log_pos);  // pop_stack's pop_log
  prev_insn_ = p.from;
  do_print_state_ = true;
  all_scratched_ = true;
}

void VerifierLog::pruned(uint32_t insn) {
  if (level_ <= 0) return;
  if (do_print_state_)
    buf_ += fmt::format("\nfrom {} to {}: safe\n", prev_insn_, insn);
  else
    buf_ += fmt::format("{}: safe\n", insn);
  path_ended();
}

void VerifierLog::path_ended() {
  if (level_ <= 0) return;
  all_scratched_ = true;
}

void VerifierLog::returned(uint32_t from) {
  if (level_ <= 0) return;
  prev_insn_ = from;
  do_print_state_ = true;
}

void VerifierLog::line(const std::string& text) {
  if (level_ <= 0) return;
  buf_ += text;
  buf_ += '\n';
}

void VerifierLog::finish(bool accepted) {
  if (level_ == 1 && accepted) buf_.clear();
}

}  // namespace userbpf::verifier

#include "isa/conformance_asm.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>

#include "isa/conformance_data.hpp"

namespace userbpf::isa {
namespace {

constexpr uint8_t kCallx = BPF_JMP | BPF_CALL | BPF_X;  // 0x8d, not Linux eBPF

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\v\f";
  const size_t first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_label_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}
bool is_label_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !is_label_start(s[0])) return false;
  for (char c : s)
    if (!is_label_char(c)) return false;
  return true;
}

// A number as written: sign, magnitude, and whether it was hex.
struct Number {
  bool negative = false;
  bool hex = false;
  uint64_t magnitude = 0;
};

std::optional<Number> parse_number(std::string_view t) {
  Number n;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    n.negative = t[0] == '-';
    t.remove_prefix(1);
  }
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    n.hex = true;
    t.remove_prefix(2);
  }
  if (t.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n.magnitude, base);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return n;
}

// Two's complement value of n if it lies in [-2^(bits-1), limit], where limit is 2^bits-1 for
// unsigned-looking hex (a bit pattern) and 2^(bits-1)-1 for decimal.
std::optional<int64_t> fit_signed(const Number& n, int bits, bool allow_unsigned_decimal) {
  const uint64_t half = uint64_t{1} << (bits - 1);
  if (n.negative) {
    if (n.magnitude > half) return std::nullopt;
    return static_cast<int64_t>(~n.magnitude + 1);
  }
  const uint64_t limit = (n.hex || allow_unsigned_decimal) ? (half - 1) * 2 + 1 : half - 1;
  if (n.magnitude > limit) return std::nullopt;
  return static_cast<int64_t>(n.magnitude);
}

struct Fixup {
  size_t slot;
  std::string label;
  bool in_imm;  // the target goes into imm (ja32, call local) rather than off
  int line;
};

class Assembler {
 public:
  Result<std::vector<RawInsn>> run(std::string_view text);

 private:
  Error fail(std::string message) const {
    Location where;
    where.line = line_;
    return make_error(Errc::assemble, std::move(message), where);
  }

  std::optional<Error> instruction(std::string_view mnemonic, std::string_view rest);
  std::optional<Error> lock(std::string_view rest);
  std::optional<Error> call(std::string_view rest);

  Result<uint8_t> reg(std::string_view t) const {
    if (t.size() >= 3 && t[0] == '%' && t[1] == 'r') {
      uint32_t n = 0;
      auto [end, ec] = std::from_chars(t.data() + 2, t.data() + t.size(), n);
      if (ec == std::errc() && end == t.data() + t.size() && n <= 10 &&
          !(t.size() > 3 && t[2] == '0'))
        return static_cast<uint8_t>(n);
    }
    return fail("Invalid register '" + std::string(t) + "'");
  }

  Result<int32_t> imm32(std::string_view t) const {
    auto n = parse_number(t);
    if (n)
      if (auto v = fit_signed(*n, 32, false)) return static_cast<int32_t>(*v);
    return fail("Invalid immediate '" + std::string(t) + "'");
  }

  Result<int16_t> offset(std::string_view t) const {
    auto n = parse_number(t);
    if (n)
      if (auto v = fit_signed(*n, 16, false)) return static_cast<int16_t>(*v);
    return fail("Invalid offset '" + std::string(t) + "'");
  }

  // `[%rN]`, `[%rN+off]` or `[%rN-off]`, spaces allowed inside the brackets.
  Result<std::pair<uint8_t, int16_t>> memory(std::string_view t) const {
    if (t.size() < 2 || t.front() != '[' || t.back() != ']')
      return fail("Invalid memory operand '" + std::string(t) + "'");
    std::string inner;
    for (char c : t.substr(1, t.size() - 2))
      if (!is_space(c)) inner += c;
    const size_t sign = inner.find_first_of("+-");
    auto r = reg(std::string_view(inner).substr(0, sign));
    if (!r) return r.error();
    int16_t off = 0;
    if (sign != std::string::npos) {
      auto o = offset(std::string_view(inner).substr(sign));
      // Name the offset as written after the sign that separates it from the register.
      if (!o)
        return fail("Invalid offset '" + inner.substr(inner[sign] == '+' ? sign + 1 : sign) + "'");
      off = *o;
    }
    return std::pair<uint8_t, int16_t>{*r, off};
  }

  // A jump target: `+N`/`-N` gives the value; a label is resolved after the last line.
  Result<int64_t> target(std::string_view t, bool in_imm) {
    if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
      if (in_imm) {
        auto v = imm32(t);
        if (!v) return v.error();
        return int64_t{*v};
      }
      auto v = offset(t);
      if (!v) return v.error();
      return int64_t{*v};
    }
    if (!is_identifier(t)) return fail("Invalid label '" + std::string(t) + "'");
    fixups_.push_back({out_.size(), std::string(t), in_imm, line_});
    return int64_t{0};
  }

  Error operand_count(std::string_view mnemonic) const {
    return fail("Invalid number of operands for " + std::string(mnemonic));
  }

  void emit(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    out_.push_back(make_raw(code, dst, src, off, imm));
  }

  std::vector<RawInsn> out_;
  std::map<std::string, size_t, std::less<>> labels_;
  std::vector<Fixup> fixups_;
  std::optional<size_t> first_exit_;
  int line_ = 0;
};

// Splits the operands of an ordinary instruction at commas. An empty operand is kept (and then
// refused by the operand count or the operand parser).
std::vector<std::string_view> split_operands(std::string_view rest) {
  std::vector<std::string_view> ops;
  if (trim(rest).empty()) return ops;
  size_t start = 0;
  while (true) {
    const size_t comma = rest.find(',', start);
    ops.push_back(
        trim(rest.substr(start, comma == std::string_view::npos ? rest.npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ops;
}

struct AluName {
  const char* name;
  uint8_t op;
  int16_t off;
};
constexpr AluName kAluNames[] = {
    {"add", BPF_ADD, 0},  {"sub", BPF_SUB, 0},   {"mul", BPF_MUL, 0},  {"div", BPF_DIV, 0},
    {"sdiv", BPF_DIV, 1}, {"or", BPF_OR, 0},     {"and", BPF_AND, 0},  {"lsh", BPF_LSH, 0},
    {"rsh", BPF_RSH, 0},  {"mod", BPF_MOD, 0},   {"smod", BPF_MOD, 1}, {"xor", BPF_XOR, 0},
    {"mov", BPF_MOV, 0},  {"arsh", BPF_ARSH, 0}, {"neg", BPF_NEG, 0},
};

struct JmpName {
  const char* name;
  uint8_t op;
};
constexpr JmpName kJmpNames[] = {
    {"jeq", BPF_JEQ}, {"jgt", BPF_JGT},   {"jge", BPF_JGE},   {"jset", BPF_JSET},
    {"jne", BPF_JNE}, {"jsgt", BPF_JSGT}, {"jsge", BPF_JSGE}, {"jlt", BPF_JLT},
    {"jle", BPF_JLE}, {"jslt", BPF_JSLT}, {"jsle", BPF_JSLE},
};

struct SizeName {
  const char* suffix;
  uint8_t size;
};
constexpr SizeName kSizes[] = {{"b", BPF_B}, {"h", BPF_H}, {"w", BPF_W}, {"dw", BPF_DW}};

std::optional<uint8_t> size_suffix(std::string_view s, bool allow_dw) {
  for (const SizeName& z : kSizes)
    if (s == z.suffix && (allow_dw || z.size != BPF_DW)) return z.size;
  return std::nullopt;
}

std::optional<Error> Assembler::instruction(std::string_view mnemonic, std::string_view rest) {
  if (mnemonic == "lock") return lock(rest);
  if (mnemonic == "call") return call(rest);
  const std::vector<std::string_view> ops = split_operands(rest);
  auto need = [&](size_t n) -> std::optional<Error> {
    if (ops.size() != n) return operand_count(mnemonic);
    return std::nullopt;
  };

  if (mnemonic == "exit") {
    if (auto e = need(0)) return e;
    if (!first_exit_) first_exit_ = out_.size();
    emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    return std::nullopt;
  }
  if (mnemonic == ".raw") {
    if (auto e = need(1)) return e;
    auto n = parse_number(ops[0]);
    std::optional<int64_t> v = n ? fit_signed(*n, 64, true) : std::nullopt;
    if (!v) return fail("Invalid immediate '" + std::string(ops[0]) + "'");
    out_.push_back(raw_from_word(static_cast<uint64_t>(*v)));
    return std::nullopt;
  }
  if (mnemonic == "lddw") {
    if (auto e = need(2)) return e;
    auto d = reg(ops[0]);
    if (!d) return d.error();
    auto n = parse_number(ops[1]);
    std::optional<int64_t> v = n ? fit_signed(*n, 64, true) : std::nullopt;
    if (!v) return fail("Invalid immediate '" + std::string(ops[1]) + "'");
    const auto bits = static_cast<uint64_t>(*v);
    emit(BPF_LD | BPF_IMM | BPF_DW, *d, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(bits)));
    emit(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(bits >> 32)));
    return std::nullopt;
  }

  // Loads and stores: ldx{b,h,w,dw}, ldxs{b,h,w}, st{b,h,w,dw}, stx{b,h,w,dw}.
  if (mnemonic.starts_with("ldx") || mnemonic.starts_with("st")) {
    const bool ldx = mnemonic.starts_with("ldx");
    const bool stx = mnemonic.starts_with("stx");
    std::string_view suffix = mnemonic.substr(ldx || stx ? 3 : 2);
    bool sign = false;
    if (ldx && suffix.size() > 1 && suffix[0] == 's') {
      sign = true;
      suffix.remove_prefix(1);
    }
    if (auto size = size_suffix(suffix, !sign)) {
      if (auto e = need(2)) return e;
      if (ldx) {
        auto d = reg(ops[0]);
        if (!d) return d.error();
        auto m = memory(ops[1]);
        if (!m) return m.error();
        emit(BPF_LDX | (sign ? BPF_MEMSX : BPF_MEM) | *size, *d, m->first, m->second, 0);
        return std::nullopt;
      }
      auto m = memory(ops[0]);
      if (!m) return m.error();
      if (stx) {
        auto s = reg(ops[1]);
        if (!s) return s.error();
        emit(BPF_STX | BPF_MEM | *size, m->first, *s, m->second, 0);
      } else {
        auto v = imm32(ops[1]);
        if (!v) return v.error();
        emit(BPF_ST | BPF_MEM | *size, m->first, 0, m->second, *v);
      }
      return std::nullopt;
    }
  }

  // Byte swaps: le16/32/64 and be16/32/64 (ALU|END), bswap16/32/64 and swap16/32/64 (ALU64|END).
  for (const auto& [prefix, code] :
       {std::pair<std::string_view, uint8_t>{"le", BPF_ALU | BPF_END | BPF_TO_LE},
        {"be", BPF_ALU | BPF_END | BPF_TO_BE},
        {"bswap", BPF_ALU64 | BPF_END | BPF_TO_LE},
        {"swap", BPF_ALU64 | BPF_END | BPF_TO_LE}}) {
    if (!mnemonic.starts_with(prefix)) continue;
    const std::string_view bits = mnemonic.substr(prefix.size());
    if (bits != "16" && bits != "32" && bits != "64") continue;
    if (auto e = need(1)) return e;
    auto d = reg(ops[0]);
    if (!d) return d.error();
    emit(code, *d, 0, 0, bits == "16" ? 16 : bits == "32" ? 32 : 64);
    return std::nullopt;
  }

  // Sign-extending moves: movsx{8,16,32}{32,64}.
  if (mnemonic.starts_with("movsx")) {
    const std::string_view spec = mnemonic.substr(5);
    for (const auto& [name, from, cls] :
         {std::tuple<std::string_view, int16_t, uint8_t>{"832", 8, BPF_ALU},
          {"1632", 16, BPF_ALU},
          {"864", 8, BPF_ALU64},
          {"1664", 16, BPF_ALU64},
          {"3264", 32, BPF_ALU64}}) {
      if (spec != name) continue;
      if (auto e = need(2)) return e;
      auto d = reg(ops[0]);
      if (!d) return d.error();
      auto s = reg(ops[1]);
      if (!s) return s.error();
      emit(cls | BPF_MOV | BPF_X, *d, *s, from, 0);
      return std::nullopt;
    }
  }

  // ALU: name or name32.
  {
    std::string_view base = mnemonic;
    uint8_t cls = BPF_ALU64;
    if (base.ends_with("32")) {
      base.remove_suffix(2);
      cls = BPF_ALU;
    }
    for (const AluName& a : kAluNames) {
      if (base != a.name) continue;
      if (a.op == BPF_NEG) {
        if (auto e = need(1)) return e;
        auto d = reg(ops[0]);
        if (!d) return d.error();
        emit(cls | BPF_NEG | BPF_K, *d, 0, 0, 0);
        return std::nullopt;
      }
      if (auto e = need(2)) return e;
      auto d = reg(ops[0]);
      if (!d) return d.error();
      if (ops[1].starts_with('%')) {
        auto s = reg(ops[1]);
        if (!s) return s.error();
        emit(cls | a.op | BPF_X, *d, *s, a.off, 0);
      } else {
        auto v = imm32(ops[1]);
        if (!v) return v.error();
        emit(cls | a.op | BPF_K, *d, 0, a.off, *v);
      }
      return std::nullopt;
    }
  }

  // Jumps: ja +off / ja label, ja32 (32-bit offset in imm), conditional jumps and their 32 form.
  if (mnemonic == "ja" || mnemonic == "ja32") {
    if (auto e = need(1)) return e;
    const bool wide = mnemonic == "ja32";
    auto t = target(ops[0], wide);
    if (!t) return t.error();
    if (wide)
      emit(BPF_JMP32 | BPF_JA, 0, 0, 0, static_cast<int32_t>(*t));
    else
      emit(BPF_JMP | BPF_JA, 0, 0, static_cast<int16_t>(*t), 0);
    return std::nullopt;
  }
  {
    std::string_view base = mnemonic;
    uint8_t cls = BPF_JMP;
    if (base.ends_with("32")) {
      base.remove_suffix(2);
      cls = BPF_JMP32;
    }
    for (const JmpName& j : kJmpNames) {
      if (base != j.name) continue;
      if (auto e = need(3)) return e;
      auto d = reg(ops[0]);
      if (!d) return d.error();
      uint8_t src = 0;
      int32_t imm = 0;
      uint8_t code = cls | j.op;
      if (ops[1].starts_with('%')) {
        auto s = reg(ops[1]);
        if (!s) return s.error();
        src = *s;
        code |= BPF_X;
      } else {
        auto v = imm32(ops[1]);
        if (!v) return v.error();
        imm = *v;
      }
      auto t = target(ops[2], false);
      if (!t) return t.error();
      emit(code, *d, src, static_cast<int16_t>(*t), imm);
      return std::nullopt;
    }
  }
  return fail("Invalid mnemonic '" + std::string(mnemonic) + "'");
}

// lock [fetch] OP [%rN+off], %rM where OP is add/and/or/xor/xchg/cmpxchg, with `32` for 32 bits.
std::optional<Error> Assembler::lock(std::string_view rest) {
  const std::vector<std::string_view> ops = split_operands(rest);
  if (ops.size() != 2) return operand_count("lock");
  std::vector<std::string_view> words = split_words(ops[0]);
  bool fetch = false;
  if (!words.empty() && words[0] == "fetch") {
    fetch = true;
    words.erase(words.begin());
  }
  if (words.size() != 2) return operand_count("lock");
  std::string_view op = words[0];
  uint8_t size = BPF_DW;
  if (op.ends_with("32")) {
    op.remove_suffix(2);
    size = BPF_W;
  }
  int32_t imm;
  if (op == "add")
    imm = BPF_ADD;
  else if (op == "and")
    imm = BPF_AND;
  else if (op == "or")
    imm = BPF_OR;
  else if (op == "xor")
    imm = BPF_XOR;
  else if (op == "xchg")
    imm = BPF_XCHG;  // always fetches; `fetch` is redundant
  else if (op == "cmpxchg")
    imm = BPF_CMPXCHG;
  else
    return fail("Invalid mnemonic 'lock " + std::string(words[0]) + "'");
  if (fetch) imm |= BPF_FETCH;
  auto m = memory(words[1]);
  if (!m) return m.error();
  auto s = reg(ops[1]);
  if (!s) return s.error();
  emit(BPF_STX | BPF_ATOMIC | size, m->first, *s, m->second, imm);
  return std::nullopt;
}

// call N | call helper N | call local TARGET | call kfunc N | call runtime N | call %rN
std::optional<Error> Assembler::call(std::string_view rest) {
  const std::vector<std::string_view> words = split_words(rest);
  if (words.size() == 1) {
    if (words[0].starts_with('%')) {
      auto r = reg(words[0]);
      if (!r) return r.error();
      emit(kCallx, *r, 0, 0, 0);
      return std::nullopt;
    }
    auto v = imm32(words[0]);
    if (!v) return v.error();
    emit(BPF_JMP | BPF_CALL, 0, 0, 0, *v);
    return std::nullopt;
  }
  if (words.size() != 2) return operand_count("call");
  if (words[0] == "local") {
    auto t = target(words[1], true);
    if (!t) return t.error();
    emit(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, static_cast<int32_t>(*t));
    return std::nullopt;
  }
  uint8_t src;
  if (words[0] == "helper")
    src = 0;
  else if (words[0] == "kfunc" || words[0] == "runtime")
    src = BPF_PSEUDO_KFUNC_CALL;
  else
    return fail("Invalid call mode '" + std::string(words[0]) + "'");
  auto v = imm32(words[1]);
  if (!v) return v.error();
  emit(BPF_JMP | BPF_CALL, 0, src, 0, *v);
  return std::nullopt;
}

Result<std::vector<RawInsn>> Assembler::run(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_;
    const size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    // Leading labels: `name:` possibly followed by an instruction.
    while (!line.empty()) {
      size_t n = 0;
      while (n < line.size() && is_label_char(line[n])) ++n;
      if (n == 0 || n >= line.size() || line[n] != ':' || !is_label_start(line[0])) break;
      std::string name(line.substr(0, n));
      if (labels_.count(name)) return fail("Duplicate label '" + name + "'");
      labels_[name] = out_.size();
      line = trim(line.substr(n + 1));
    }
    if (line.empty()) continue;
    size_t m = 0;
    while (m < line.size() && !is_space(line[m])) ++m;
    if (auto e = instruction(line.substr(0, m), line.substr(m))) return *e;
  }
  if (first_exit_ && !labels_.count("exit")) labels_["exit"] = *first_exit_;

  for (const Fixup& f : fixups_) {
    line_ = f.line;
    auto it = labels_.find(f.label);
    if (it == labels_.end()) return fail("Invalid label '" + f.label + "'");
    const int64_t rel = static_cast<int64_t>(it->second) - static_cast<int64_t>(f.slot) - 1;
    if (f.in_imm) {
      if (rel < INT32_MIN || rel > INT32_MAX)
        return fail("Label '" + f.label + "' is out of range");
      out_[f.slot].imm = static_cast<int32_t>(rel);
    } else {
      if (rel < INT16_MIN || rel > INT16_MAX)
        return fail("Label '" + f.label + "' is out of range");
      out_[f.slot].off = static_cast<int16_t>(rel);
    }
  }
  return std::move(out_);
}

// ---- disassembler ----

std::string sized(const char* base, uint8_t size) {
  switch (size) {
    case BPF_B: return std::string(base) + "b";
    case BPF_H: return std::string(base) + "h";
    case BPF_W: return std::string(base) + "w";
    default: return std::string(base) + "dw";
  }
}

std::string mem(uint8_t reg, int16_t off) {
  if (off == 0) return fmt::format("[%r{}]", reg);
  return fmt::format("[%r{}{:+d}]", reg, off);
}

// One line of suite syntax for the instruction at `i`, with jump targets as `+N`, or nullopt when
// the opcode has no suite form. `slots` receives 2 for lddw. `rel` receives the relative target of
// jumps and local calls.
std::optional<std::string> candidate(std::span<const RawInsn> insns, size_t i, int& slots,
                                     std::optional<int64_t>& rel) {
  const RawInsn& r = insns[i];
  slots = 1;
  rel.reset();
  const uint8_t cls = BPF_CLASS(r.code);
  const char* w32 = (cls == BPF_ALU || cls == BPF_JMP32) ? "32" : "";
  const int dst = r.dst_reg, src = r.src_reg;
  if (r.code == kCallx) return fmt::format("call %r{}", dst);
  switch (kOpcodeTable[r.code].kind) {
    case Kind::alu: {
      const uint8_t op = BPF_OP(r.code);
      if (op == BPF_NEG) return fmt::format("neg{} %r{}", w32, dst);
      if (op == BPF_MOV && BPF_SRC(r.code) == BPF_X && (r.off == 8 || r.off == 16 || r.off == 32))
        return fmt::format("movsx{}{} %r{}, %r{}", r.off, cls == BPF_ALU ? 32 : 64, dst, src);
      const char* name = nullptr;
      for (const AluName& a : kAluNames)
        if (a.op == op && (a.off == r.off || a.off == 0)) {
          name = a.name;
          if (a.off == r.off) break;
        }
      if (BPF_SRC(r.code) == BPF_X) return fmt::format("{}{} %r{}, %r{}", name, w32, dst, src);
      return fmt::format("{}{} %r{}, {}", name, w32, dst, r.imm);
    }
    case Kind::endian:
      if (cls == BPF_ALU64) return fmt::format("bswap{} %r{}", r.imm, dst);
      return fmt::format("{}{} %r{}", BPF_SRC(r.code) == BPF_TO_BE ? "be" : "le", r.imm, dst);
    case Kind::jump:
      rel = cls == BPF_JMP32 ? int64_t{r.imm} : int64_t{r.off};
      return fmt::format("{} {:+d}", cls == BPF_JMP32 ? "ja32" : "ja", *rel);
    case Kind::jump_cond: {
      const char* name = "";
      for (const JmpName& j : kJmpNames)
        if (j.op == BPF_OP(r.code)) name = j.name;
      rel = r.off;
      if (BPF_SRC(r.code) == BPF_X)
        return fmt::format("{}{} %r{}, %r{}, {:+d}", name, w32, dst, src, r.off);
      return fmt::format("{}{} %r{}, {}, {:+d}", name, w32, dst, r.imm, r.off);
    }
    case Kind::call:
      if (src == BPF_PSEUDO_CALL) {
        rel = r.imm;
        return fmt::format("call local {:+d}", r.imm);
      }
      if (src == BPF_PSEUDO_KFUNC_CALL) return fmt::format("call kfunc {}", r.imm);
      return fmt::format("call {}", r.imm);
    case Kind::exit: return "exit";
    case Kind::load:
      return fmt::format("ldx{} %r{}, {}",
                         BPF_MODE(r.code) == BPF_MEMSX ? sized("s", BPF_SIZE(r.code)).c_str()
                                                       : sized("", BPF_SIZE(r.code)).c_str(),
                         dst, mem(src, r.off));
    case Kind::store_reg:
      return fmt::format("{} {}, %r{}", sized("stx", BPF_SIZE(r.code)), mem(dst, r.off), src);
    case Kind::store_imm:
      return fmt::format("{} {}, {}", sized("st", BPF_SIZE(r.code)), mem(dst, r.off), r.imm);
    case Kind::atomic: {
      const char* suffix = BPF_SIZE(r.code) == BPF_W ? "32" : "";
      const char* op = nullptr;
      switch (r.imm & ~BPF_FETCH) {
        case BPF_ADD: op = "add"; break;
        case BPF_AND: op = "and"; break;
        case BPF_OR: op = "or"; break;
        case BPF_XOR: op = "xor"; break;
      }
      if (r.imm == BPF_XCHG)
        return fmt::format("lock xchg{} {}, %r{}", suffix, mem(dst, r.off), src);
      if (r.imm == BPF_CMPXCHG)
        return fmt::format("lock cmpxchg{} {}, %r{}", suffix, mem(dst, r.off), src);
      if (!op) return std::nullopt;
      return fmt::format("lock {}{}{} {}, %r{}", (r.imm & BPF_FETCH) ? "fetch " : "", op, suffix,
                         mem(dst, r.off), src);
    }
    case Kind::lddw: {
      if (i + 1 >= insns.size()) return std::nullopt;
      slots = 2;
      const uint64_t value = static_cast<uint32_t>(r.imm) |
                             (static_cast<uint64_t>(static_cast<uint32_t>(insns[i + 1].imm)) << 32);
      return fmt::format("lddw %r{}, 0x{:x}", dst, value);
    }
    case Kind::may_goto:
    case Kind::packet_load:
    case Kind::invalid: break;
  }
  return std::nullopt;
}

bool same_slots(const std::vector<RawInsn>& got, std::span<const RawInsn> want) {
  if (got.size() != want.size()) return false;
  for (size_t k = 0; k < got.size(); ++k)
    if (word_from_raw(got[k]) != word_from_raw(want[k])) return false;
  return true;
}

// The line for slot i, checked by assembling it back; `.raw` when it does not reproduce the slot.
struct Line {
  std::string text;
  int slots = 1;
  std::optional<int64_t> rel;  // relative target of an expressible jump or local call
  bool raw = false;
};

Line line_for(std::span<const RawInsn> insns, size_t i) {
  Line line;
  auto text = candidate(insns, i, line.slots, line.rel);
  if (text) {
    auto back = assemble(*text);
    if (back.ok() && same_slots(*back, insns.subspan(i, line.slots))) {
      line.text = std::move(*text);
      return line;
    }
  }
  line.slots = 1;
  line.rel.reset();
  line.raw = true;
  line.text = fmt::format(".raw 0x{:016x}", word_from_raw(insns[i]));
  return line;
}

}  // namespace

Result<std::vector<RawInsn>> assemble(std::string_view text) {
  return Assembler().run(text);
}

bool suite_expressible(std::span<const RawInsn> insns, size_t index) {
  if (index > 0 && insns[index - 1].code == (BPF_LD | BPF_IMM | BPF_DW)) {
    // Possibly an lddw tail: judge it with its head when the head prints as one lddw line. Walk
    // from the start so that the slot pairing is the disassembler's.
    size_t i = 0;
    while (i < index) {
      const Line line = line_for(insns, i);
      if (i + line.slots > index) return !line.raw;
      i += line.slots;
    }
  }
  return !line_for(insns, index).raw;
}

std::string disassemble(std::span<const RawInsn> insns) {
  std::vector<Line> lines;
  std::vector<size_t> starts;
  std::vector<bool> is_start(insns.size() + 1, false);
  for (size_t i = 0; i < insns.size();) {
    lines.push_back(line_for(insns, i));
    starts.push_back(i);
    is_start[i] = true;
    i += lines.back().slots;
  }
  is_start[insns.size()] = true;

  // Targets that land on a line start get a label; others keep the numeric form.
  std::vector<bool> labelled(insns.size() + 1, false);
  for (size_t k = 0; k < lines.size(); ++k) {
    if (!lines[k].rel) continue;
    const int64_t t = static_cast<int64_t>(starts[k]) + 1 + *lines[k].rel;
    if (t >= 0 && t <= static_cast<int64_t>(insns.size()) && is_start[t]) labelled[t] = true;
  }

  std::string out;
  for (size_t k = 0; k < lines.size(); ++k) {
    const size_t i = starts[k];
    if (labelled[i]) out += fmt::format("L{}:\n", i);
    std::string text = lines[k].text;
    if (lines[k].rel) {
      const int64_t t = static_cast<int64_t>(i) + 1 + *lines[k].rel;
      if (t >= 0 && t <= static_cast<int64_t>(insns.size()) && labelled[t]) {
        // The numeric target is the last token of the candidate text; replace it with the label.
        const size_t cut = text.find_last_of(" ");
        text = text.substr(0, cut + 1) + fmt::format("L{}", t);
      }
    }
    out += text;
    out += '\n';
  }
  if (labelled[insns.size()]) out += fmt::format("L{}:\n", insns.size());
  return out;
}

}  // namespace userbpf::isa

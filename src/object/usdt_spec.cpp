#include "object/usdt_spec.hpp"

#include <fmt/format.h>

#include <cctype>
#include <optional>
#include <string>

namespace userbpf::object {
namespace {

// x86-64 struct pt_regs, in words: r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax ip
// cs flags sp ss. Each register with its 64, 32, 16 and 8-bit names (rip has only two).
struct RegisterNames {
  std::string_view names[4];
  int16_t word;
};
constexpr RegisterNames kRegisters[] = {
    {{"rip", "eip", {}, {}}, 16},         {{"rax", "eax", "ax", "al"}, 10},
    {{"rbx", "ebx", "bx", "bl"}, 5},      {{"rcx", "ecx", "cx", "cl"}, 11},
    {{"rdx", "edx", "dx", "dl"}, 12},     {{"rsi", "esi", "si", "sil"}, 13},
    {{"rdi", "edi", "di", "dil"}, 14},    {{"rbp", "ebp", "bp", "bpl"}, 4},
    {{"rsp", "esp", "sp", "spl"}, 19},    {{"r8", "r8d", "r8w", "r8b"}, 9},
    {{"r9", "r9d", "r9w", "r9b"}, 8},     {{"r10", "r10d", "r10w", "r10b"}, 7},
    {{"r11", "r11d", "r11w", "r11b"}, 6}, {{"r12", "r12d", "r12w", "r12b"}, 3},
    {{"r13", "r13d", "r13w", "r13b"}, 2}, {{"r14", "r14d", "r14w", "r14b"}, 1},
    {{"r15", "r15d", "r15w", "r15b"}, 0},
};

// libbpf reads register names with a 15-character sscanf field.
constexpr size_t kMaxRegisterName = 15;

// A cursor with the matching rules of the sscanf formats libbpf uses: a blank in the format skips
// any white space, %d/%ld take an optional sign and decimal digits after white space.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}
  size_t pos() const { return pos_; }
  void blanks() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool literal(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::optional<int64_t> number() {
    blanks();
    size_t p = pos_;
    bool negative = false;
    if (p < text_.size() && (text_[p] == '-' || text_[p] == '+')) negative = text_[p++] == '-';
    const size_t digits = p;
    uint64_t value = 0;
    while (p < text_.size() && std::isdigit(static_cast<unsigned char>(text_[p]))) {
      value = value * 10 + static_cast<uint64_t>(text_[p++] - '0');
    }
    if (p == digits) return std::nullopt;
    pos_ = p;
    return negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
  }
  // %15[^)]: one to fifteen characters other than ')'.
  std::optional<std::string_view> until_paren() {
    size_t p = pos_;
    while (p < text_.size() && text_[p] != ')' && p - pos_ < kMaxRegisterName) ++p;
    if (p == pos_) return std::nullopt;
    std::string_view out = text_.substr(pos_, p - pos_);
    pos_ = p;
    return out;
  }
  // %15s: one to fifteen non-blank characters (after white space).
  std::optional<std::string_view> word() {
    blanks();
    size_t p = pos_;
    while (p < text_.size() && !std::isspace(static_cast<unsigned char>(text_[p])) &&
           p - pos_ < kMaxRegisterName) {
      ++p;
    }
    if (p == pos_) return std::nullopt;
    std::string_view out = text_.substr(pos_, p - pos_);
    pos_ = p;
    return out;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// " %d @ " : the size and the '@'.
std::optional<int64_t> size_and_at(Scanner& s) {
  s.blanks();
  auto size = s.number();
  if (!size) return std::nullopt;
  s.blanks();
  if (!s.literal('@')) return std::nullopt;
  s.blanks();
  return size;
}

// " ( %REG ) " after the offset of a memory operand.
std::optional<std::string_view> paren_register(Scanner& s) {
  s.blanks();
  if (!s.literal('(')) return std::nullopt;
  s.blanks();
  if (!s.literal('%')) return std::nullopt;
  auto reg = s.until_paren();
  if (!reg || !s.literal(')')) return std::nullopt;
  s.blanks();
  return reg;
}

Status set_register(UsdtArgSpec& spec, std::string_view reg) {
  const int offset = usdt_pt_regs_offset(reg);
  if (offset < 0) {
    return make_error(Errc::invalid_argument, fmt::format("unrecognized register '{}'", reg));
  }
  spec.reg_off = static_cast<int16_t>(offset);
  return ok_status();
}

}  // namespace

int usdt_pt_regs_offset(std::string_view reg) {
  if (reg.empty()) return -1;
  for (const RegisterNames& r : kRegisters) {
    for (std::string_view name : r.names) {
      if (name == reg) return r.word * 8;
    }
  }
  return -1;
}

Result<ParsedUsdtArg> parse_usdt_arg(std::string_view text, int index) {
  ParsedUsdtArg out;
  // The forms in libbpf's order: off(%reg), (%reg), %reg, $const.
  {
    Scanner s(text);
    auto size = size_and_at(s);
    auto offset = size ? s.number() : std::nullopt;
    auto reg = offset ? paren_register(s) : std::nullopt;
    if (reg) {
      out.size = static_cast<int>(*size);
      out.spec.arg_type = kUsdtArgRegDeref;
      out.spec.val_off = static_cast<uint64_t>(*offset);
      if (Status st = set_register(out.spec, *reg); !st) return st.error();
      out.consumed = s.pos();
      return out;
    }
  }
  {
    Scanner s(text);
    auto size = size_and_at(s);
    auto reg = size ? paren_register(s) : std::nullopt;
    if (reg) {
      out.size = static_cast<int>(*size);
      out.spec.arg_type = kUsdtArgRegDeref;
      if (Status st = set_register(out.spec, *reg); !st) return st.error();
      out.consumed = s.pos();
      return out;
    }
  }
  {
    Scanner s(text);
    auto size = size_and_at(s);
    std::optional<std::string_view> reg;
    if (size && s.literal('%')) reg = s.word();
    if (reg) {
      s.blanks();
      out.size = static_cast<int>(*size);
      out.spec.arg_type = kUsdtArgReg;
      if (Status st = set_register(out.spec, *reg); !st) return st.error();
      out.consumed = s.pos();
      return out;
    }
  }
  {
    Scanner s(text);
    auto size = size_and_at(s);
    std::optional<int64_t> value;
    if (size && s.literal('$')) value = s.number();
    if (value) {
      s.blanks();
      out.size = static_cast<int>(*size);
      out.spec.arg_type = kUsdtArgConst;
      out.spec.val_off = static_cast<uint64_t>(*value);
      out.consumed = s.pos();
      return out;
    }
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("unrecognized arg #{} spec '{}'", index, text));
}

Result<UsdtSpec> parse_usdt_spec(std::string_view args, uint64_t cookie) {
  UsdtSpec spec;
  spec.usdt_cookie = cookie;
  std::string_view rest = args;
  while (!rest.empty() && rest.front() != '\0') {
    if (spec.arg_cnt >= kUsdtMaxArgs) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("too many USDT arguments (> {}) in args spec '{}'", kUsdtMaxArgs, args));
    }
    auto arg = parse_usdt_arg(rest, spec.arg_cnt);
    if (!arg) return arg.take_error();
    UsdtArgSpec& out = spec.args[spec.arg_cnt];
    out = arg->spec;
    out.arg_signed = arg->size < 0;
    const int size = arg->size < 0 ? -arg->size : arg->size;
    if (size != 1 && size != 2 && size != 4 && size != 8) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("unsupported arg #{} (spec '{}') size: {}", spec.arg_cnt, rest, size));
    }
    out.arg_bitshift = static_cast<int8_t>(64 - size * 8);
    rest.remove_prefix(arg->consumed);
    ++spec.arg_cnt;
  }
  return spec;
}

}  // namespace userbpf::object

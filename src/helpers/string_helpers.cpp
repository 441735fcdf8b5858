// String helpers of kernel/bpf/helpers.c: bpf_strncmp, bpf_strtol, bpf_strtoul, with the
// parsing rules of the kernel's kstrtox (base prefixes, overflow, at most 63 characters parsed).
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

uint64_t err(int e) {
  return static_cast<uint64_t>(static_cast<int64_t>(e));
}

// The kernel's isspace(): its ctype table also counts Latin-1 NBSP (0xa0) as space.
bool kernel_isspace(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}
bool is_hex_digit(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

// bpf_strncmp's first argument needs s1_sz readable bytes; the second is a NUL-terminated
// constant. Linux's strncmp answers -1, 0 or 1.
uint64_t strncmp_helper(uint64_t s1, uint64_t s1_sz, uint64_t s2, uint64_t, uint64_t,
                        CallContext& call) {
  const uint32_t n = static_cast<uint32_t>(s1_sz);
  if (!may_access(call, s1, n, false)) return err(-EFAULT);
  const auto* a = reinterpret_cast<const unsigned char*>(s1);
  const auto* b = reinterpret_cast<const unsigned char*>(s2);
  for (uint32_t i = 0; i < n; ++i) {
    if (!may_access(call, s2 + i, 1, false)) return err(-EFAULT);
    if (a[i] != b[i]) return a[i] < b[i] ? err(-1) : 1;
    if (a[i] == 0) break;
  }
  return 0;
}

constexpr uint32_t kBaseMask = 0x1f;  // BPF_STRTOX_BASE_MASK

struct Parsed {
  int64_t consumed = 0;  // characters used, or a negative errno
  uint64_t value = 0;
  bool negative = false;
};

// __bpf_strtoull: skip space, an optional '-', then parse like the kernel's _parse_integer on a
// NUL-terminated copy of at most 63 characters.
Parsed parse_unsigned(CallContext& call, uint64_t buf, uint64_t buf_len, uint64_t flags) {
  Parsed out;
  uint32_t base = static_cast<uint32_t>(flags & kBaseMask);
  if (!buf || !buf_len) return {-EINVAL};
  if (base != 0 && base != 8 && base != 10 && base != 16) return {-EINVAL};
  if (flags & ~uint64_t{kBaseMask}) return {-EINVAL};
  if (!may_access(call, buf, buf_len, false)) return {-EFAULT};
  const auto* s = reinterpret_cast<const unsigned char*>(buf);
  size_t pos = 0;
  while (pos < buf_len && kernel_isspace(s[pos])) ++pos;
  out.negative = pos < buf_len && s[pos] == '-';
  if (out.negative) ++pos;
  const size_t prefix = pos;
  if (pos == buf_len) return {-EINVAL};
  char str[64] = {};
  const size_t len = buf_len - pos < sizeof str - 1 ? buf_len - pos : sizeof str - 1;
  std::memcpy(str, s + pos, len);

  const char* p = str;
  if (base == 0) {
    if (p[0] == '0')
      base = ((p[1] | 0x20) == 'x' && is_hex_digit(static_cast<unsigned char>(p[2]))) ? 16 : 8;
    else
      base = 10;
  }
  if (base == 16 && p[0] == '0' && (p[1] | 0x20) == 'x') p += 2;

  uint64_t value = 0;
  bool overflow = false;
  size_t digits = 0;
  for (;; ++p, ++digits) {
    const unsigned c = static_cast<unsigned char>(*p);
    unsigned digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
      digit = (c | 0x20) - 'a' + 10;
    else
      break;
    if (digit >= base) break;
    if (value > (UINT64_MAX - digit) / base) overflow = true;
    value = value * base + digit;
  }
  if (overflow) return {-ERANGE};
  if (digits == 0) return {-EINVAL};
  out.consumed = static_cast<int64_t>(prefix + static_cast<size_t>(p - str));
  out.value = value;
  return out;
}

uint64_t strtol_helper(uint64_t buf, uint64_t buf_len, uint64_t flags, uint64_t res, uint64_t,
                       CallContext& call) {
  if (!may_access(call, res, 8, true)) return err(-EFAULT);
  int64_t* out = reinterpret_cast<int64_t*>(res);
  *out = 0;
  Parsed parsed = parse_unsigned(call, buf, buf_len, flags);
  if (parsed.consumed < 0) return err(static_cast<int>(parsed.consumed));
  int64_t value;
  if (parsed.negative) {
    value = static_cast<int64_t>(0 - parsed.value);
    if (value > 0) return err(-ERANGE);
  } else {
    value = static_cast<int64_t>(parsed.value);
    if (value < 0) return err(-ERANGE);
  }
  *out = value;
  return static_cast<uint64_t>(parsed.consumed);
}

uint64_t strtoul_helper(uint64_t buf, uint64_t buf_len, uint64_t flags, uint64_t res, uint64_t,
                        CallContext& call) {
  if (!may_access(call, res, 8, true)) return err(-EFAULT);
  uint64_t* out = reinterpret_cast<uint64_t*>(res);
  *out = 0;
  Parsed parsed = parse_unsigned(call, buf, buf_len, flags);
  if (parsed.consumed < 0) return err(static_cast<int>(parsed.consumed));
  if (parsed.negative) return err(-EINVAL);
  *out = parsed.value;
  return static_cast<uint64_t>(parsed.consumed);
}

}  // namespace

void register_string_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_strncmp, {"strncmp", strncmp_helper});
  t.set(BPF_FUNC_strtol, {"strtol", strtol_helper});
  t.set(BPF_FUNC_strtoul, {"strtoul", strtoul_helper});
}

}  // namespace userbpf::helpers

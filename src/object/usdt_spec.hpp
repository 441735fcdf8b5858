// USDT argument specs for x86-64, turned into the records libbpf's BPF side reads. The BPF program
// (`#include <bpf/usdt.bpf.h>`, BPF_USDT, bpf_usdt_arg) looks up `struct __bpf_usdt_spec` in the
// map `__bpf_usdt_specs` by the spec id it gets as its attach cookie; the layouts below are the
// ones of libbpf 1.1's usdt.bpf.h, byte for byte (the installed header users compile against).
//
// An argument spec is SIZE@LOCATION, SIZE one of 1, 2, 4, 8, negative when the value is signed:
//   -4@%edi       a register (any of its 64/32/16/8-bit names) -> BPF_USDT_ARG_REG
//   8@-8(%rbp)    memory at register + offset                  -> BPF_USDT_ARG_REG_DEREF
//   8@(%rsp)      memory at a register                         -> BPF_USDT_ARG_REG_DEREF
//   4@$5          a constant                                   -> BPF_USDT_ARG_CONST
// What libbpf 1.1 refuses is refused with its reasons: scaled-index forms such as
// 8@(%rax,%rdi,8) and symbolic displacements such as 4@counter(%rip) ("unrecognized register",
// "unrecognized arg #N spec"), other sizes ("unsupported arg #N ... size"), more than 12 args.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "userbpf/error.hpp"

namespace userbpf::object {

// enum __bpf_usdt_arg_type
enum UsdtArgType : uint32_t {
  kUsdtArgConst = 0,
  kUsdtArgReg = 1,
  kUsdtArgRegDeref = 2,
};

// struct __bpf_usdt_arg_spec
struct UsdtArgSpec {
  uint64_t val_off = 0;  // the constant, or the offset added to the register for a deref
  uint32_t arg_type = kUsdtArgConst;
  int16_t reg_off = 0;  // offsetof(struct pt_regs, <register>) on x86-64
  bool arg_signed = false;
  int8_t arg_bitshift = 0;  // 64 - 8 * size: clears (or sign-extends) the bits above the value
};
static_assert(sizeof(UsdtArgSpec) == 16);

inline constexpr int kUsdtMaxArgs = 12;  // BPF_USDT_MAX_ARG_CNT

// struct __bpf_usdt_spec
struct UsdtSpec {
  UsdtArgSpec args[kUsdtMaxArgs] = {};
  uint64_t usdt_cookie = 0;  // what bpf_usdt_cookie() returns
  int16_t arg_cnt = 0;
};
static_assert(sizeof(UsdtSpec) == 208);
static_assert(offsetof(UsdtSpec, usdt_cookie) == 192 && offsetof(UsdtSpec, arg_cnt) == 200);

// offsetof(struct pt_regs, REG) for an x86-64 register name without '%' ("rdi", "edi", "di",
// "dil", "r8d", "rip", ...); -1 when the name is unknown.
int usdt_pt_regs_offset(std::string_view reg);

// Parses one argument at the start of `text` (leading blanks skipped); `consumed` is how far it
// and the blanks after it reach. `index` names the argument in errors. The size is validated by
// parse_usdt_spec, as libbpf does.
struct ParsedUsdtArg {
  UsdtArgSpec spec;
  int size = 0;  // as written, negative for signed
  size_t consumed = 0;
};
Result<ParsedUsdtArg> parse_usdt_arg(std::string_view text, int index);

// The whole args string of a note ("" for none) with the attachment's cookie.
Result<UsdtSpec> parse_usdt_spec(std::string_view args, uint64_t cookie = 0);

}  // namespace userbpf::object

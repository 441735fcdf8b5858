// The format engine of bpf_trace_printk, bpf_trace_vprintk, bpf_snprintf and bpf_seq_printf,
// with the rules of Linux's bpf_bprintf_prepare() and the output of bstr_printf():
//   - the format must be NUL-terminated within its size, and hold no ASCII control characters
//     other than white space;
//   - at most `args.size()` conversions; each is %[flags 0+- space][width] followed by
//     d i u x X (with l or ll), c, s, %% or the pointer forms %p %pK %px %ps %pS %pB %pks %pus
//     %pI4 %pi4 %pI6 %pi6; no precision, no other conversions;
//   - %s, %pks, %pus read a string and %pI4/%pI6 an address through a no-fault read: a bad pointer
//     prints as an empty string or a zero address, never faults.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace userbpf::helpers {

inline constexpr size_t kMaxBprintfOutput = 1024;  // MAX_BPRINTF_BUF
inline constexpr size_t kMaxTracePrintkArgs = 3;   // MAX_TRACE_PRINTK_VARARGS
inline constexpr size_t kMaxBprintfArgs = 12;      // MAX_BPRINTF_VARARGS

// `fmt` is the program's buffer of fmt_size bytes (the caller checked it is readable). On
// success returns the length the full output would have (as snprintf) and sets `out` to the
// output truncated to kMaxBprintfOutput - 1 bytes; on a bad format returns -EINVAL.
int bprintf(std::string_view fmt, std::span<const uint64_t> args, std::string& out);

}  // namespace userbpf::helpers

// What a program may do with its context and the kernel objects reached through it, per program
// type and attach type: Linux's <prog>_is_valid_access callbacks (net/core/filter.c,
// kernel/bpf/cgroup.c, kernel/trace/bpf_trace.c, net/netfilter/nf_bpf_link.c), direct packet
// access (may_access_direct_pkt_data), LD_ABS/LD_IND (may_access_skb) and the return-value
// ranges check_return_code enforces. One file per family of context structs:
// context_skb.cpp (__sk_buff), context_sock.cpp (bpf_sock, bpf_sock_addr, bpf_sock_ops,
// sk_msg_md, socket objects), context_other.cpp (xdp_md, sockopt, sysctl, tracing, ...),
// context_access.cpp (the dispatch), return_code.cpp.
#pragma once

#include <cstdint>
#include <optional>

#include "verifier/env.hpp"

namespace userbpf::verifier {

// Linux numbers newer than the installed <linux/bpf.h> (Linux 6.12's uapi).
namespace linux_abi {
constexpr uint32_t kProgTypeNetfilter = 32;
constexpr uint32_t kAttachUnixConnect = 49;
constexpr uint32_t kAttachUnixSendmsg = 50;
constexpr uint32_t kAttachUnixRecvmsg = 51;
constexpr uint32_t kAttachUnixGetpeername = 52;
constexpr uint32_t kAttachUnixGetsockname = 53;
constexpr uint32_t kAttachTraceKprobeSession = 56;
constexpr uint32_t kMapTypeCgrpStorage = 32;
constexpr uint32_t kFuncCgrpStorageGet = 210;
constexpr uint32_t kFuncCgrpStorageDelete = 211;
}  // namespace linux_abi

// One access to the context.
struct CtxAccess {
  int32_t off = 0;
  int size = 0;
  Access access = Access::read;
  bool sign_extend = false;  // BPF_MEMSX loads (Linux's info->is_ldsx)
  bool cap_bpf = true;       // the loader has CAP_BPF (root)
};

// What a read of the field gives: a scalar, or a pointer (packet, packet end, socket, ...).
struct CtxField {
  RegType type = RegType::scalar;
  bool maybe_null = false;
};

// Whether the access is allowed for `program`'s type and attach type; fills `field` for reads.
bool ctx_access_ok(const Program& program, const CtxAccess& access, CtxField& field);

// The per-family rules, for the dispatch in context_access.cpp.
bool skb_ctx_access(uint32_t prog_type, const CtxAccess& access, CtxField& field);
bool sock_ctx_access(uint32_t attach_type, const CtxAccess& access, CtxField& field);
bool sock_addr_ctx_access(uint32_t attach_type, const CtxAccess& access, CtxField& field);
bool sock_ops_ctx_access(const CtxAccess& access, CtxField& field);
bool sk_msg_ctx_access(const CtxAccess& access, CtxField& field);
bool xdp_ctx_access(uint32_t attach_type, const CtxAccess& access, CtxField& field);
bool other_ctx_access(const Program& program, const CtxAccess& access, CtxField& field);

// Reads of the fields of socket objects (PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_TCP_SOCK,
// PTR_TO_XDP_SOCK: Linux's check_sock_access).
bool sock_object_access_ok(RegType type, int32_t off, int size);

// Whether programs of this type may read (or write) packet data directly.
bool may_access_packet(uint32_t prog_type, Access access);

// Whether LD_ABS/LD_IND are allowed (socket buffer programs).
bool may_use_ld_abs(uint32_t prog_type);

// The values a program of this type may return from its main function (check_return_code);
// nullopt when any value is allowed.
struct RetvalRange {
  int32_t min = 0;
  int32_t max = 1;
  bool return_32bit = false;  // compare the 32-bit bounds (LSM hooks returning int)
};
std::optional<RetvalRange> return_range(const Program& program);

// Whether a map of `map_type` may be passed to helper `func_id` (check_map_func_compatibility).
bool map_func_compatible(const Program& program, uint32_t map_type, uint32_t func_id);

// Whether programs of this type may call the helper (their func_proto callback has it);
// helper_availability.cpp.
bool helper_available(const Program& program, uint32_t func_id);

// Whether bpf_base_func_proto gives the helper only to programs loaded with CAP_BPF or
// CAP_PERFMON (spin locks, timers, bpf_loop, dynptrs, probe reads, printk, ...): unprivileged
// programs cannot call it. helper_availability.cpp.
bool helper_needs_capability(uint32_t func_id);

// Whether the helper may move or resize the packet (bpf_helper_changes_pkt_data).
bool helper_changes_packet_data(uint32_t func_id);

// LSM hooks BPF programs may not attach to (bpf_lsm_disabled_hooks).
bool lsm_hook_disabled(const Program& program);

}  // namespace userbpf::verifier

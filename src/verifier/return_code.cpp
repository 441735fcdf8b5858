// What a program's main function may return, per program type and attach type (Linux's
// check_return_code), and the LSM hooks BPF programs may not attach to. LSM hooks are known by
// name: the void ones (any value, nothing checked), the bool ones ([0, 1]) and the disabled ones;
// every other hook returns 0 or a negative errno. The lists are Linux's (kernel/bpf/bpf_lsm.c,
// and the void hooks of include/linux/lsm_hook_defs.h of 6.12 and newer).
#include <linux/bpf.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <string_view>

#include "verifier/context.hpp"

namespace userbpf::verifier {
namespace {

constexpr int32_t kMaxErrno = 4095;

constexpr std::string_view kVoidLsmHooks[] = {"audit_rule_free",
                                              "backing_file_free",
                                              "bdev_free_security",
                                              "bpf_map_free",
                                              "bpf_map_free_security",
                                              "bpf_prog_free",
                                              "bpf_prog_free_security",
                                              "bpf_token_free",
                                              "bprm_committed_creds",
                                              "bprm_committing_creds",
                                              "cred_free",
                                              "cred_getlsmprop",
                                              "cred_getsecid",
                                              "cred_transfer",
                                              "current_getlsmprop_subj",
                                              "current_getsecid_subj",
                                              "d_instantiate",
                                              "file_free_security",
                                              "file_release",
                                              "file_set_fowner",
                                              "inet_conn_established",
                                              "inet_csk_clone",
                                              "initramfs_populated",
                                              "inode_free_security",
                                              "inode_free_security_rcu",
                                              "inode_getlsmprop",
                                              "inode_getsecid",
                                              "inode_invalidate_secctx",
                                              "inode_post_create_tmpfile",
                                              "inode_post_remove_acl",
                                              "inode_post_removexattr",
                                              "inode_post_set_acl",
                                              "inode_post_setattr",
                                              "inode_post_setxattr",
                                              "ipc_getlsmprop",
                                              "ipc_getsecid",
                                              "key_free",
                                              "key_post_create_or_update",
                                              "msg_msg_free_security",
                                              "msg_queue_free_security",
                                              "path_post_mknod",
                                              "release_secctx",
                                              "req_classify_flow",
                                              "sb_delete",
                                              "sb_free_mnt_opts",
                                              "sb_free_security",
                                              "sctp_sk_clone",
                                              "secmark_refcount_dec",
                                              "secmark_refcount_inc",
                                              "sem_free_security",
                                              "shm_free_security",
                                              "sk_clone_security",
                                              "sk_free_security",
                                              "sk_getsecid",
                                              "sock_graft",
                                              "task_free",
                                              "task_getlsmprop_obj",
                                              "task_getsecid_obj",
                                              "task_to_inode",
                                              "tun_dev_free_security",
                                              "xfrm_policy_free_security",
                                              "xfrm_state_free_security",
                                              "ib_free_security",
                                              "perf_event_free"};

constexpr std::string_view kBoolLsmHooks[] = {"xfrm_state_pol_flow_match", "audit_rule_known",
                                              "inode_xattr_skipcap"};

constexpr std::string_view kDisabledLsmHooks[] = {
    "vm_enough_memory",    "inode_need_killpriv", "inode_getsecurity",   "inode_listsecurity",
    "inode_copy_up_xattr", "getselfattr",         "getprocattr",         "setprocattr",
    "key_getsecurity",     "audit_rule_match",    "xfrm_decode_session", "ismaclabel"};

template <size_t N>
bool listed(const std::string_view (&list)[N], std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

bool lsm_hook_is_void(const Program& p) {
  return listed(kVoidLsmHooks, p.attach_target);
}

}  // namespace

std::optional<RetvalRange> return_range(const Program& p) {
  const uint32_t attach = p.expected_attach_type;
  RetvalRange range{0, 1, false};
  switch (p.prog_type) {
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
      switch (attach) {
        case BPF_CGROUP_UDP4_RECVMSG:
        case BPF_CGROUP_UDP6_RECVMSG:
        case linux_abi::kAttachUnixRecvmsg:
        case BPF_CGROUP_INET4_GETPEERNAME:
        case BPF_CGROUP_INET6_GETPEERNAME:
        case linux_abi::kAttachUnixGetpeername:
        case BPF_CGROUP_INET4_GETSOCKNAME:
        case BPF_CGROUP_INET6_GETSOCKNAME:
        case linux_abi::kAttachUnixGetsockname: range = {1, 1, false}; break;
        case BPF_CGROUP_INET4_BIND:
        case BPF_CGROUP_INET6_BIND: range = {0, 3, false}; break;
        default: break;
      }
      return range;
    case BPF_PROG_TYPE_CGROUP_SKB:
      if (attach == BPF_CGROUP_INET_EGRESS) range = {0, 3, false};
      return range;
    case BPF_PROG_TYPE_CGROUP_SOCK:
    case BPF_PROG_TYPE_SOCK_OPS:
    case BPF_PROG_TYPE_CGROUP_DEVICE:
    case BPF_PROG_TYPE_CGROUP_SYSCTL:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
    case BPF_PROG_TYPE_SK_LOOKUP:        // SK_DROP..SK_PASS
    case linux_abi::kProgTypeNetfilter:  // NF_DROP..NF_ACCEPT
      return range;
    case BPF_PROG_TYPE_TRACING:
      switch (attach) {
        case BPF_TRACE_FENTRY:
        case BPF_TRACE_FEXIT: return RetvalRange{0, 0, false};
        case BPF_TRACE_ITER: return range;
        default: return std::nullopt;
      }
    case BPF_PROG_TYPE_KPROBE:
      if (attach == linux_abi::kAttachTraceKprobeSession) return range;
      return std::nullopt;
    case BPF_PROG_TYPE_LSM:
      if (attach == BPF_LSM_CGROUP) {
        // A cgroup LSM program on a void hook must leave the return value alone.
        if (lsm_hook_is_void(p)) return RetvalRange{1, 1, false};
        return range;
      }
      if (lsm_hook_is_void(p)) return std::nullopt;
      if (listed(kBoolLsmHooks, p.attach_target)) return RetvalRange{0, 1, true};
      return RetvalRange{-kMaxErrno, 0, true};
    default: return std::nullopt;
  }
}

bool lsm_hook_disabled(const Program& p) {
  return p.prog_type == BPF_PROG_TYPE_LSM && listed(kDisabledLsmHooks, p.attach_target);
}

bool Env::check_return_code(const VerifierState& st) {
  const std::optional<RetvalRange> range = return_range(program());
  if (!range) return true;
  const RegState& r0 = st.cur().regs[0];
  if (r0.type != RegType::scalar)
    return reject("At program exit the register R0 is not a known value ({})", reg_type_name(r0));
  mark_precise(st, 0);  // the verdict depends on its range
  const bool within = range->return_32bit ? range->min <= r0.s32_min && r0.s32_max <= range->max
                                          : range->min <= r0.smin && r0.smax <= range->max;
  if (within) return true;
  std::string bounds;
  if (r0.smin > std::numeric_limits<int64_t>::min()) bounds += fmt::format(" smin={}", r0.smin);
  if (r0.smax < std::numeric_limits<int64_t>::max()) bounds += fmt::format(" smax={}", r0.smax);
  if (bounds.empty()) bounds = " unknown scalar value";
  return reject("At program exit the register R0 has{} should have been in [{}, {}]", bounds,
                range->min, range->max);
}

}  // namespace userbpf::verifier

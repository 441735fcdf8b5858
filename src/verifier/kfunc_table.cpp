// Linux 6.12's kfuncs that userbpf verifies, from their BTF_ID_FLAGS sets: common_btf_ids and
// generic_btf_ids (kernel/bpf/helpers.c), cpumask_kfunc_set (kernel/bpf/cpumask.c),
// key_sig_kfunc_set (kernel/trace/bpf_trace.c) and bpf_fs_kfunc_set_ids (fs/bpf_fs_kfuncs.c).
// A kfunc missing here is refused by name; it is never guessed.
#include "verifier/kfunc_table.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <array>
#include <string>

#include "verifier/context.hpp"

namespace userbpf::verifier {
namespace {

// Linux's enum btf_kfunc_hook, as bits.
enum KfuncHook : uint32_t {
  kHookCommon = 1u << 0,
  kHookXdp = 1u << 1,
  kHookTc = 1u << 2,
  kHookStructOps = 1u << 3,
  kHookTracing = 1u << 4,
  kHookSyscall = 1u << 5,
  kHookCgroup = 1u << 7,
  kHookSchedAct = 1u << 8,
  kHookSkSkb = 1u << 9,
  kHookSocketFilter = 1u << 10,
  kHookLwt = 1u << 11,
  kHookNetfilter = 1u << 12,
  kHookKprobe = 1u << 13,
};

// bpf_prog_type_to_kfunc_hook.
uint32_t hook_of(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_XDP: return kHookXdp;
    case BPF_PROG_TYPE_SCHED_CLS: return kHookTc;
    case BPF_PROG_TYPE_STRUCT_OPS: return kHookStructOps;
    case BPF_PROG_TYPE_TRACING:
    case BPF_PROG_TYPE_TRACEPOINT:
    case BPF_PROG_TYPE_PERF_EVENT:
    case BPF_PROG_TYPE_LSM: return kHookTracing;
    case BPF_PROG_TYPE_SYSCALL: return kHookSyscall;
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_CGROUP_SOCK:
    case BPF_PROG_TYPE_CGROUP_DEVICE:
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
    case BPF_PROG_TYPE_CGROUP_SYSCTL: return kHookCgroup;
    case BPF_PROG_TYPE_SCHED_ACT: return kHookSchedAct;
    case BPF_PROG_TYPE_SK_SKB: return kHookSkSkb;
    case BPF_PROG_TYPE_SOCKET_FILTER: return kHookSocketFilter;
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL: return kHookLwt;
    case linux_abi::kProgTypeNetfilter: return kHookNetfilter;
    case BPF_PROG_TYPE_KPROBE: return kHookKprobe;
    default: return 0;  // BTF_KFUNC_HOOK_MAX: only the common set
  }
}

// Where each set is registered (the register_btf_kfunc_id_set calls).
constexpr uint32_t kCommonSet = kHookCommon;
constexpr uint32_t kGenericSet =
    kHookTracing | kHookTc | kHookXdp | kHookStructOps | kHookSyscall | kHookCgroup;
constexpr uint32_t kCpumaskSet = kHookTracing | kHookStructOps | kHookSyscall;
constexpr uint32_t kKeySigSet = kHookTracing;
constexpr uint32_t kFsSet = kHookTracing;  // registered for LSM; its filter admits only LSM

using namespace kf;

struct Entry {
  std::string_view name;
  uint32_t flags;
  std::string_view declaration;
  uint32_t hooks;
  bool lsm_only = false;
};

constexpr Entry kEntries[] = {
    // common_btf_ids
    {"bpf_cast_to_kern_ctx", 0, "void *bpf_cast_to_kern_ctx(void *obj)", kCommonSet},
    {"bpf_rdonly_cast", 0, "void *bpf_rdonly_cast(const void *obj__ign, u32 btf_id__k)",
     kCommonSet},
    {"bpf_rcu_read_lock", 0, "void bpf_rcu_read_lock(void)", kCommonSet},
    {"bpf_rcu_read_unlock", 0, "void bpf_rcu_read_unlock(void)", kCommonSet},
    {"bpf_iter_num_new", kIterNew,
     "int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end)", kCommonSet},
    {"bpf_iter_num_next", kIterNext | kRetNull, "int *bpf_iter_num_next(struct bpf_iter_num *it)",
     kCommonSet},
    {"bpf_iter_num_destroy", kIterDestroy, "void bpf_iter_num_destroy(struct bpf_iter_num *it)",
     kCommonSet},
    {"bpf_iter_task_vma_new", kIterNew | kRcu,
     "int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task, u64 addr)",
     kCommonSet},
    {"bpf_iter_task_vma_next", kIterNext | kRetNull,
     "struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it)", kCommonSet},
    {"bpf_iter_task_vma_destroy", kIterDestroy,
     "void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it)", kCommonSet},
    {"bpf_preempt_disable", 0, "void bpf_preempt_disable(void)", kCommonSet},
    {"bpf_preempt_enable", 0, "void bpf_preempt_enable(void)", kCommonSet},
    {"bpf_iter_bits_new", kIterNew,
     "int bpf_iter_bits_new(struct bpf_iter_bits *it, const u64 *unsafe_ptr__ign, u32 nr_words)",
     kCommonSet},
    {"bpf_iter_bits_next", kIterNext | kRetNull,
     "int *bpf_iter_bits_next(struct bpf_iter_bits *it)", kCommonSet},
    {"bpf_iter_bits_destroy", kIterDestroy, "void bpf_iter_bits_destroy(struct bpf_iter_bits *it)",
     kCommonSet},
    // generic_btf_ids
    {"bpf_task_acquire", kAcquire | kRcu | kRetNull,
     "struct task_struct *bpf_task_acquire(struct task_struct *p)", kGenericSet},
    {"bpf_task_release", kRelease, "void bpf_task_release(struct task_struct *p)", kGenericSet},
    {"bpf_cgroup_acquire", kAcquire | kRcu | kRetNull,
     "struct cgroup *bpf_cgroup_acquire(struct cgroup *cgrp)", kGenericSet},
    {"bpf_cgroup_release", kRelease, "void bpf_cgroup_release(struct cgroup *cgrp)", kGenericSet},
    {"bpf_cgroup_from_id", kAcquire | kRetNull, "struct cgroup *bpf_cgroup_from_id(u64 cgid)",
     kGenericSet},
    {"bpf_task_from_pid", kAcquire | kRetNull, "struct task_struct *bpf_task_from_pid(s32 pid)",
     kGenericSet},
    // cpumask_kfunc_set
    {"bpf_cpumask_create", kAcquire | kRetNull, "struct bpf_cpumask *bpf_cpumask_create(void)",
     kCpumaskSet},
    {"bpf_cpumask_release", kRelease, "void bpf_cpumask_release(struct bpf_cpumask *cpumask)",
     kCpumaskSet},
    {"bpf_cpumask_acquire", kAcquire | kTrustedArgs,
     "struct bpf_cpumask *bpf_cpumask_acquire(struct bpf_cpumask *cpumask)", kCpumaskSet},
    {"bpf_cpumask_set_cpu", kRcu, "void bpf_cpumask_set_cpu(u32 cpu, struct bpf_cpumask *cpumask)",
     kCpumaskSet},
    {"bpf_cpumask_test_cpu", kRcu,
     "bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask)", kCpumaskSet},
    // key_sig_kfunc_set
    {"bpf_lookup_user_key", kAcquire | kRetNull | kSleepable,
     "struct bpf_key *bpf_lookup_user_key(u32 serial, u64 flags)", kKeySigSet},
    {"bpf_lookup_system_key", kAcquire | kRetNull, "struct bpf_key *bpf_lookup_system_key(u64 id)",
     kKeySigSet},
    {"bpf_key_put", kRelease, "void bpf_key_put(struct bpf_key *bkey)", kKeySigSet},
    // bpf_fs_kfunc_set_ids
    {"bpf_get_task_exe_file", kAcquire | kTrustedArgs | kRetNull,
     "struct file *bpf_get_task_exe_file(struct task_struct *task)", kFsSet, true},
    {"bpf_put_file", kRelease, "void bpf_put_file(struct file *file)", kFsSet, true},
    {"bpf_path_d_path", kTrustedArgs,
     "int bpf_path_d_path(struct path *path, char *buf, size_t buf__sz)", kFsSet, true},
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

uint32_t scalar_size(std::string_view type) {
  static constexpr std::pair<std::string_view, uint32_t> kSizes[] = {
      {"bool", 1},         {"char", 1},         {"u8", 1},     {"s8", 1},    {"u16", 2},
      {"s16", 2},          {"int", 4},          {"u32", 4},    {"s32", 4},   {"u64", 8},
      {"s64", 8},          {"long", 8},         {"size_t", 8}, {"__u64", 8}, {"__u32", 4},
      {"unsigned int", 4}, {"unsigned long", 8}};
  for (const auto& [name, size] : kSizes)
    if (name == type) return size;
  return 0;
}

KfuncDef make_def(const Entry& e) {
  KfuncDef def;
  def.name = e.name;
  def.flags = e.flags;
  def.declaration = e.declaration;
  def.hooks = e.hooks;
  def.lsm_only = e.lsm_only;
  const std::string_view decl = e.declaration;
  const size_t open = decl.find('(');
  const size_t name_at = decl.rfind(e.name, open);
  def.proto.ret = parse_kernel_param(decl.substr(0, name_at), false);
  std::string_view params = decl.substr(open + 1, decl.rfind(')') - open - 1);
  if (trim(params) == "void") return def;
  while (!params.empty()) {
    const size_t comma = params.find(',');
    def.proto.params.push_back(parse_kernel_param(params.substr(0, comma), true));
    if (comma == std::string_view::npos) break;
    params.remove_prefix(comma + 1);
  }
  return def;
}

const std::vector<KfuncDef>& table() {
  static const std::vector<KfuncDef> defs = [] {
    std::vector<KfuncDef> v;
    for (const Entry& e : kEntries) v.push_back(make_def(e));
    return v;
  }();
  return defs;
}

}  // namespace

KfuncParam parse_kernel_param(std::string_view text, bool with_name) {
  KfuncParam p;
  text = trim(text);
  if (text.substr(0, 6) == "const ") text = trim(text.substr(6));
  const size_t star = text.rfind('*');
  std::string_view type = text;
  if (star != std::string_view::npos) {
    p.pointer = true;
    type = trim(text.substr(0, star));
    if (with_name) p.name = std::string(trim(text.substr(star + 1)));
  } else if (with_name) {
    const size_t space = text.rfind(' ');
    p.name = std::string(text.substr(space + 1));
    type = trim(text.substr(0, space));
  }
  if (type.substr(0, 6) == "const ") type = trim(type.substr(6));
  if (type.substr(0, 7) == "struct ") {
    p.is_struct = true;
    type = trim(type.substr(7));
    p.size = kernel_struct_size(type);
  } else {
    p.size = scalar_size(type);
  }
  p.type = std::string(type);
  return p;
}

const KfuncDef* find_kfunc(std::string_view name) {
  for (const KfuncDef& def : table())
    if (def.name == name) return &def;
  return nullptr;
}

bool kfunc_allowed(const KfuncDef& kfunc, uint32_t prog_type) {
  if (kfunc.hooks & kHookCommon) return true;
  if ((kfunc.hooks & hook_of(prog_type)) == 0) return false;
  return !kfunc.lsm_only || prog_type == BPF_PROG_TYPE_LSM;
}

uint32_t kernel_struct_size(std::string_view name) {
  // The opaque iterator states of the uapi and kernel/bpf (struct bpf_iter_<type>).
  static constexpr std::pair<std::string_view, uint32_t> kSizes[] = {
      {"bpf_iter_num", 8}, {"bpf_iter_bits", 16}, {"bpf_iter_task_vma", 8}};
  for (const auto& [n, size] : kSizes)
    if (n == name) return size;
  return 0;
}

bool kernel_struct_matches(std::string_view have, std::string_view want, bool strict) {
  if (have == want) return true;
  if (strict) return false;
  // First members at offset 0 (vmlinux BTF): walking them is what btf_struct_ids_match does.
  static constexpr std::pair<std::string_view, std::string_view> kFirstMember[] = {
      {"bpf_cpumask", "cpumask"},
      {"tcp_sock", "inet_connection_sock"},
      {"inet_connection_sock", "inet_sock"},
      {"inet_sock", "sock"},
      {"sock", "sock_common"},
      {"udp_sock", "inet_sock"},
      {"unix_sock", "sock"},
  };
  for (int depth = 0; depth < 8; ++depth) {
    bool stepped = false;
    for (const auto& [outer, first] : kFirstMember) {
      if (outer == have) {
        have = first;
        stepped = true;
        break;
      }
    }
    if (!stepped) return false;
    if (have == want) return true;
  }
  return false;
}

std::string_view kernel_ctx_struct(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
    case BPF_PROG_TYPE_SK_SKB: return "sk_buff";
    case BPF_PROG_TYPE_XDP: return "xdp_buff";
    case BPF_PROG_TYPE_CGROUP_SOCK: return "sock";
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR: return "bpf_sock_addr_kern";
    case BPF_PROG_TYPE_SOCK_OPS: return "bpf_sock_ops_kern";
    case BPF_PROG_TYPE_SK_MSG: return "sk_msg";
    case BPF_PROG_TYPE_FLOW_DISSECTOR: return "bpf_flow_dissector";
    case BPF_PROG_TYPE_KPROBE: return "pt_regs";
    case BPF_PROG_TYPE_PERF_EVENT: return "bpf_perf_event_data_kern";
    case BPF_PROG_TYPE_CGROUP_DEVICE: return "bpf_cgroup_dev_ctx";
    case BPF_PROG_TYPE_CGROUP_SYSCTL: return "bpf_sysctl_kern";
    case BPF_PROG_TYPE_CGROUP_SOCKOPT: return "bpf_sockopt_kern";
    case BPF_PROG_TYPE_SK_REUSEPORT: return "sk_reuseport_kern";
    case BPF_PROG_TYPE_SK_LOOKUP: return "bpf_sk_lookup_kern";
    case linux_abi::kProgTypeNetfilter: return "bpf_nf_ctx";
    default: return {};  // u64, u32 or void *
  }
}

std::string_view user_ctx_struct(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
    case BPF_PROG_TYPE_SK_SKB:
    case BPF_PROG_TYPE_FLOW_DISSECTOR: return "__sk_buff";
    case BPF_PROG_TYPE_XDP: return "xdp_md";
    case BPF_PROG_TYPE_CGROUP_SOCK: return "bpf_sock";
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR: return "bpf_sock_addr";
    case BPF_PROG_TYPE_SOCK_OPS: return "bpf_sock_ops";
    case BPF_PROG_TYPE_SK_MSG: return "sk_msg_md";
    case BPF_PROG_TYPE_PERF_EVENT: return "bpf_perf_event_data";
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: return "bpf_raw_tracepoint_args";
    case BPF_PROG_TYPE_CGROUP_DEVICE: return "bpf_cgroup_dev_ctx";
    case BPF_PROG_TYPE_CGROUP_SYSCTL: return "bpf_sysctl";
    case BPF_PROG_TYPE_CGROUP_SOCKOPT: return "bpf_sockopt";
    case BPF_PROG_TYPE_SK_REUSEPORT: return "sk_reuseport_md";
    case BPF_PROG_TYPE_SK_LOOKUP: return "bpf_sk_lookup";
    case linux_abi::kProgTypeNetfilter: return "bpf_nf_ctx";
    default: return {};
  }
}

}  // namespace userbpf::verifier

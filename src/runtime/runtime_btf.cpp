// Builds the runtime's BTF with libbpf's btf__add_* API; see runtime_btf.hpp. Layouts come from
// offsetof on the real structs (<linux/bpf.h>, <asm/ptrace.h>, the models in the header), so the
// BTF can't drift from the memory programs are given.
#include "runtime/runtime_btf.hpp"

#include <asm/ptrace.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>

#include <cerrno>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace userbpf::runtime {
namespace {

static_assert(sizeof(TraceEntryModel) == 8 && sizeof(SysEnterModel) == 64 &&
                  sizeof(SysExitModel) == 24 && sizeof(SchedProcessExecModel) == 20 &&
                  sizeof(SchedProcessForkModel) == 24 && sizeof(SchedProcessTemplateModel) == 20 &&
                  sizeof(SchedProcessExitModel) == 36,
              "tracepoint records must keep the kernel's sizes");

struct Field {
  const char* name;
  int type;
  size_t byte_offset;
  uint32_t bitfield_size = 0;
};

// Adds types and remembers the first failure; ids of failed additions are negative and every
// later use of them fails too, so one check at the end suffices.
class Builder {
 public:
  explicit Builder(::btf* b) : b_(b) {}
  int error() const { return err_; }

  int integer(const char* name, size_t size, int encoding) {
    return named_[name] = check(btf__add_int(b_, name, size, encoding));
  }
  int type_def(const char* name, int ref) {
    return named_[name] = check(btf__add_typedef(b_, name, ref));
  }
  int ptr(int ref) { return check(btf__add_ptr(b_, ref)); }
  int konst(int ref) { return check(btf__add_const(b_, ref)); }
  int array(int elem, uint32_t n) { return check(btf__add_array(b_, named_.at("int"), elem, n)); }
  int fwd_struct(const char* name) { return check(btf__add_fwd(b_, name, BTF_FWD_STRUCT)); }
  int enumeration(const char* name, std::initializer_list<std::pair<const char*, int64_t>> values) {
    const int id = check(btf__add_enum(b_, name, 4));
    for (const auto& [n, v] : values) check(btf__add_enum_value(b_, n, v));
    return named_[name] = id;
  }
  // An enum whose values need 64 bits (BTF_KIND_ENUM64).
  int enumeration64(const char* name,
                    std::initializer_list<std::pair<const char*, uint64_t>> values) {
    const int id = check(btf__add_enum64(b_, name, 8, false));
    for (const auto& [n, v] : values) check(btf__add_enum64_value(b_, n, v));
    return id;
  }
  int type(const char* name) const { return named_.at(name); }
  // The id the next added type gets: lets a pointer name its struct before the struct exists
  // (self-referential task_struct).
  int next_id() const { return static_cast<int>(btf__type_cnt(b_)); }

  int structure(const char* name, size_t size, const std::vector<Field>& fields) {
    const int id = check(btf__add_struct(b_, name, static_cast<uint32_t>(size)));
    for (const Field& f : fields)
      check(btf__add_field(b_, f.name, f.type, static_cast<uint32_t>(f.byte_offset * 8),
                           f.bitfield_size));
    return named_[name] = id;
  }

  void fail(int err) {
    if (err_ == 0) err_ = err;
  }

 private:
  int check(int id) {
    if (id < 0) fail(id);
    return id;
  }
  ::btf* b_;
  int err_ = 0;
  std::map<std::string, int> named_;
};

void add_base_types(Builder& t) {
  // The base types as vmlinux BTF names them (pahole writes GCC's names).
  t.integer("char", 1, BTF_INT_SIGNED);
  t.integer("signed char", 1, BTF_INT_SIGNED);
  t.integer("unsigned char", 1, 0);
  t.integer("short int", 2, BTF_INT_SIGNED);
  t.integer("short unsigned int", 2, 0);
  t.integer("int", 4, BTF_INT_SIGNED);
  t.integer("unsigned int", 4, 0);
  t.integer("long int", 8, BTF_INT_SIGNED);
  t.integer("long unsigned int", 8, 0);
  t.integer("long long int", 8, BTF_INT_SIGNED);
  t.integer("long long unsigned int", 8, 0);
  t.integer("_Bool", 1, BTF_INT_BOOL);

  t.type_def("__s8", t.type("signed char"));
  t.type_def("__u8", t.type("unsigned char"));
  t.type_def("__s16", t.type("short int"));
  t.type_def("__u16", t.type("short unsigned int"));
  t.type_def("__s32", t.type("int"));
  t.type_def("__u32", t.type("unsigned int"));
  t.type_def("__s64", t.type("long long int"));
  t.type_def("__u64", t.type("long long unsigned int"));
  t.type_def("s8", t.type("__s8"));
  t.type_def("u8", t.type("__u8"));
  t.type_def("s16", t.type("__s16"));
  t.type_def("u16", t.type("__u16"));
  t.type_def("s32", t.type("__s32"));
  t.type_def("u32", t.type("__u32"));
  t.type_def("s64", t.type("__s64"));
  t.type_def("u64", t.type("__u64"));
  t.type_def("__be16", t.type("__u16"));
  t.type_def("__be32", t.type("__u32"));
  t.type_def("__wsum", t.type("__u32"));
  t.type_def("__kernel_pid_t", t.type("int"));
  t.type_def("pid_t", t.type("__kernel_pid_t"));
  t.type_def("__kernel_uid32_t", t.type("unsigned int"));
  t.type_def("uid_t", t.type("__kernel_uid32_t"));
  t.type_def("__kernel_gid32_t", t.type("unsigned int"));
  t.type_def("gid_t", t.type("__kernel_gid32_t"));
  t.type_def("__kernel_size_t", t.type("long unsigned int"));
  t.type_def("size_t", t.type("__kernel_size_t"));
  t.type_def("bool", t.type("_Bool"));
}

#define FIELD(model, member, type_id)         \
  Field {                                     \
#member, type_id, offsetof(model, member) \
  }

void add_contexts(Builder& t) {
  const int u32 = t.type("__u32");
  const int u64 = t.type("__u64");
  const int u8 = t.type("__u8");
  const int s32 = t.type("__s32");
  const int be16 = t.type("__be16");
  const int ulong = t.type("long unsigned int");

  // x86-64 struct pt_regs with the kernel's field names (arch/x86/include/asm/ptrace.h), which
  // bpf_tracing.h's PT_REGS_* macros use under vmlinux.h; the layout is <asm/ptrace.h>'s.
  static_assert(sizeof(pt_regs) == 21 * 8 && offsetof(pt_regs, rdi) == 14 * 8 &&
                offsetof(pt_regs, ss) == 20 * 8);
  const char* regs[] = {"r15", "r14",     "r13", "r12", "bp",    "bx", "r11",
                        "r10", "r9",      "r8",  "ax",  "cx",    "dx", "si",
                        "di",  "orig_ax", "ip",  "cs",  "flags", "sp", "ss"};
  std::vector<Field> pt;
  for (size_t i = 0; i < std::size(regs); ++i) pt.push_back({regs[i], ulong, i * 8});
  t.structure("pt_regs", sizeof(pt_regs), pt);

  t.structure("xdp_md", sizeof(xdp_md),
              {FIELD(xdp_md, data, u32), FIELD(xdp_md, data_end, u32),
               FIELD(xdp_md, data_meta, u32), FIELD(xdp_md, ingress_ifindex, u32),
               FIELD(xdp_md, rx_queue_index, u32), FIELD(xdp_md, egress_ifindex, u32)});

  const int ip6 = t.array(u32, 4);
  t.structure(
      "bpf_sock", sizeof(bpf_sock),
      {FIELD(bpf_sock, bound_dev_if, u32), FIELD(bpf_sock, family, u32), FIELD(bpf_sock, type, u32),
       FIELD(bpf_sock, protocol, u32), FIELD(bpf_sock, mark, u32), FIELD(bpf_sock, priority, u32),
       FIELD(bpf_sock, src_ip4, u32), FIELD(bpf_sock, src_ip6, ip6), FIELD(bpf_sock, src_port, u32),
       FIELD(bpf_sock, dst_port, be16), FIELD(bpf_sock, dst_ip4, u32),
       FIELD(bpf_sock, dst_ip6, ip6), FIELD(bpf_sock, state, u32),
       FIELD(bpf_sock, rx_queue_mapping, s32)});

  // __bpf_md_ptr members are plain pointers here (Linux wraps them in an 8-byte union): CO-RE
  // finds them by name either way.
  const int flow_keys_ptr = t.ptr(t.fwd_struct("bpf_flow_keys"));
  const int sock_ptr = t.ptr(t.type("bpf_sock"));
  const int cb = t.array(u32, 5);
  t.structure("__sk_buff", sizeof(__sk_buff),
              {FIELD(__sk_buff, len, u32),
               FIELD(__sk_buff, pkt_type, u32),
               FIELD(__sk_buff, mark, u32),
               FIELD(__sk_buff, queue_mapping, u32),
               FIELD(__sk_buff, protocol, u32),
               FIELD(__sk_buff, vlan_present, u32),
               FIELD(__sk_buff, vlan_tci, u32),
               FIELD(__sk_buff, vlan_proto, u32),
               FIELD(__sk_buff, priority, u32),
               FIELD(__sk_buff, ingress_ifindex, u32),
               FIELD(__sk_buff, ifindex, u32),
               FIELD(__sk_buff, tc_index, u32),
               FIELD(__sk_buff, cb, cb),
               FIELD(__sk_buff, hash, u32),
               FIELD(__sk_buff, tc_classid, u32),
               FIELD(__sk_buff, data, u32),
               FIELD(__sk_buff, data_end, u32),
               FIELD(__sk_buff, napi_id, u32),
               FIELD(__sk_buff, family, u32),
               FIELD(__sk_buff, remote_ip4, u32),
               FIELD(__sk_buff, local_ip4, u32),
               FIELD(__sk_buff, remote_ip6, ip6),
               FIELD(__sk_buff, local_ip6, ip6),
               FIELD(__sk_buff, remote_port, u32),
               FIELD(__sk_buff, local_port, u32),
               FIELD(__sk_buff, data_meta, u32),
               FIELD(__sk_buff, flow_keys, flow_keys_ptr),
               FIELD(__sk_buff, tstamp, u64),
               FIELD(__sk_buff, wire_len, u32),
               FIELD(__sk_buff, gso_segs, u32),
               FIELD(__sk_buff, sk, sock_ptr),
               FIELD(__sk_buff, gso_size, u32),
               FIELD(__sk_buff, tstamp_type, u8),
               FIELD(__sk_buff, hwtstamp, u64)});

  // Program return codes and the remaining contexts the runtime's test runs hand out.
  t.enumeration("xdp_action", {{"XDP_ABORTED", XDP_ABORTED},
                               {"XDP_DROP", XDP_DROP},
                               {"XDP_PASS", XDP_PASS},
                               {"XDP_TX", XDP_TX},
                               {"XDP_REDIRECT", XDP_REDIRECT}});
  const int user_regs = t.type_def("bpf_user_pt_regs_t", t.type("pt_regs"));
  t.structure(
      "bpf_perf_event_data", sizeof(bpf_perf_event_data),
      {FIELD(bpf_perf_event_data, regs, user_regs), FIELD(bpf_perf_event_data, sample_period, u64),
       FIELD(bpf_perf_event_data, addr, u64)});
  t.structure("bpf_raw_tracepoint_args", sizeof(bpf_raw_tracepoint_args),
              {FIELD(bpf_raw_tracepoint_args, args, t.array(u64, 0))});
}

void add_trace_events(Builder& t) {
  const int ushort = t.type("short unsigned int");
  const int uchar = t.type("unsigned char");
  const int sint = t.type("int");
  const int slong = t.type("long int");
  const int pid = t.type("pid_t");
  const int u32 = t.type("u32");
  const int comm = t.array(t.type("char"), 16);
  const int args = t.array(t.type("long unsigned int"), 6);
  const int data = t.array(t.type("char"), 0);  // char __data[0]: the dynamic part

  t.structure("trace_entry", sizeof(TraceEntryModel),
              {FIELD(TraceEntryModel, type, ushort), FIELD(TraceEntryModel, flags, uchar),
               FIELD(TraceEntryModel, preempt_count, uchar), FIELD(TraceEntryModel, pid, sint)});
  const int ent = t.type("trace_entry");
  t.structure("trace_event_raw_sys_enter", sizeof(SysEnterModel),
              {FIELD(SysEnterModel, ent, ent), FIELD(SysEnterModel, id, slong),
               FIELD(SysEnterModel, args, args), Field{"__data", data, sizeof(SysEnterModel)}});
  t.structure("trace_event_raw_sys_exit", sizeof(SysExitModel),
              {FIELD(SysExitModel, ent, ent), FIELD(SysExitModel, id, slong),
               FIELD(SysExitModel, ret, slong), Field{"__data", data, sizeof(SysExitModel)}});
  // The exec record ends at 20 bytes, so __data (4-aligned char[0]) sits right there.
  t.structure("trace_event_raw_sched_process_exec", sizeof(SchedProcessExecModel),
              {FIELD(SchedProcessExecModel, ent, ent),
               FIELD(SchedProcessExecModel, __data_loc_filename, u32),
               FIELD(SchedProcessExecModel, pid, pid), FIELD(SchedProcessExecModel, old_pid, pid),
               Field{"__data", data, sizeof(SchedProcessExecModel)}});
  t.structure("trace_event_raw_sched_process_fork", sizeof(SchedProcessForkModel),
              {FIELD(SchedProcessForkModel, ent, ent),
               FIELD(SchedProcessForkModel, __data_loc_parent_comm, u32),
               FIELD(SchedProcessForkModel, parent_pid, pid),
               FIELD(SchedProcessForkModel, __data_loc_child_comm, u32),
               FIELD(SchedProcessForkModel, child_pid, pid),
               Field{"__data", data, sizeof(SchedProcessForkModel)}});
  t.structure(
      "trace_event_raw_sched_process_template", sizeof(SchedProcessTemplateModel),
      {FIELD(SchedProcessTemplateModel, ent, ent),
       FIELD(SchedProcessTemplateModel, __data_loc_comm, u32),
       FIELD(SchedProcessTemplateModel, pid, pid), FIELD(SchedProcessTemplateModel, prio, sint),
       Field{"__data", data, sizeof(SchedProcessTemplateModel)}});
  // __data follows group_dead directly (offset 33), as pahole records it.
  t.structure("trace_event_raw_sched_process_exit", sizeof(SchedProcessExitModel),
              {FIELD(SchedProcessExitModel, ent, ent), FIELD(SchedProcessExitModel, comm, comm),
               FIELD(SchedProcessExitModel, pid, pid), FIELD(SchedProcessExitModel, prio, sint),
               FIELD(SchedProcessExitModel, group_dead, t.type("bool")),
               Field{"__data", data, offsetof(SchedProcessExitModel, group_dead) + 1}});
}

void add_task_model(Builder& t) {
  // typedef struct { uid_t val; } kuid_t; and the same for kgid_t.
  const int kuid_s = t.structure("", sizeof(KuidModel), {FIELD(KuidModel, val, t.type("uid_t"))});
  const int kuid = t.type_def("kuid_t", kuid_s);
  const int kgid_s = t.structure("", sizeof(KuidModel), {FIELD(KuidModel, val, t.type("gid_t"))});
  const int kgid = t.type_def("kgid_t", kgid_s);
  t.structure(
      "cred", sizeof(CredModel),
      {FIELD(CredModel, uid, kuid), FIELD(CredModel, gid, kgid), FIELD(CredModel, suid, kuid),
       FIELD(CredModel, sgid, kgid), FIELD(CredModel, euid, kuid), FIELD(CredModel, egid, kgid),
       FIELD(CredModel, fsuid, kuid), FIELD(CredModel, fsgid, kgid)});
  const int cred_ptr = t.ptr(t.konst(t.type("cred")));
  const int uint = t.type("unsigned int");
  const int sint = t.type("int");
  const int pid = t.type("pid_t");
  const int comm = t.array(t.type("char"), 16);
  const int u64 = t.type("u64");
  // The pointer to task_struct names the struct by the id it is about to get.
  const int task_ptr = t.ptr(t.next_id() + 1);
  const int task = t.structure(
      "task_struct", sizeof(TaskModel),
      {FIELD(TaskModel, __state, uint), FIELD(TaskModel, flags, uint), FIELD(TaskModel, prio, sint),
       FIELD(TaskModel, static_prio, sint), FIELD(TaskModel, pid, pid), FIELD(TaskModel, tgid, pid),
       FIELD(TaskModel, start_time, u64), FIELD(TaskModel, real_parent, task_ptr),
       FIELD(TaskModel, parent, task_ptr), FIELD(TaskModel, group_leader, task_ptr),
       FIELD(TaskModel, real_cred, cred_ptr), FIELD(TaskModel, cred, cred_ptr),
       FIELD(TaskModel, comm, comm), FIELD(TaskModel, exit_code, sint),
       FIELD(TaskModel, exit_signal, sint)});
  if (task != task_ptr + 1) t.fail(-EINVAL);
}

#undef FIELD

// <linux/bpf.h>'s enums, as a kernel's BTF carries them: libbpf-style programs compiled against
// a vmlinux.h (and not <linux/bpf.h>) name map types and helper flags through these.
#define E(name) \
  { #name, name }
void add_uapi_enums(Builder& t) {
  t.enumeration("bpf_map_type", {E(BPF_MAP_TYPE_UNSPEC),
                                 E(BPF_MAP_TYPE_HASH),
                                 E(BPF_MAP_TYPE_ARRAY),
                                 E(BPF_MAP_TYPE_PROG_ARRAY),
                                 E(BPF_MAP_TYPE_PERF_EVENT_ARRAY),
                                 E(BPF_MAP_TYPE_PERCPU_HASH),
                                 E(BPF_MAP_TYPE_PERCPU_ARRAY),
                                 E(BPF_MAP_TYPE_STACK_TRACE),
                                 E(BPF_MAP_TYPE_CGROUP_ARRAY),
                                 E(BPF_MAP_TYPE_LRU_HASH),
                                 E(BPF_MAP_TYPE_LRU_PERCPU_HASH),
                                 E(BPF_MAP_TYPE_LPM_TRIE),
                                 E(BPF_MAP_TYPE_ARRAY_OF_MAPS),
                                 E(BPF_MAP_TYPE_HASH_OF_MAPS),
                                 E(BPF_MAP_TYPE_DEVMAP),
                                 E(BPF_MAP_TYPE_SOCKMAP),
                                 E(BPF_MAP_TYPE_CPUMAP),
                                 E(BPF_MAP_TYPE_XSKMAP),
                                 E(BPF_MAP_TYPE_SOCKHASH),
                                 E(BPF_MAP_TYPE_CGROUP_STORAGE),
                                 E(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY),
                                 E(BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE),
                                 E(BPF_MAP_TYPE_QUEUE),
                                 E(BPF_MAP_TYPE_STACK),
                                 E(BPF_MAP_TYPE_SK_STORAGE),
                                 E(BPF_MAP_TYPE_DEVMAP_HASH),
                                 E(BPF_MAP_TYPE_STRUCT_OPS),
                                 E(BPF_MAP_TYPE_RINGBUF),
                                 E(BPF_MAP_TYPE_INODE_STORAGE),
                                 E(BPF_MAP_TYPE_TASK_STORAGE),
                                 E(BPF_MAP_TYPE_BLOOM_FILTER)});
  // The kernel's BTF has C's truth values as an anonymous enum (include/linux/stddef.h), so a
  // vmlinux.h defines `false` and `true`: libbpf-tools programs use them without <stdbool.h>.
  t.enumeration("", {{"false", 0}, {"true", 1}});
  t.enumeration("", {E(BPF_ANY), E(BPF_NOEXIST), E(BPF_EXIST), E(BPF_F_LOCK)});
  t.enumeration("",
                {E(BPF_F_NO_PREALLOC), E(BPF_F_NO_COMMON_LRU), E(BPF_F_NUMA_NODE), E(BPF_F_RDONLY),
                 E(BPF_F_WRONLY), E(BPF_F_STACK_BUILD_ID), E(BPF_F_ZERO_SEED), E(BPF_F_RDONLY_PROG),
                 E(BPF_F_WRONLY_PROG), E(BPF_F_CLONE), E(BPF_F_MMAPABLE)});
  t.enumeration("", {E(BPF_F_SKIP_FIELD_MASK), E(BPF_F_USER_STACK), E(BPF_F_FAST_STACK_CMP),
                     E(BPF_F_REUSE_STACKID), E(BPF_F_USER_BUILD_ID)});
  t.enumeration64("", {E(BPF_F_INDEX_MASK), E(BPF_F_CURRENT_CPU), E(BPF_F_CTXLEN_MASK)});
  t.enumeration("", {E(BPF_RB_NO_WAKEUP), E(BPF_RB_FORCE_WAKEUP)});
  t.enumeration(
      "", {E(BPF_RB_AVAIL_DATA), E(BPF_RB_RING_SIZE), E(BPF_RB_CONS_POS), E(BPF_RB_PROD_POS)});
  t.enumeration("", {E(BPF_F_RECOMPUTE_CSUM), E(BPF_F_INVALIDATE_HASH)});
  t.enumeration("", {E(BPF_F_HDR_FIELD_MASK)});
  t.enumeration("", {E(BPF_F_PSEUDO_HDR), E(BPF_F_MARK_MANGLED_0), E(BPF_F_MARK_ENFORCE)});
  t.enumeration("", {E(BPF_F_BROADCAST), E(BPF_F_EXCLUDE_INGRESS)});
}
#undef E

std::shared_ptr<::btf> build() {
  std::shared_ptr<::btf> b(btf__new_empty(), [](::btf* p) { btf__free(p); });
  if (!b) return nullptr;
  Builder t(b.get());
  add_base_types(t);
  add_contexts(t);
  add_trace_events(t);
  add_task_model(t);
  add_uapi_enums(t);
  if (t.error() != 0) return nullptr;
  return b;
}

}  // namespace

std::shared_ptr<::btf> runtime_btf() {
  static const std::shared_ptr<::btf> built = build();
  return built;
}

}  // namespace userbpf::runtime

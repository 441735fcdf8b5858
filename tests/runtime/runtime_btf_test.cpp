// The runtime's own BTF (runtime/runtime_btf.hpp): it survives libbpf's raw round trip, every
// struct has Linux's field names with the runtime's real layouts, and the C that libbpf's btf_dump
// makes of it is a vmlinux.h that clang compiles CO-RE programs against, which then relocate
// against runtime_btf() without a poisoned instruction (and against the host kernel's BTF too).
#include "runtime/runtime_btf.hpp"

#include <asm/ptrace.h>
#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "isa/decode.hpp"
#include "object/core_relo.hpp"
#include "object/object.hpp"

namespace userbpf::runtime {
namespace {

struct FieldFact {
  uint32_t offset = 0;  // bytes
  int64_t size = -1;    // bytes, btf__resolve_size of the member's type
  bool found = false;
};

FieldFact field(const ::btf* b, const char* type, const char* member) {
  FieldFact f;
  const int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
  if (id <= 0) return f;
  const btf_type* t = btf__type_by_id(b, id);
  for (int i = 0; i < btf_vlen(t); ++i) {
    const btf_member* m = btf_members(t) + i;
    if (std::strcmp(btf__name_by_offset(b, m->name_off), member) != 0) continue;
    f.found = true;
    f.offset = btf_member_bit_offset(t, i) / 8;
    f.size = btf__resolve_size(b, m->type);
  }
  return f;
}

int64_t struct_size(const ::btf* b, const char* type) {
  const int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
  return id > 0 ? btf__resolve_size(b, id) : -1;
}

#define EXPECT_FIELD(b, type, model, member, want_size)                            \
  do {                                                                             \
    const FieldFact f_ = field(b, type, #member);                                  \
    EXPECT_TRUE(f_.found) << type << "." << #member;                               \
    EXPECT_EQ(f_.offset, offsetof(model, member)) << type << "." << #member;       \
    EXPECT_EQ(f_.size, static_cast<int64_t>(want_size)) << type << "." << #member; \
  } while (0)

TEST(RuntimeBtf, BuiltOnceAndShared) {
  auto a = runtime_btf();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a.get(), runtime_btf().get());
  EXPECT_GT(btf__type_cnt(a.get()), 50u);
}

TEST(RuntimeBtf, RoundTripsThroughRawData) {
  auto b = runtime_btf();
  ASSERT_NE(b, nullptr);
  uint32_t size = 0;
  const void* raw = btf__raw_data(b.get(), &size);
  ASSERT_NE(raw, nullptr);
  ::btf* copy = btf__new(raw, size);
  ASSERT_NE(copy, nullptr);
  ASSERT_EQ(btf__type_cnt(copy), btf__type_cnt(b.get()));
  for (uint32_t id = 1; id < btf__type_cnt(copy); ++id) {
    const btf_type* x = btf__type_by_id(b.get(), id);
    const btf_type* y = btf__type_by_id(copy, id);
    EXPECT_EQ(btf_kind(x), btf_kind(y)) << id;
    EXPECT_EQ(btf_vlen(x), btf_vlen(y)) << id;
    EXPECT_STREQ(btf__name_by_offset(b.get(), x->name_off), btf__name_by_offset(copy, y->name_off));
    EXPECT_EQ(btf__resolve_size(b.get(), id), btf__resolve_size(copy, id)) << id;
  }
  btf__free(copy);
}

TEST(RuntimeBtf, ContextsHaveLinuxLayouts) {
  auto sp = runtime_btf();
  const ::btf* b = sp.get();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(struct_size(b, "pt_regs"), static_cast<int64_t>(sizeof(pt_regs)));
  const std::pair<const char*, size_t> regs[] = {
      {"di", offsetof(pt_regs, rdi)}, {"si", offsetof(pt_regs, rsi)},
      {"dx", offsetof(pt_regs, rdx)}, {"cx", offsetof(pt_regs, rcx)},
      {"r8", offsetof(pt_regs, r8)},  {"ax", offsetof(pt_regs, rax)},
      {"ip", offsetof(pt_regs, rip)}, {"sp", offsetof(pt_regs, rsp)},
      {"bp", offsetof(pt_regs, rbp)}, {"orig_ax", offsetof(pt_regs, orig_rax)}};
  for (const auto& [name, off] : regs) {
    const FieldFact f = field(b, "pt_regs", name);
    EXPECT_TRUE(f.found) << name;
    EXPECT_EQ(f.offset, off) << name;
    EXPECT_EQ(f.size, 8) << name;
  }
  EXPECT_EQ(struct_size(b, "xdp_md"), static_cast<int64_t>(sizeof(xdp_md)));
  EXPECT_FIELD(b, "xdp_md", xdp_md, data, 4);
  EXPECT_FIELD(b, "xdp_md", xdp_md, data_end, 4);
  EXPECT_FIELD(b, "xdp_md", xdp_md, egress_ifindex, 4);
  EXPECT_EQ(struct_size(b, "__sk_buff"), static_cast<int64_t>(sizeof(__sk_buff)));
  EXPECT_FIELD(b, "__sk_buff", __sk_buff, len, 4);
  EXPECT_FIELD(b, "__sk_buff", __sk_buff, cb, 20);
  EXPECT_FIELD(b, "__sk_buff", __sk_buff, remote_ip6, 16);
  EXPECT_FIELD(b, "__sk_buff", __sk_buff, sk, 8);
  EXPECT_FIELD(b, "__sk_buff", __sk_buff, tstamp_type, 1);
  EXPECT_FIELD(b, "__sk_buff", __sk_buff, hwtstamp, 8);
  EXPECT_EQ(struct_size(b, "bpf_sock"), static_cast<int64_t>(sizeof(bpf_sock)));
  EXPECT_FIELD(b, "bpf_sock", bpf_sock, dst_port, 2);
  EXPECT_FIELD(b, "bpf_sock", bpf_sock, dst_ip6, 16);
  EXPECT_FIELD(b, "bpf_sock", bpf_sock, rx_queue_mapping, 4);
  EXPECT_EQ(struct_size(b, "bpf_perf_event_data"),
            static_cast<int64_t>(sizeof(bpf_perf_event_data)));
  EXPECT_FIELD(b, "bpf_perf_event_data", bpf_perf_event_data, regs, sizeof(pt_regs));
  EXPECT_FIELD(b, "bpf_perf_event_data", bpf_perf_event_data, addr, 8);
  EXPECT_FIELD(b, "bpf_raw_tracepoint_args", bpf_raw_tracepoint_args, args, 0);
  // enum xdp_action with <linux/bpf.h>'s values.
  const int xa = btf__find_by_name_kind(b, "xdp_action", BTF_KIND_ENUM);
  ASSERT_GT(xa, 0);
  const btf_type* e = btf__type_by_id(b, xa);
  std::map<std::string, int64_t> values;
  for (int i = 0; i < btf_vlen(e); ++i)
    values[btf__name_by_offset(b, btf_enum(e)[i].name_off)] = btf_enum(e)[i].val;
  EXPECT_EQ(values, (std::map<std::string, int64_t>{{"XDP_ABORTED", XDP_ABORTED},
                                                    {"XDP_DROP", XDP_DROP},
                                                    {"XDP_PASS", XDP_PASS},
                                                    {"XDP_TX", XDP_TX},
                                                    {"XDP_REDIRECT", XDP_REDIRECT}}));
}

TEST(RuntimeBtf, TracepointRecordsAndTaskModel) {
  auto sp = runtime_btf();
  const ::btf* b = sp.get();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(struct_size(b, "trace_entry"), 8);
  EXPECT_FIELD(b, "trace_entry", TraceEntryModel, type, 2);
  EXPECT_FIELD(b, "trace_entry", TraceEntryModel, pid, 4);
  EXPECT_EQ(struct_size(b, "trace_event_raw_sys_enter"), 64);
  EXPECT_FIELD(b, "trace_event_raw_sys_enter", SysEnterModel, ent, 8);
  EXPECT_FIELD(b, "trace_event_raw_sys_enter", SysEnterModel, id, 8);
  EXPECT_FIELD(b, "trace_event_raw_sys_enter", SysEnterModel, args, 48);
  EXPECT_EQ(struct_size(b, "trace_event_raw_sys_exit"), 24);
  EXPECT_FIELD(b, "trace_event_raw_sys_exit", SysExitModel, ret, 8);
  EXPECT_EQ(struct_size(b, "trace_event_raw_sched_process_exec"), 20);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_exec", SchedProcessExecModel, __data_loc_filename,
               4);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_exec", SchedProcessExecModel, pid, 4);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_exec", SchedProcessExecModel, old_pid, 4);
  EXPECT_EQ(struct_size(b, "trace_event_raw_sched_process_fork"), 24);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_fork", SchedProcessForkModel,
               __data_loc_parent_comm, 4);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_fork", SchedProcessForkModel, parent_pid, 4);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_fork", SchedProcessForkModel,
               __data_loc_child_comm, 4);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_fork", SchedProcessForkModel, child_pid, 4);
  EXPECT_EQ(struct_size(b, "trace_event_raw_sched_process_template"), 20);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_template", SchedProcessTemplateModel,
               __data_loc_comm, 4);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_template", SchedProcessTemplateModel, prio, 4);
  EXPECT_EQ(struct_size(b, "trace_event_raw_sched_process_exit"), 36);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_exit", SchedProcessExitModel, comm, 16);
  EXPECT_FIELD(b, "trace_event_raw_sched_process_exit", SchedProcessExitModel, group_dead, 1);

  EXPECT_EQ(struct_size(b, "task_struct"), static_cast<int64_t>(sizeof(TaskModel)));
  EXPECT_FIELD(b, "task_struct", TaskModel, pid, 4);
  EXPECT_FIELD(b, "task_struct", TaskModel, tgid, 4);
  EXPECT_FIELD(b, "task_struct", TaskModel, comm, 16);
  EXPECT_FIELD(b, "task_struct", TaskModel, real_parent, 8);
  EXPECT_FIELD(b, "task_struct", TaskModel, parent, 8);
  EXPECT_FIELD(b, "task_struct", TaskModel, flags, 4);
  EXPECT_FIELD(b, "task_struct", TaskModel, cred, 8);
  EXPECT_FIELD(b, "task_struct", TaskModel, start_time, 8);
  EXPECT_FIELD(b, "cred", CredModel, uid, 4);
  EXPECT_FIELD(b, "cred", CredModel, euid, 4);
  // real_parent points back at task_struct itself.
  const int ts = btf__find_by_name_kind(b, "task_struct", BTF_KIND_STRUCT);
  const btf_type* t = btf__type_by_id(b, ts);
  bool checked = false;
  for (int i = 0; i < btf_vlen(t); ++i)
    if (std::strcmp(btf__name_by_offset(b, btf_members(t)[i].name_off), "real_parent") == 0) {
      const btf_type* p = btf__type_by_id(b, btf_members(t)[i].type);
      ASSERT_TRUE(btf_is_ptr(p));
      EXPECT_EQ(p->type, static_cast<uint32_t>(ts));
      checked = true;
    }
  EXPECT_TRUE(checked);
  // The common typedefs.
  for (const char* name : {"u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "__u8", "__u16",
                           "__u32", "__u64", "__s32", "__s64", "pid_t", "size_t", "bool"})
    EXPECT_GT(btf__find_by_name_kind(b, name, BTF_KIND_TYPEDEF), 0) << name;
  EXPECT_EQ(btf__resolve_size(b, btf__find_by_name_kind(b, "u64", BTF_KIND_TYPEDEF)), 8);
  EXPECT_EQ(btf__resolve_size(b, btf__find_by_name_kind(b, "pid_t", BTF_KIND_TYPEDEF)), 4);
}

void dump_printf(void* ctx, const char* fmt, va_list args) {
  char buf[4096];
  vsnprintf(buf, sizeof(buf), fmt, args);
  *static_cast<std::string*>(ctx) += buf;
}

// A vmlinux.h of the runtime BTF, the way `bpftool btf dump format c` writes one.
std::string dump_vmlinux_h(const ::btf* b) {
  std::string out =
      "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"
      "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n";
  btf_dump* d = btf_dump__new(b, dump_printf, &out, nullptr);
  if (!d) return "";
  for (uint32_t id = 1; id < btf__type_cnt(b); ++id)
    if (btf_dump__dump_type(d, id) < 0) out += "#error dump failed\n";
  btf_dump__free(d);
  return out + "#pragma clang attribute pop\n#endif\n";
}

// A CO-RE program written as against a real vmlinux.h: tracepoint records, pt_regs through
// bpf_tracing.h, the task model, and packet contexts.
constexpr const char* kProgram = R"(
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";
long long out[32];

SEC("tracepoint/syscalls/sys_enter_openat")
int on_enter(struct trace_event_raw_sys_enter *ctx) {
  out[0] = ctx->id;
  out[1] = ctx->args[1];
  out[2] = BPF_CORE_READ(ctx, ent.pid);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int on_exit(struct trace_event_raw_sys_exit *ctx) {
  out[3] = ctx->ret;
  return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx) {
  out[4] = ctx->pid + ctx->old_pid;
  out[5] = ctx->__data_loc_filename & 0xffff;
  return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int on_fork(struct trace_event_raw_sched_process_fork *ctx) {
  out[6] = ctx->child_pid;
  out[7] = ctx->parent_pid;
  out[8] = ctx->__data_loc_child_comm;
  return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_proc_exit(struct trace_event_raw_sched_process_exit *ctx) {
  out[9] = ctx->prio + ctx->group_dead;
  bpf_probe_read_kernel(&out[10], 8, ctx->comm);
  return 0;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(on_open, int dfd, const char *name) {
  out[11] = dfd;
  out[12] = PT_REGS_PARM3_CORE(ctx);
  return 0;
}

SEC("raw_tp/sys_enter")
int on_task(void *ctx) {
  struct task_struct *t = (void *)bpf_get_current_task();
  char comm[16];
  out[13] = BPF_CORE_READ(t, pid);
  out[14] = BPF_CORE_READ(t, real_parent, tgid);
  out[15] = BPF_CORE_READ(t, cred, uid.val);
  out[16] = bpf_core_field_exists(t->group_leader);
  out[17] = bpf_core_type_size(struct task_struct);
  out[18] = BPF_CORE_READ(t, flags);
  BPF_CORE_READ_STR_INTO(&comm, t, comm);
  out[19] = comm[0];
  return 0;
}

SEC("xdp")
int on_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  return data + 14 > end ? XDP_DROP : bpf_core_enum_value(enum xdp_action, XDP_PASS);
}

SEC("perf_event")
int on_perf(struct bpf_perf_event_data *ctx) {
  out[22] = ctx->sample_period + ctx->addr + PT_REGS_IP(&ctx->regs);
  return 0;
}

SEC("tc")
int on_tc(struct __sk_buff *skb) {
  struct bpf_sock *sk = skb->sk;
  out[20] = skb->len + skb->tstamp_type;
  if (sk) out[21] = sk->dst_port;
  return 0;
}
)";

struct CompiledProgram {
  std::string error;  // empty when it built
  std::string object_path;
  std::string header;
};

CompiledProgram compile_against_runtime_btf(const std::string& dir) {
  CompiledProgram c;
  auto b = runtime_btf();
  c.header = dump_vmlinux_h(b.get());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/vmlinux.h") << c.header;
  std::ofstream(dir + "/prog.bpf.c") << kProgram;
  c.object_path = dir + "/prog.bpf.o";
  const std::string cmd = "clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I" + dir + " -c " + dir +
                          "/prog.bpf.c -o " + c.object_path + " > " + dir + "/clang.log 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream log(dir + "/clang.log");
    std::stringstream ss;
    ss << log.rdbuf();
    c.error = "clang failed: " + ss.str();
  }
  return c;
}

bool is_poisoned(const isa::RawInsn& i) {
  return i.code == (BPF_JMP | BPF_CALL) && i.imm == object::kCorePoisonImm;
}

class RuntimeBtfProgram : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("clang --version > /dev/null 2>&1") != 0) return;
    dir_ = std::filesystem::temp_directory_path() /
           ("userbpf_runtime_btf_" + std::to_string(getpid()));
    compiled_ = compile_against_runtime_btf(dir_.string());
    have_clang_ = true;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!have_clang_) GTEST_SKIP() << "no clang to compile BPF C";
    ASSERT_TRUE(compiled_.error.empty()) << compiled_.error << "\n" << compiled_.header;
  }
  static inline std::filesystem::path dir_;
  static inline CompiledProgram compiled_;
  static inline bool have_clang_ = false;
};

TEST_F(RuntimeBtfProgram, RelocatesWithoutPoisonAndKeepsOurOffsets) {
  auto opened = object::open(compiled_.object_path);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  object::Object obj = std::move(opened).value();
  const object::Object before = obj;
  size_t relos = 0;
  std::set<int64_t> local_values;
  for (const object::Program& p : obj.programs) {
    relos += p.core_relos.size();
    for (const object::CoreRelo& r : p.core_relos) {
      const isa::RawInsn& i = p.insns[r.insn];
      local_values.insert(BPF_CLASS(i.code) == BPF_LDX ? i.off : i.imm);
    }
  }
  EXPECT_GE(relos, 20u);
  // The header btf_dump wrote has the runtime's layout: the compiler's own offsets are ours.
  for (int64_t want :
       {offsetof(TaskModel, pid), offsetof(TaskModel, real_parent), offsetof(TaskModel, tgid),
        offsetof(TaskModel, cred), offsetof(TaskModel, flags), offsetof(TaskModel, comm),
        sizeof(TaskModel), offsetof(SysEnterModel, args) + 8, offsetof(SysExitModel, ret),
        offsetof(SchedProcessForkModel, child_pid), offsetof(SchedProcessTemplateModel, prio),
        offsetof(pt_regs, rdi), offsetof(pt_regs, rdx), offsetof(__sk_buff, sk),
        offsetof(__sk_buff, tstamp_type), offsetof(bpf_sock, dst_port),
        offsetof(bpf_perf_event_data, sample_period), offsetof(bpf_perf_event_data, addr),
        static_cast<size_t>(XDP_PASS)})
    EXPECT_TRUE(local_values.count(static_cast<int64_t>(want))) << want;

  auto st = object::apply_core(obj, runtime_btf().get());
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  for (size_t k = 0; k < obj.programs.size(); ++k) {
    const object::Program& p = obj.programs[k];
    EXPECT_TRUE(isa::decode(p.insns).ok()) << p.name;
    std::set<uint32_t> type_ids;
    for (const object::CoreRelo& r : p.core_relos)
      if (r.kind == BPF_CORE_TYPE_ID_TARGET) type_ids.insert(r.insn);
    for (size_t i = 0; i < p.insns.size(); ++i) {
      EXPECT_FALSE(is_poisoned(p.insns[i])) << p.name << " insn " << i;
      if (!type_ids.count(static_cast<uint32_t>(i))) {
        EXPECT_EQ(std::memcmp(&p.insns[i], &before.programs[k].insns[i], 8), 0)
            << p.name << " insn " << i;
      }
    }
  }
}

// The struct and member a field relocation's access string ends in, from the object's BTF:
// ("trace_event_raw_sched_process_fork", "child_comm") for "0:3".
std::pair<std::string, std::string> last_member(const ::btf* b, const object::CoreRelo& r) {
  std::pair<std::string, std::string> out;
  uint32_t id = r.type_id;
  std::stringstream ss(r.access);
  std::string part;
  for (bool first = true; std::getline(ss, part, ':'); first = false) {
    const btf_type* t = btf__type_by_id(b, id);
    while (t && (btf_is_typedef(t) || btf_is_mod(t))) t = btf__type_by_id(b, id = t->type);
    if (first || !t) continue;
    const uint32_t idx = static_cast<uint32_t>(std::stoul(part));
    if (btf_is_array(t)) {
      id = btf_array(t)->type;
    } else if (btf_is_composite(t) && idx < btf_vlen(t)) {
      const btf_member* m = btf_members(t) + idx;
      if (m->name_off)
        out = {btf__name_by_offset(b, t->name_off), btf__name_by_offset(b, m->name_off)};
      id = m->type;
    }
  }
  return out;
}

TEST_F(RuntimeBtfProgram, NamesAreLinuxsNamesInTheHostKernel) {
  // Linux's names and types: the same program relocates against the running kernel's BTF too.
  // Every field is found there, except where that kernel's layout differs from the one modelled
  // here (6.18's): kernels before 6.13 have char[16] comm arrays in the sched events instead of
  // __data_loc strings. A poisoned instruction is accepted only when the host's struct really
  // lacks the member.
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) GTEST_SKIP() << "no vmlinux BTF";
  std::shared_ptr<::btf> vmlinux(btf__load_vmlinux_btf(), [](::btf* b) { btf__free(b); });
  ASSERT_NE(vmlinux, nullptr);
  auto opened = object::open(compiled_.object_path);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  object::Object obj = std::move(opened).value();
  auto st = object::apply_core(obj, vmlinux.get());
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  size_t resolved = 0;
  for (const object::Program& p : obj.programs)
    for (const object::CoreRelo& r : p.core_relos) {
      if (!is_poisoned(p.insns[r.insn])) {
        ++resolved;
        continue;
      }
      const auto [type, member] = last_member(obj.btf.get(), r);
      EXPECT_FALSE(field(vmlinux.get(), type.c_str(), member.c_str()).found)
          << p.name << " insn " << r.insn << ": " << type << "." << member
          << " exists in the host kernel but did not relocate";
      EXPECT_NE(member.find("comm"), std::string::npos) << type << "." << member;
    }
  EXPECT_GE(resolved, 20u);
}

}  // namespace
}  // namespace userbpf::runtime

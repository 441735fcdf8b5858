// Test-run dispatch and the contexts of the tracing program types, which are plain memory: the
// program gets a zero-extended copy of ctx_in and ctx_out is that copy after the run.
#include "runtime/test_run.hpp"

#include <asm/ptrace.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>

#include <algorithm>
#include <cstring>

namespace userbpf::runtime {
namespace {

using detail::bad_input;

constexpr size_t kMaxFuncArgs = 12;  // MAX_BPF_FUNC_ARGS
constexpr size_t kDefaultTracepointRecord = 512;
constexpr size_t kMaxSyscallCtx = 0xffff;  // Linux: U16_MAX
constexpr size_t kMaxRecord = 0xffff;      // perf records are at most 64 KiB

// The context's size and whether ctx_in is zero-extended to it (fixed structs) or used as given.
struct ContextShape {
  size_t max_size = 0;      // largest ctx_in accepted
  size_t default_size = 0;  // size used when ctx_in is empty (0: NULL context)
  bool fixed = false;       // always max_size bytes, ctx_in zero-extended
  const char* what = "";
};

ContextShape shape_of(TestRunContext kind) {
  switch (kind) {
    case TestRunContext::raw_record:
      return {kMaxRecord, kDefaultTracepointRecord, false, "tracepoint record"};
    case TestRunContext::u64_args:
      return {(kMaxFuncArgs + 1) * 8, (kMaxFuncArgs + 1) * 8, false, "u64 argument array"};
    case TestRunContext::pt_regs: return {sizeof(pt_regs), sizeof(pt_regs), true, "struct pt_regs"};
    case TestRunContext::perf_event:
      return {sizeof(bpf_perf_event_data), sizeof(bpf_perf_event_data), true,
              "struct bpf_perf_event_data"};
    case TestRunContext::as_given: return {kMaxSyscallCtx, 0, false, "syscall context"};
    default: return {};
  }
}

Result<TestRunOutput> test_run_memory_ctx(RunnableProgram& prog, const TestRunInput& input,
                                          TestRunContext kind) {
  const ProgramRecord& record = prog.record();
  if (!input.data_in.empty())
    return bad_input(record, "this program type takes no data_in (" +
                                 std::to_string(input.data_in.size()) + " bytes given)");
  const ContextShape shape = shape_of(kind);
  if (input.ctx_in.size() > shape.max_size)
    return bad_input(record, "ctx_in of " + std::to_string(input.ctx_in.size()) +
                                 " bytes is larger than the " + shape.what + " (" +
                                 std::to_string(shape.max_size) + " bytes)");
  size_t size = input.ctx_in.empty() ? shape.default_size : input.ctx_in.size();
  if (shape.fixed) size = shape.max_size;

  // 16-byte aligned storage, as a kernel context would be.
  std::vector<uint64_t> storage((size + 15) / 8, 0);
  auto* ctx = reinterpret_cast<uint8_t*>(storage.data());
  if (!input.ctx_in.empty()) std::memcpy(ctx, input.ctx_in.data(), input.ctx_in.size());
  const uint64_t ctx_addr = size ? reinterpret_cast<uint64_t>(ctx) : 0;
  const vm::Region region{ctx_addr, size, true, "ctx"};

  prog.env().packet = nullptr;
  // kprobe's pt_regs and perf_event's bpf_perf_event_data (pt_regs first) are the user registers
  // bpf_get_stack(id) walk; other contexts have none.
  const bool regs_ctx = kind == TestRunContext::pt_regs || kind == TestRunContext::perf_event;
  prog.env().user_regs = regs_ctx ? ctx : nullptr;
  auto run = prog.run(ctx_addr, region, input.checked, input.repeat);
  prog.env().user_regs = nullptr;  // the context dies with this call
  if (!run) return run.take_error();
  TestRunOutput out;
  out.retval = run->retval;
  out.duration_ns = run->duration_ns;
  out.ctx_out.assign(ctx, ctx + size);
  return out;
}

}  // namespace

TestRunContext test_run_context(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_XDP: return TestRunContext::xdp;
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT: return TestRunContext::skb_l2;
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL: return TestRunContext::skb_l3;
    case BPF_PROG_TYPE_TRACEPOINT: return TestRunContext::raw_record;
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
    case BPF_PROG_TYPE_TRACING:
    case BPF_PROG_TYPE_LSM: return TestRunContext::u64_args;
    case BPF_PROG_TYPE_KPROBE: return TestRunContext::pt_regs;
    case BPF_PROG_TYPE_PERF_EVENT: return TestRunContext::perf_event;
    case BPF_PROG_TYPE_SYSCALL: return TestRunContext::as_given;
    default: return TestRunContext::unsupported;
  }
}

Result<TestRunOutput> test_run(RunnableProgram& prog, const TestRunInput& input) {
  const TestRunContext kind = test_run_context(prog.record().prog_type);
  switch (kind) {
    case TestRunContext::xdp: return detail::test_run_xdp(prog, input);
    case TestRunContext::skb_l2: return detail::test_run_skb(prog, input, true);
    case TestRunContext::skb_l3: return detail::test_run_skb(prog, input, false);
    case TestRunContext::unsupported: {
      Error e = bad_input(prog.record(), "no test run for this program type yet");
      e.code = Errc::unsupported;
      return e;
    }
    default: return test_run_memory_ctx(prog, input, kind);
  }
}

namespace detail {

Error bad_input(const ProgramRecord& record, const std::string& message) {
  Location where;
  where.file = record.object_path;
  where.section = record.section;
  return make_error(Errc::invalid_argument,
                    "test run of prog '" + record.name + "' (" + prog_type_name(record.prog_type) +
                        "): " + message,
                    where);
}

}  // namespace detail

}  // namespace userbpf::runtime

// Test runs: BPF_PROG_TEST_RUN for every program type, including those Linux cannot test-run
// (tracepoint, kprobe, perf_event, fentry/fexit, lsm). The program type decides what the program's
// context is and what the input means:
//
//   XDP                      data_in is the frame; ctx_in an optional struct xdp_md whose data /
//                            data_end mark metadata and frame end, as Linux's test run allows.
//                            data_out is the frame after the program (metadata included, as Linux).
//   socket filter, tc,       data_in is an Ethernet frame; ctx_in an optional struct __sk_buff
//   cgroup skb, lwt          (only the fields Linux accepts). Socket filters, cgroup skb and lwt
//                            programs see the packet from the network header on, tc from the
//                            Ethernet header, exactly as Linux's bpf_prog_test_run_skb().
//   tracepoint               ctx_in is the raw record (default 512 zero bytes).
//   raw_tracepoint           ctx_in is the u64 argument array (default 13 zero slots).
//   kprobe (and uprobe)      ctx_in is an x86-64 struct pt_regs, zero-extended.
//   perf_event               ctx_in is a struct bpf_perf_event_data (pt_regs first), zero-extended.
//   tracing (fentry/fexit),  ctx_in is the u64 argument array (default 13 zero slots: 12
//   lsm                      arguments and fexit's return value).
//   syscall                  ctx_in as is (none: a NULL context), as Linux.
//
// ctx_out is what the kernel reports for XDP and skb programs (the xdp_md / __sk_buff fields
// Linux copies back) and the context after the run for the others (without a verifier, writes to
// it are allowed and visible here). Checked runs may touch only the context, the packet and the
// program's global data (plus what helpers hand out).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/runtime.hpp"
#include "userbpf/error.hpp"

namespace userbpf::runtime {

struct TestRunInput {
  std::vector<uint8_t> data_in;
  std::vector<uint8_t> ctx_in;
  uint32_t repeat = 1;  // 0 counts as 1, as in Linux
  bool checked = true;
};

struct TestRunOutput {
  uint64_t retval = 0;  // r0 (Linux reports its low 32 bits)
  std::vector<uint8_t> data_out;
  std::vector<uint8_t> ctx_out;
  uint64_t duration_ns = 0;  // mean per repetition
  // bpf_redirect() or bpf_redirect_map() in the last repetition: its target (XDP and skb
  // programs). redirect_map_id is the runtime id of the map bpf_redirect_map chose (0 for
  // bpf_redirect, whose target is redirect_ifindex), redirect_key its entry; redirect_flags
  // holds BPF_F_BROADCAST / BPF_F_EXCLUDE_INGRESS for a broadcast to every entry.
  bool redirected = false;
  uint32_t redirect_ifindex = 0;
  uint64_t redirect_flags = 0;
  uint32_t redirect_map_id = 0;
  uint32_t redirect_map_type = 0;
  uint32_t redirect_key = 0;
};

Result<TestRunOutput> test_run(RunnableProgram& prog, const TestRunInput& input);

// What a program type's test run builds as its context.
enum class TestRunContext : uint8_t {
  xdp,         // struct xdp_md + frame
  skb_l2,      // struct __sk_buff + packet from the Ethernet header (tc)
  skb_l3,      // struct __sk_buff + packet from the network header (socket filter, ...)
  raw_record,  // tracepoint record bytes
  u64_args,    // raw_tracepoint, tracing, lsm
  pt_regs,     // kprobe
  perf_event,  // struct bpf_perf_event_data
  as_given,    // syscall
  unsupported,
};
TestRunContext test_run_context(uint32_t prog_type);

namespace detail {
// An invalid_argument error naming the program, its type and its object: "test run of prog
// 'x' (xdp): <message>".
Error bad_input(const ProgramRecord& record, const std::string& message);
// The packet test runs (test_run_packet.cpp).
Result<TestRunOutput> test_run_xdp(RunnableProgram& prog, const TestRunInput& input);
Result<TestRunOutput> test_run_skb(RunnableProgram& prog, const TestRunInput& input, bool l2);
}  // namespace detail

}  // namespace userbpf::runtime

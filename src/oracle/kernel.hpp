// Access to the host kernel's bpf() as a reference implementation ("oracle"): load raw
// instructions through the real Linux verifier and run them with BPF_PROG_TEST_RUN. Tests compare
// userbpf's results with the kernel's; nothing in the runtime itself depends on this layer.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::oracle {

// Whether this process can load and test-run eBPF programs in the host kernel.
struct KernelStatus {
  bool available = false;
  std::string reason;  // why not (empty when available)
};

// Probes once per process by loading and test-running a trivial XDP program, then caches the
// answer. The environment variable USERBPF_NO_KERNEL=1 forces "unavailable" (to exercise the
// paths that skip kernel checks).
const KernelStatus& kernel_bpf_status();

struct KernelLoadOptions {
  std::string name;  // program name shown by bpftool (Linux keeps the first 15 characters)
  // Always load with log level 1 and keep the log, even when the verifier accepts. Otherwise the
  // program is loaded without a log and, only when refused, loaded again with one to explain why
  // (a log costs verifier time, and a truncated log makes Linux fail the load with ENOSPC).
  bool keep_log = false;
  uint32_t log_size = 16u << 20;
  // 1: the instructions of the failing path (Linux keeps only statistics when it accepts);
  // 2: every instruction and state along every path, also on success (for debugging).
  uint32_t log_level = 1;
  uint32_t expected_attach_type = 0;
};

struct TestRunRequest {
  std::span<const uint8_t> data_in;  // the packet (XDP, socket filter, ...)
  std::span<const uint8_t> ctx_in;   // optional context (e.g. struct __sk_buff)
  uint32_t repeat = 1;               // runs in the kernel; duration is their mean
  size_t data_out_capacity = 0;      // 0: data_in.size() plus room for XDP tail growth
};

struct TestRunResult {
  uint32_t retval = 0;  // the program's return value, truncated to 32 bits by Linux
  std::vector<uint8_t> data_out;
  uint32_t duration_ns = 0;  // mean time per run as measured by the kernel
};

// A program loaded into the host kernel. Owns the file descriptor; closing it unloads the program
// (unless something else holds a reference).
class KernelProgram {
 public:
  // Loads `insns` as `type` with license "GPL". A verifier refusal is an Errc::kernel error whose
  // message holds the errno text, the verdict (first line) and the last lines of the verifier log,
  // with Location::insn set to the instruction the verifier stopped at when the log names one.
  static Result<KernelProgram> load(std::span<const isa::RawInsn> insns, bpf_prog_type type,
                                    const KernelLoadOptions& options = {});

  KernelProgram(KernelProgram&& other) noexcept;
  KernelProgram& operator=(KernelProgram&& other) noexcept;
  KernelProgram(const KernelProgram&) = delete;
  KernelProgram& operator=(const KernelProgram&) = delete;
  ~KernelProgram();

  int fd() const { return fd_; }
  bpf_prog_type type() const { return type_; }
  // The verifier log; filled only when loaded with keep_log.
  const std::string& verifier_log() const { return log_; }

  // BPF_PROG_TEST_RUN.
  Result<TestRunResult> test_run(const TestRunRequest& request) const;

 private:
  KernelProgram(int fd, bpf_prog_type type, std::string log)
      : fd_(fd), type_(type), log_(std::move(log)) {}
  void close_fd();

  int fd_ = -1;
  bpf_prog_type type_ = BPF_PROG_TYPE_UNSPEC;
  std::string log_;
};

// The verifier's verdict: the last line of its log that is not one of the statistics lines Linux
// appends ("processed N insns ..."), e.g. "R1 offset is outside of the packet". Empty for no log.
std::string verifier_reason(const std::string& log);

// The index of the last instruction the log shows ("19: (71) r0 = ..."), which for a refused
// program is where the verifier stopped; -1 when there is none.
int64_t verifier_failed_insn(const std::string& log);

// The last `count` non-empty lines of a verifier log, joined with "\n" (for error messages).
std::string last_log_lines(const std::string& log, size_t count);

}  // namespace userbpf::oracle

// userbpf::Program: one program of an Object (bpf_program in libbpf), a cheap handle that keeps
// its object alive. Its facts are known after Object::open; running and pinning need
// Object::load.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "userbpf/error.hpp"

namespace userbpf {

namespace api {
struct ObjectState;
}

// What BPF_PROG_TEST_RUN receives (bpf_test_run_opts). The program type decides what data and
// context mean: XDP and skb programs take a packet in `data_in` and an optional xdp_md /
// __sk_buff in `ctx_in`; tracing programs take their context (tracepoint record, pt_regs, u64
// arguments) in `ctx_in`; syscall programs get `ctx_in` as is.
struct RunOptions {
  std::vector<uint8_t> data_in;
  std::vector<uint8_t> ctx_in;
  uint32_t repeat = 1;  // 0 counts as 1, as in Linux
  // Memory checks and an instruction budget. Programs the verifier accepted may run unchecked
  // (false); a program loaded with LoadOptions::unverified always runs checked.
  bool checked = true;
};

// What BPF_PROG_TEST_RUN reports.
struct RunResult {
  uint32_t retval = 0;            // r0's low 32 bits, as Linux reports it
  std::vector<uint8_t> data_out;  // the packet after the program (XDP and skb)
  std::vector<uint8_t> ctx_out;
  uint64_t duration_ns = 0;  // mean per repetition
  bool redirected = false;   // bpf_redirect() in the last repetition (XDP and skb)
  uint32_t redirect_ifindex = 0;
};

class Program {
 public:
  const std::string& name() const;     // the function name
  const std::string& section() const;  // the SEC() name
  uint32_t type() const;               // enum bpf_prog_type
  std::string type_name() const;       // bpftool's name: "xdp", "tracepoint", ...
  size_t insn_count() const;           // instructions, called subprograms included
  bool loaded() const;
  uint32_t id() const;  // the runtime's program id (`userbpf prog show id N`), 0 before load
  // Whether the verifier accepted it at load (false before load and for LoadOptions::unverified).
  bool verified() const;

  Result<RunResult> run(const RunOptions& options) const;
  // Shorthands: a packet (XDP, skb) or a context (the other types), run `repeat` times.
  Result<RunResult> run_packet(std::span<const uint8_t> packet, uint32_t repeat = 1) const;
  Result<RunResult> run_context(std::span<const uint8_t> ctx, uint32_t repeat = 1) const;

  // bpf_program__pin: names the program at a /sys/fs/bpf/... path of the runtime, so it
  // outlives this process (`userbpf prog show pinned PATH`).
  Status pin(const std::string& path) const;

 private:
  friend class Object;
  Program(std::shared_ptr<api::ObjectState> state, size_t index)
      : state_(std::move(state)), index_(index) {}
  std::shared_ptr<api::ObjectState> state_;
  size_t index_ = 0;
};

}  // namespace userbpf

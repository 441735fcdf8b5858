// Runs a program written in the eBPF conformance suite's convention (r1 = pointer to an input
// memory block, r2 = its length, the result is the full 64-bit r0) in the host kernel.
//
// Linux has no program type with that convention, so the body is wrapped: an XDP main function
// takes the packet (= the memory, padded), checks `data + len(memory) <= data_end` so the verifier
// grants the body exactly len(memory) bytes, calls the body as a bpf-to-bpf subprogram with
// r1 = data and r2 = len(memory), then stores the body's r0 into 8 bytes reserved after the memory
// and returns XDP_PASS. The test run's data_out gives back both the memory and r0.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::oracle {

struct MemoryRun {
  uint64_t r0 = 0;
  std::vector<uint8_t> memory;  // the memory after the run, same size as the input
  uint32_t duration_ns = 0;     // kernel-measured time of the whole wrapper (one run)
};

// Where the wrapper puts things in the test packet.
struct MemoryPacketLayout {
  size_t memory_size = 0;
  size_t result_offset = 0;  // 8-aligned, after the memory
  size_t packet_size = 0;    // at least Linux's 14-byte minimum for XDP test runs
};

MemoryPacketLayout memory_packet_layout(size_t memory_size);

// The XDP program run_memory_program loads: the wrapper followed by `body`.
std::vector<isa::RawInsn> wrap_memory_program(std::span<const isa::RawInsn> body,
                                              size_t memory_size);

// Loads the wrapped body as XDP and test-runs it once over a copy of `memory`.
// Errors: Errc::kernel when the verifier refuses (message carries the verifier's reason) or the
// run fails; Errc::unsupported when the body calls helpers, whose numbers mean different things in
// the suite (helper 5 "unwind") and in Linux (5 = ktime_get_ns), so the kernel's answer would not
// be comparable. Callers skip a program on either.
Result<MemoryRun> run_memory_program(std::span<const isa::RawInsn> body,
                                     std::span<const uint8_t> memory);

}  // namespace userbpf::oracle

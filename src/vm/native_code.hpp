// Machine code for a program, produced by an engine beside the interpreter (src/jit) and attached
// to a vm::Interpreter (Interpreter::attach_native). The vm layer only runs it: it never includes
// the JIT. What lives here is the contract between the two: the state the machine code reads and
// writes (NativeState, fixed layout), the entry trampoline's signature, the frame size, and the
// functions the machine code calls back into (faults, legacy packet loads).
//
// Machine-code conventions (the JIT's side of the contract):
//   - eBPF r0..r10 live in host registers; r12 holds the NativeState* for the whole run.
//   - Every eBPF function (the program, bpf-to-bpf callees, callbacks) runs in a host stack frame
//     of kNativeFrameBytes bytes (return address included), so the call depth of any frame
//     follows from its stack pointer: depth = base_depth + (entry_rsp - rsp) / frame - 1. An
//     inlined bpf_loop keeps 32 more bytes below its caller's frame while it runs (and lowers
//     call_limit by as much); at most 7 of them never add up to a frame, so the division holds.
//   - A helper call stores the instruction index in call_site and the stack pointer in call_rsp
//     first, and afterwards leaves the program (to the innermost trampoline) when `stop` is set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/writer_token.hpp"

namespace userbpf::vm {

class CallContext;

// The run state machine code sees. Standard layout: the JIT addresses fields with offsetof.
struct NativeState {
  CallContext* context = nullptr;  // handed to helpers as their CallContext&
  uint64_t entry_rsp = 0;          // stack pointer of the innermost trampoline entry (abort target)
  uint64_t call_limit = 0;         // a bpf-to-bpf call is allowed only while rsp >= call_limit
  uint64_t call_rsp = 0;           // stack pointer at the current helper call
  uint32_t call_site = 0;          // instruction index of the current helper call (or fault)
  uint8_t stop = 0;                // the run failed or a tail call was requested: leave the program
  uint32_t batch_left = 0;         // runs the batch entry still makes (see NativeBatchEntry)
  const uint8_t* packet = nullptr;  // what LD_ABS / LD_IND read
  uint64_t packet_size = 0;
  // Hash maps' writer tokens (base/writer_token.hpp). writer_id is the thread's id, compared with
  // a token as one qword: held by this thread and nobody waiting. An in-place update that finds it
  // otherwise counts a miss and, from the second one in a run (or batch), claims the token through
  // native_claim_writer; `claims` counts the claims, and the run's end lets go of every token
  // the thread holds when there were any.
  uint64_t writer_id = 0;
  uint32_t writer_misses = 0;
  uint32_t claims = 0;
  // The element index the run's last inlined search of a hash map's key found (of any map that
  // has such updates), which an update without the lock tries first: only a hint, checked as a
  // lookup checks an element.
  uint32_t element_hint = 0;
};

// Host bytes of one eBPF frame: return address, 5 saved registers, 512 bytes of eBPF stack, the
// frame's may_goto counter and alignment padding.
inline constexpr uint64_t kNativeFrameBytes = 576;

// The entry trampoline: saves the host's callee-saved registers, makes `function` a new eBPF frame
// with r1..r5 = args, and returns its r0 (0 when the run stopped). `reserve` is how many bytes of
// frames below the entry may still be called (sets call_limit).
using NativeEntry = uint64_t (*)(NativeState* state, const uint64_t* args, const void* function,
                                 uint64_t reserve);

// The batch entry: as NativeEntry, then again after every run that returned, until
// state->batch_left (counted down after each such run) reaches zero or *watch is set; returns the
// r0 of the last run that returned (0 when none did). A run that stops leaves the batch at once,
// batch_left still counting it.
using NativeBatchEntry = uint64_t (*)(NativeState* state, const uint64_t* args,
                                      const void* function, uint64_t reserve, const bool* watch);

struct NativeCode {
  NativeEntry entry = nullptr;
  NativeBatchEntry batch_entry = nullptr;
  const void* main = nullptr;  // the program's first instruction
  // By instruction index: the function a BPF_PSEUDO_FUNC handle names, nullptr elsewhere; it
  // ends at the last such function (empty when the program has none).
  std::vector<const void*> functions;
  const uint8_t* code = nullptr;  // the machine code (read + execute only)
  size_t code_size = 0;
  // By instruction index: offset of its first machine instruction in `code` (for dumps).
  std::vector<uint32_t> insn_offsets;
  std::shared_ptr<const void> memory;  // keeps the code mapped while any Interpreter uses it
};

// Why machine code stopped a run on its own (the argument of native_fault).
enum class NativeFault : uint32_t {
  fell_off = 1,       // the last instruction is not exit
  core_poisoned = 2,  // libbpf's poisoned CO-RE relocation was reached
  call_depth = 3,     // a bpf-to-bpf call beyond isa::kMaxCallDepth frames
};

// Called by machine code: records the fault (instruction state->call_site) and sets stop.
void native_fault(NativeState* state, uint32_t reason);

// Called by machine code for LD_ABS / LD_IND: `size` bytes at `offset` of the packet, big endian.
// Returned in rax:rdx by the C calling convention; ok == 0 means out of bounds.
struct NativePacketRead {
  uint64_t value;
  uint64_t ok;
};
NativePacketRead native_packet_load(NativeState* state, uint64_t offset, uint64_t size);

// Called by machine code when an in-place hash update finds `token` not held by this thread alone:
// lets go of it when this thread holds it and a writer waits, else claims it. Returns 1 when the
// thread now holds it, 0 when the update takes the bucket lock.
uint32_t native_claim_writer(NativeState* state, base::WriterToken* token);

}  // namespace userbpf::vm

#include "oracle/memory_run.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "isa/decode.hpp"
#include "oracle/kernel.hpp"

namespace userbpf::oracle {
namespace {

// Linux refuses XDP and skb test runs on packets shorter than an Ethernet header (ETH_HLEN).
constexpr size_t kMinTestPacket = 14;

// struct xdp_md: u32 data at offset 0, u32 data_end at offset 4.
constexpr int16_t kXdpData = 0;
constexpr int16_t kXdpDataEnd = 4;

using isa::make_raw;

isa::RawInsn mov64_reg(uint8_t dst, uint8_t src) {
  return make_raw(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
isa::RawInsn mov64_imm(uint8_t dst, int32_t imm) {
  return make_raw(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
isa::RawInsn add64_imm(uint8_t dst, int32_t imm) {
  return make_raw(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm);
}
isa::RawInsn ldxw(uint8_t dst, uint8_t src, int16_t off) {
  return make_raw(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}

// Appends: r2 = ctx->data; r3 = ctx->data_end; r4 = r2 + bytes; if r4 > r3 goto <patched later>.
// Returns the index of the jump so the caller can point it at the failure exit.
size_t emit_bounds_check(std::vector<isa::RawInsn>& out, int32_t bytes) {
  out.push_back(ldxw(2, 6, kXdpData));
  out.push_back(ldxw(3, 6, kXdpDataEnd));
  out.push_back(mov64_reg(4, 2));
  out.push_back(add64_imm(4, bytes));
  out.push_back(make_raw(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 0, 0));
  return out.size() - 1;
}

// Helper calls in the body make the kernel's answer incomparable (see the header). Only a body
// that decodes is inspected; anything else goes to the kernel, whose refusal is the answer.
bool calls_helpers(std::span<const isa::RawInsn> body, int32_t* helper) {
  auto program = isa::decode(body);
  if (!program.ok()) return false;
  for (const isa::Insn& insn : program->insns) {
    if (insn.kind == isa::Kind::call && insn.call == isa::CallKind::helper) {
      *helper = insn.imm;
      return true;
    }
  }
  return false;
}

}  // namespace

MemoryPacketLayout memory_packet_layout(size_t memory_size) {
  MemoryPacketLayout layout;
  layout.memory_size = memory_size;
  layout.result_offset = (memory_size + 7) / 8 * 8;
  layout.packet_size = std::max(layout.result_offset + 8, kMinTestPacket);
  return layout;
}

std::vector<isa::RawInsn> wrap_memory_program(std::span<const isa::RawInsn> body,
                                              size_t memory_size) {
  const MemoryPacketLayout layout = memory_packet_layout(memory_size);
  std::vector<isa::RawInsn> out;
  out.push_back(mov64_reg(6, 1));  // r6 = ctx; callee-saved, so it survives the body
  const size_t check_memory = emit_bounds_check(out, static_cast<int32_t>(layout.memory_size));
  out.push_back(mov64_reg(1, 2));  // r1 = data
  out.push_back(mov64_imm(2, static_cast<int32_t>(layout.memory_size)));
  const size_t call_index = out.size();
  out.push_back(make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0));
  // The call clobbered r1-r5, and the verifier forgets packet bounds with them: check again, now
  // including the result slot, which the body itself was not allowed to touch.
  const size_t check_result =
      emit_bounds_check(out, static_cast<int32_t>(layout.result_offset + 8));
  out.push_back(
      make_raw(BPF_STX | BPF_MEM | BPF_DW, 2, 0, static_cast<int16_t>(layout.result_offset), 0));
  out.push_back(mov64_imm(0, XDP_PASS));
  out.push_back(make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  const size_t fail = out.size();
  out.push_back(mov64_imm(0, XDP_ABORTED));
  out.push_back(make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  out[check_memory].off = static_cast<int16_t>(fail - check_memory - 1);
  out[check_result].off = static_cast<int16_t>(fail - check_result - 1);
  out[call_index].imm = static_cast<int32_t>(out.size() - call_index - 1);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<MemoryRun> run_memory_program(std::span<const isa::RawInsn> body,
                                     std::span<const uint8_t> memory) {
  int32_t helper = 0;
  if (calls_helpers(body, &helper))
    return make_error(Errc::unsupported,
                      "the program calls helper " + std::to_string(helper) +
                          ", which means something else in Linux than in the conformance suite");
  const MemoryPacketLayout layout = memory_packet_layout(memory.size());
  const std::vector<isa::RawInsn> program = wrap_memory_program(body, memory.size());
  KernelLoadOptions options;
  options.name = "userbpf_memrun";
  auto loaded = KernelProgram::load(program, BPF_PROG_TYPE_XDP, options);
  if (!loaded.ok()) {
    // Report the place in the body, not in the wrapped program.
    Error error = loaded.take_error();
    const int64_t body_start = static_cast<int64_t>(program.size() - body.size());
    if (error.where.insn >= body_start) {
      error.where.insn -= body_start;
    } else if (error.where.insn >= 0) {
      error.message += "\n(the verifier stopped in the wrapper at insn " +
                       std::to_string(error.where.insn) + "; the body starts at insn " +
                       std::to_string(body_start) + ")";
      error.where.insn = -1;
    }
    return error;
  }

  std::vector<uint8_t> packet(layout.packet_size, 0);
  std::copy(memory.begin(), memory.end(), packet.begin());
  TestRunRequest request;
  request.data_in = packet;
  auto run = loaded->test_run(request);
  if (!run.ok()) return run.take_error();
  if (run->retval != XDP_PASS)
    return make_error(Errc::kernel,
                      "the wrapper's bounds check failed (retval " + std::to_string(run->retval) +
                          "): " + std::to_string(memory.size()) +
                          " bytes of memory do not fit the linear part of an XDP test packet");
  if (run->data_out.size() < layout.result_offset + 8)
    return make_error(Errc::kernel, "the kernel returned " + std::to_string(run->data_out.size()) +
                                        " bytes of packet, expected " +
                                        std::to_string(layout.packet_size));
  MemoryRun result;
  std::memcpy(&result.r0, run->data_out.data() + layout.result_offset, 8);  // little-endian host
  result.memory.assign(run->data_out.begin(), run->data_out.begin() + memory.size());
  result.duration_ns = run->duration_ns;
  return result;
}

}  // namespace userbpf::oracle

#include "cli/jited_disasm.hpp"

#include <Zydis/Zydis.h>

#include <algorithm>

namespace userbpf::cli {
namespace {

class Disassembler {
 public:
  Disassembler() {
    ZydisDecoderInit(&decoder_, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    ZydisFormatterInit(&formatter_, ZYDIS_FORMATTER_STYLE_INTEL);
    // objdump's habits: operand sizes always named ("push qword ptr [r12+0x8]"), lowercase hex
    // without padding, negative immediates as such ("add rdi, -0x18"), branch targets as plain
    // numbers.
    ZydisFormatterSetProperty(&formatter_, ZYDIS_FORMATTER_PROP_FORCE_SIZE, ZYAN_TRUE);
    ZydisFormatterSetProperty(&formatter_, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
    ZydisFormatterSetProperty(&formatter_, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE,
                              ZYDIS_PADDING_DISABLED);
    ZydisFormatterSetProperty(&formatter_, ZYDIS_FORMATTER_PROP_ADDR_PADDING_RELATIVE,
                              ZYDIS_PADDING_DISABLED);
    ZydisFormatterSetProperty(&formatter_, ZYDIS_FORMATTER_PROP_DISP_PADDING,
                              ZYDIS_PADDING_DISABLED);
    ZydisFormatterSetProperty(&formatter_, ZYDIS_FORMATTER_PROP_IMM_PADDING,
                              ZYDIS_PADDING_DISABLED);
    ZydisFormatterSetProperty(&formatter_, ZYDIS_FORMATTER_PROP_IMM_SIGNEDNESS,
                              ZYDIS_SIGNEDNESS_SIGNED);
  }

  // Decodes one instruction at image[offset]; false when the bytes are no instruction.
  bool decode(std::span<const uint8_t> image, size_t offset, size_t end, MachineInsn& out) {
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder_, image.data() + offset, end - offset, &insn,
                                             operands))) {
      return false;
    }
    char buffer[256];
    if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&formatter_, &insn, operands,
                                                      insn.operand_count_visible, buffer,
                                                      sizeof(buffer), offset, nullptr))) {
      return false;
    }
    out.offset = static_cast<uint32_t>(offset);
    out.bytes = image.subspan(offset, insn.length);
    out.text = buffer;
    out.operands.clear();
    for (uint8_t i = 0; i < insn.operand_count_visible; ++i) {
      if (ZYAN_SUCCESS(ZydisFormatterFormatOperand(&formatter_, &insn, &operands[i], buffer,
                                                   sizeof(buffer), offset, nullptr))) {
        out.operands.emplace_back(buffer);
      }
    }
    // The operation is the text before the first operand ("lock cmpxchg", "rep stosb").
    size_t cut = out.text.size();
    if (!out.operands.empty()) {
      const size_t at = out.text.find(out.operands.front());
      if (at != std::string::npos) cut = at;
    }
    out.operation = out.text.substr(0, cut);
    while (!out.operation.empty() && out.operation.back() == ' ') out.operation.pop_back();
    out.ends_flow = insn.mnemonic == ZYDIS_MNEMONIC_RET || insn.mnemonic == ZYDIS_MNEMONIC_JMP;
    out.is_call = insn.mnemonic == ZYDIS_MNEMONIC_CALL;
    out.target.reset();
    if ((insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE) && insn.operand_count_visible > 0 &&
        operands[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
      ZyanU64 target = 0;
      if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &operands[0], offset, &target)))
        out.target = target;
    }
    return true;
  }

 private:
  ZydisDecoder decoder_;
  ZydisFormatter formatter_;
};

}  // namespace

std::vector<MachineInsn> disassemble_x86(std::span<const uint8_t> image, size_t begin, size_t end,
                                         bool stop_after_flow_end) {
  std::vector<MachineInsn> listing;
  end = std::min(end, image.size());
  Disassembler disassembler;
  size_t offset = begin;
  while (offset < end) {
    MachineInsn insn;
    if (!disassembler.decode(image, offset, end, insn)) {
      insn.offset = static_cast<uint32_t>(offset);
      insn.bytes = image.subspan(offset, 1);
      insn.text = insn.operation = "(bad)";
    }
    offset += insn.bytes.size();
    const bool last = stop_after_flow_end && insn.ends_flow;
    listing.push_back(std::move(insn));
    if (last) break;
  }
  return listing;
}

}  // namespace userbpf::cli

// Fuzzes the conformance-suite assembler with arbitrary text.
// Properties: nothing crashes or hangs; an error names a line inside the text; what assembles
// disassembles to text that assembles to the same slots; what decodes can be dumped.
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "isa/conformance_asm.hpp"
#include "isa/decode.hpp"
#include "isa/disasm.hpp"

using namespace userbpf;
using namespace userbpf::isa;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return -1;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto raw = assemble(text);
  if (!raw.ok()) {
    int lines = 1;
    for (char c : text) lines += c == '\n';
    FUZZ_CHECK(raw.error().code == Errc::assemble, raw.error().to_string());
    FUZZ_CHECK(raw.error().where.line >= 1 && raw.error().where.line <= lines,
               raw.error().to_string());
    return 0;
  }
  if (raw->empty()) return 0;
  const std::string again_text = disassemble(*raw);
  auto again = assemble(again_text);
  FUZZ_CHECK(again.ok(), again_text);
  FUZZ_CHECK(again->size() == raw->size() &&
                 std::memcmp(again->data(), raw->data(), raw->size() * sizeof(RawInsn)) == 0,
             again_text);
  auto prog = decode(*raw);
  if (prog.ok()) (void)dump_xlated(*prog);
  return 0;
}

// Fuzzes the decoder and both text forms with arbitrary instruction bytes.
// Properties:
//   - nothing crashes, hangs or trips a sanitizer;
//   - the suite disassembly of any slots assembles back to the same slots;
//   - for a decodable program, every instruction whose kind the suite syntax has prints as suite
//     syntax (not as the `.raw` extension), so the round trip is not carried by `.raw` alone;
//   - a decodable program's dump_xlated has one line per non-tail instruction.
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "isa/conformance_asm.hpp"
#include "isa/decode.hpp"
#include "isa/disasm.hpp"

using namespace userbpf;
using namespace userbpf::isa;

namespace {

// True when the suite syntax has a form for this decoded instruction.
bool suite_has_form(const Insn& d) {
  switch (d.kind) {
    case Kind::may_goto:
    case Kind::packet_load: return false;
    case Kind::lddw: return d.src == 0;
    case Kind::atomic: return d.imm != BPF_LOAD_ACQ && d.imm != BPF_STORE_REL;
    case Kind::call: return d.call != CallKind::kfunc || d.off == 0;
    default: return true;
  }
}

// Which slots the disassembly printed as `.raw`: label lines cover no slot, lddw two.
std::vector<bool> raw_slots(const std::string& text) {
  std::vector<bool> raw;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() || line.back() == ':') continue;
    const bool is_raw = line.rfind(".raw ", 0) == 0;
    raw.push_back(is_raw);
    if (line.rfind("lddw ", 0) == 0) raw.push_back(false);
  }
  return raw;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8 * 4096) return -1;
  auto raw = raw_from_bytes(std::span<const uint8_t>(data, size));
  if (!raw.ok()) return 0;

  const std::string text = disassemble(*raw);
  auto back = assemble(text);
  FUZZ_CHECK(back.ok(), text + "\n" + (back.ok() ? "" : back.error().to_string()));
  FUZZ_CHECK(back->size() == raw->size() &&
                 std::memcmp(back->data(), raw->data(), raw->size() * sizeof(RawInsn)) == 0,
             text);

  auto prog = decode(*raw);
  if (!prog.ok()) {
    FUZZ_CHECK(
        prog.error().where.insn >= 0 && prog.error().where.insn < static_cast<int64_t>(raw->size()),
        prog.error().to_string());
    return 0;
  }
  const std::vector<bool> printed_raw = raw_slots(text);
  FUZZ_CHECK(printed_raw.size() == raw->size(), text);
  size_t lines = 0;
  for (size_t i = 0; i < prog->size(); ++i) {
    const Insn& d = prog->insns[i];
    if (d.is_lddw_tail()) continue;
    ++lines;
    FUZZ_CHECK(!format_insn(*prog, i).empty(), std::to_string(i));
    if (suite_has_form(d)) FUZZ_CHECK(!printed_raw[i], text + "\nslot " + std::to_string(i));
  }
  const std::string dump = dump_xlated(*prog);
  size_t newlines = 0;
  for (char c : dump) newlines += c == '\n';
  FUZZ_CHECK(newlines == lines, dump);
  return 0;
}

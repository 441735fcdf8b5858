#include "userbpf/error.hpp"

namespace userbpf {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::io: return "i/o error";
    case Errc::decode: return "decode error";
    case Errc::assemble: return "assembly error";
    case Errc::verify: return "verifier error";
    case Errc::fault: return "memory fault";
    case Errc::budget: return "instruction budget exceeded";
    case Errc::unsupported: return "unsupported";
    case Errc::not_found: return "not found";
    case Errc::kernel: return "kernel error";
  }
  return "error";
}

std::string Error::to_string() const {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line >= 0) out += ":" + std::to_string(where.line);
    out += ": ";
  } else if (where.line >= 0) {
    out += "line " + std::to_string(where.line) + ": ";
  }
  if (!where.section.empty()) out += "section '" + where.section + "': ";
  if (where.insn >= 0) out += "insn " + std::to_string(where.insn) + ": ";
  out += message;
  return out;
}

}  // namespace userbpf

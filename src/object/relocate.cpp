// Programs of an object and their relocation, following libbpf: every STT_FUNC symbol of an
// executable section is a function; those outside .text are entry programs, those in .text are
// subprograms. ld_imm64 relocations become map-index forms, calls and function addresses into
// .text pull the called subprogram into the calling program (appended once per program, depth
// first, in call order) and get their offsets fixed, and .BTF.ext records follow the code.
#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>

#include "object/loader.hpp"

namespace userbpf::object {
namespace {

constexpr uint8_t kCall = BPF_JMP | BPF_CALL;
constexpr uint8_t kLddw = BPF_LD | BPF_IMM | BPF_DW;

enum class CodeReloKind : uint8_t { call, func_addr, extern_call };

struct CodeRelo {
  CodeReloKind kind = CodeReloKind::call;
  uint64_t sym_off = 0;
};

// Per function: code relocations by local instruction index, and extern uses.
struct FunctionRelos {
  std::map<size_t, CodeRelo> code;
  std::vector<ExternUse> externs;  // insn is local to the function
};

std::string hex(unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%x", value);
  return buf;
}

bool is_exec_section(const ElfSection& s) {
  return s.type == SHT_PROGBITS && (s.flags & SHF_EXECINSTR) && s.size > 0;
}

// Applies one relocation record of an executable section to the function holding it.
Status apply_relo(Loader& ld, const ElfSection& sec, const ElfRel& rel, std::vector<size_t>& fn_of,
                  std::vector<FunctionRelos>& relos) {
  const int64_t sec_insn = static_cast<int64_t>(rel.offset / 8);
  if (rel.offset % 8 != 0 || rel.offset >= sec.data.size())
    return ld.fail(Errc::decode, sec.name,
                   "relocation at byte offset " + std::to_string(rel.offset) +
                       " is not an instruction of the section");
  if (rel.symbol == 0 || rel.symbol >= ld.elf.symbols.size())
    return ld.fail(Errc::not_found, sec.name,
                   "relocation against unknown symbol #" + std::to_string(rel.symbol), sec_insn);
  const size_t fn_index = fn_of[sec_insn];
  if (fn_index == SIZE_MAX)
    return ld.fail(Errc::decode, sec.name, "relocation outside any function", sec_insn);
  Function& fn = ld.functions[fn_index];
  const size_t local = static_cast<size_t>(sec_insn) - fn.first;
  isa::RawInsn& insn = fn.insns[local];
  const ElfSymbol& sym = ld.elf.symbols[rel.symbol];
  const std::string sym_name = sym.name.empty() && sym.shndx < ld.elf.sections.size()
                                   ? ld.elf.sections[sym.shndx].name
                                   : sym.name;
  auto fail = [&](Errc code, const std::string& msg) {
    return ld.fail(code, sec.name, "relocation against '" + sym_name + "': " + msg, sec_insn);
  };
  const bool is_extern = sym.shndx == SHN_UNDEF;
  std::optional<size_t> ext_index;
  if (is_extern) {
    auto it = ld.extern_by_symbol.find(sym.index);
    if (it == ld.extern_by_symbol.end()) return fail(Errc::not_found, "undefined symbol");
    ext_index = it->second;
  }

  if (insn.code == kCall) {
    if (insn.src_reg != BPF_PSEUDO_CALL)
      return fail(Errc::decode, "call instruction is not a bpf-to-bpf call (src_reg " +
                                    std::to_string(insn.src_reg) + ")");
    if (is_extern) {
      const Extern& ext = ld.obj.externs[*ext_index];
      if (ext.kind != ExternKind::ksym_func)
        return fail(Errc::decode, "call to an extern that is not a kernel function");
      insn.src_reg = BPF_PSEUDO_KFUNC_CALL;
      insn.imm = 0;  // the kernel BTF id, filled when the kfunc is resolved
      relos[fn_index].code[local] = {CodeReloKind::extern_call, 0};
      relos[fn_index].externs.push_back({static_cast<uint32_t>(local), *ext_index});
      return ok_status();
    }
    if (sym.shndx != ld.text_section || ld.text_section == 0)
      return fail(Errc::decode,
                  "call into section '" +
                      (sym.shndx < ld.elf.sections.size() ? ld.elf.sections[sym.shndx].name
                                                          : std::to_string(sym.shndx)) +
                      "', only .text holds subprograms");
    if (sym.value % 8 != 0) return fail(Errc::decode, "misaligned call target");
    relos[fn_index].code[local] = {CodeReloKind::call, sym.value};
    return ok_status();
  }
  if (insn.code != kLddw)
    return fail(Errc::decode, "instruction code " + hex(insn.code) + " cannot be relocated");
  if (local + 1 >= fn.count) return fail(Errc::decode, "ld_imm64 is missing its second slot");
  isa::RawInsn& next = fn.insns[local + 1];

  if (is_extern) {
    const Extern& ext = ld.obj.externs[*ext_index];
    if (ext.kind == ExternKind::kconfig) {
      insn.src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
      insn.imm = static_cast<int32_t>(*ld.kconfig_map);
      next.imm = static_cast<int32_t>(ext.kconfig_offset);
    } else {
      // A kernel variable: the kernel BTF id (and module BTF fd) are filled at resolution.
      insn.src_reg = BPF_PSEUDO_BTF_ID;
      insn.imm = 0;
      next.imm = 0;
      relos[fn_index].externs.push_back({static_cast<uint32_t>(local), *ext_index});
    }
    return ok_status();
  }
  if (sym.shndx >= SHN_LORESERVE || sym.shndx >= ld.elf.sections.size())
    return fail(Errc::decode, "symbol is in special section " + hex(sym.shndx));
  const ElfSection& target = ld.elf.sections[sym.shndx];

  if (sym.shndx == ld.text_section && (sym.type == STT_SECTION || sym.type == STT_FUNC)) {
    if (sym.value % 8 != 0 || insn.imm % 8 != 0)
      return fail(Errc::decode, "misaligned subprogram address");
    // clang emits a plain ld_imm64 of the byte offset; like libbpf, mark it as a function
    // address so the kernel (and the linking step below) recognise it.
    if (insn.src_reg != 0 && insn.src_reg != BPF_PSEUDO_FUNC)
      return fail(Errc::decode,
                  "function address load with src_reg " + std::to_string(insn.src_reg));
    insn.src_reg = BPF_PSEUDO_FUNC;
    relos[fn_index].code[local] = {CodeReloKind::func_addr, sym.value};
    return ok_status();
  }
  if (sym.shndx == ld.maps_section || sym.shndx == ld.legacy_maps_section) {
    const MapOrigin origin =
        sym.shndx == ld.maps_section ? MapOrigin::btf_defined : MapOrigin::legacy;
    for (size_t m = 0; m < ld.obj.maps.size(); ++m) {
      const MapDef& md = ld.obj.maps[m];
      if (md.origin != origin || md.section_offset != sym.value) continue;
      insn.src_reg = BPF_PSEUDO_MAP_IDX;
      insn.imm = static_cast<int32_t>(m);
      return ok_status();
    }
    return fail(Errc::not_found,
                "no map at offset " + std::to_string(sym.value) + " of " + target.name);
  }
  auto data = ld.data_maps.find(sym.shndx);
  if (data != ld.data_maps.end()) {
    // Globals: the variable's offset is the symbol value plus what clang put in imm (statics
    // are addressed through the section symbol with the offset in imm).
    const int64_t off = static_cast<int64_t>(insn.imm) + static_cast<int64_t>(sym.value);
    if (off < 0 || off > static_cast<int64_t>(target.size))
      return fail(Errc::decode, "offset " + std::to_string(off) + " is outside " + target.name);
    insn.src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
    insn.imm = static_cast<int32_t>(data->second);
    next.imm = static_cast<int32_t>(off);
    return ok_status();
  }
  return fail(Errc::unsupported, "symbol is in section '" + target.name +
                                     "', which holds neither maps, data nor code");
}

}  // namespace

Status collect_functions(Loader& ld) {
  for (const ElfSection& sec : ld.elf.sections) {
    if (!is_exec_section(sec)) continue;
    if (sec.data.size() % 8 != 0)
      return ld.fail(Errc::decode, sec.name,
                     "code size " + std::to_string(sec.data.size()) + " is not a multiple of 8");
    const bool is_text = sec.index == ld.text_section;
    std::vector<const ElfSymbol*> syms;
    for (const ElfSymbol& sym : ld.elf.symbols)
      if (sym.shndx == sec.index && sym.type == STT_FUNC) syms.push_back(&sym);
    std::sort(syms.begin(), syms.end(),
              [](const ElfSymbol* a, const ElfSymbol* b) { return a->value < b->value; });
    if (syms.empty() && !is_text) ld.warn("sec '" + sec.name + "': no function symbols, skipped");
    size_t end_of_previous = 0;
    for (const ElfSymbol* sym : syms) {
      if (sym->value % 8 != 0 || sym->size % 8 != 0 || sym->size == 0 ||
          sym->value > sec.data.size() || sec.data.size() - sym->value < sym->size)
        return ld.fail(Errc::decode, sec.name,
                       "function '" + sym->name + "' at [" + std::to_string(sym->value) + ", +" +
                           std::to_string(sym->size) + ") is not a valid instruction range");
      if (sym->value < end_of_previous)
        return ld.fail(Errc::decode, sec.name, "function '" + sym->name + "' overlaps another");
      end_of_previous = sym->value + sym->size;
      if (!is_text && sym->bind == STB_LOCAL)
        return ld.fail(Errc::unsupported, sec.name,
                       "program '" + sym->name + "' is static and not supported");
      Function fn;
      fn.name = sym->name;
      fn.section = sec.index;
      fn.first = sym->value / 8;
      fn.count = sym->size / 8;
      fn.subprogram = is_text;
      fn.hidden = sym->visibility == STV_HIDDEN;
      fn.insns.resize(fn.count);
      std::memcpy(fn.insns.data(), sec.data.data() + sym->value, sym->size);
      if (!is_text) {
        Program prog;
        prog.name = fn.name;
        prog.section = sec.name;
        prog.def = classify_section(sec.name);
        if (!prog.def.known)
          ld.warn("prog '" + prog.name + "': unrecognized ELF section name '" + sec.name +
                  "', program type unspec");
        prog.own_insns = fn.count;
        prog.section_offset = fn.first;
        ld.obj.programs.push_back(std::move(prog));
      }
      ld.functions.push_back(std::move(fn));
    }
  }
  return ok_status();
}

Status relocate_programs(Loader& ld) {
  std::vector<FunctionRelos> relos(ld.functions.size());

  // 1. Data, map and extern relocations, per function (libbpf's bpf_program__record_reloc).
  for (const ElfSection& rel_sec : ld.elf.sections) {
    if (rel_sec.type != SHT_REL) continue;
    if (rel_sec.info >= ld.elf.sections.size())
      return ld.fail(Errc::decode, rel_sec.name, "relocates a section that does not exist");
    const ElfSection& sec = ld.elf.sections[rel_sec.info];
    if (!is_exec_section(sec)) {
      const bool quiet = sec.index == ld.maps_section || sec.name == ".BTF" ||
                         sec.name == ".BTF.ext" || sec.name.starts_with(".debug") ||
                         sec.name.starts_with(".eh_frame");
      if (!quiet) ld.warn("skipping relocations " + rel_sec.name + " for section " + sec.name);
      continue;
    }
    if (rel_sec.link != ld.elf.symtab_index)
      return ld.fail(Errc::decode, rel_sec.name, "relocations do not use the symbol table");
    std::vector<size_t> fn_of(sec.data.size() / 8, SIZE_MAX);
    for (size_t f = 0; f < ld.functions.size(); ++f)
      if (ld.functions[f].section == sec.index)
        for (size_t i = 0; i < ld.functions[f].count; ++i) fn_of[ld.functions[f].first + i] = f;
    auto rels = ld.elf.rels(rel_sec);
    if (!rels) return rels.take_error();
    for (const ElfRel& rel : *rels) {
      auto st = apply_relo(ld, sec, rel, fn_of, relos);
      if (!st) return st.take_error();
    }
  }

  auto function_at = [&](size_t section, size_t first) -> std::optional<size_t> {
    for (size_t f = 0; f < ld.functions.size(); ++f)
      if (ld.functions[f].section == section && ld.functions[f].first == first) return f;
    return std::nullopt;
  };

  // 2. Link: append called subprograms to each entry program (libbpf's bpf_object__reloc_code).
  size_t prog_index = 0;
  for (size_t main = 0; main < ld.functions.size(); ++main) {
    if (ld.functions[main].subprogram) continue;
    Program& prog = ld.obj.programs[prog_index++];
    prog.insns = ld.functions[main].insns;
    std::vector<std::pair<size_t, size_t>> placed = {{main, 0}};  // function, start in prog
    auto start_of = [&](size_t f) -> std::optional<size_t> {
      for (const auto& [fn, start] : placed)
        if (fn == f) return start;
      return std::nullopt;
    };
    std::function<Status(size_t, size_t)> link = [&](size_t f, size_t start) -> Status {
      const Function fn = ld.functions[f];  // copy: placed/prog grow while we walk
      for (size_t local = 0; local < fn.count; ++local) {
        isa::RawInsn& insn = prog.insns[start + local];
        const bool is_call = insn.code == kCall && insn.src_reg == BPF_PSEUDO_CALL;
        const bool is_func = insn.code == kLddw && insn.src_reg == BPF_PSEUDO_FUNC;
        if (!is_call && !is_func) continue;
        const auto relo = relos[f].code.find(local);
        size_t section = fn.section;
        int64_t target;
        if (relo != relos[f].code.end()) {
          if (relo->second.kind == CodeReloKind::extern_call) continue;
          section = ld.text_section;
          target = relo->second.kind == CodeReloKind::call
                       ? static_cast<int64_t>(relo->second.sym_off / 8) + insn.imm + 1
                       : (static_cast<int64_t>(relo->second.sym_off) + insn.imm) / 8;
        } else {
          target = static_cast<int64_t>(fn.first + local) + insn.imm + 1;
        }
        const int64_t here = static_cast<int64_t>(fn.first + local);
        std::optional<size_t> callee;
        if (target >= 0) callee = function_at(section, static_cast<size_t>(target));
        if (!callee)
          return ld.fail(Errc::decode, ld.elf.sections[fn.section].name,
                         std::string(is_call ? "call" : "function address") +
                             " targets instruction " + std::to_string(target) + " of " +
                             ld.elf.sections[section].name + ", which does not start a function",
                         here);
        if (!ld.functions[*callee].subprogram)
          return ld.fail(Errc::decode, ld.elf.sections[fn.section].name,
                         "call to entry program '" + ld.functions[*callee].name + "'", here);
        auto callee_start = start_of(*callee);
        if (!callee_start) {
          callee_start = prog.insns.size();
          const auto& code = ld.functions[*callee].insns;
          prog.insns.insert(prog.insns.end(), code.begin(), code.end());
          placed.push_back({*callee, *callee_start});
          prog.subprograms.push_back(ld.functions[*callee].name);
          if (ld.functions[*callee].hidden)
            prog.hidden_subprograms.push_back(ld.functions[*callee].name);
          auto st = link(*callee, *callee_start);
          if (!st) return st;
        }
        prog.insns[start + local].imm = static_cast<int32_t>(
            static_cast<int64_t>(*callee_start) - static_cast<int64_t>(start + local) - 1);
      }
      return ok_status();
    };
    auto st = link(main, 0);
    if (!st) return st.take_error();

    // 3. Extern uses and .BTF.ext records of every placed function, rebased onto the program.
    for (const auto& placement : placed) {
      // Named copies: clang 14 cannot capture structured bindings in the lambda below.
      const size_t f = placement.first;
      const size_t start = placement.second;
      const Function& fn = ld.functions[f];
      for (const ExternUse& use : relos[f].externs)
        prog.extern_uses.push_back({static_cast<uint32_t>(use.insn + start), use.extern_index});
      if (!ld.ext) continue;
      const std::string& sec_name = ld.elf.sections[fn.section].name;
      auto in_fn = [&](uint32_t byte_off, uint32_t& out) {
        if (byte_off % 8 != 0) return false;
        const size_t idx = byte_off / 8;
        if (idx < fn.first || idx >= fn.first + fn.count) return false;
        out = static_cast<uint32_t>(idx - fn.first + start);
        return true;
      };
      if (auto it = ld.ext->func_info.find(sec_name); it != ld.ext->func_info.end())
        for (const ExtFuncInfo& r : it->second) {
          uint32_t insn;
          if (in_fn(r.insn_off, insn)) prog.func_info.push_back({insn, r.type_id});
        }
      if (auto it = ld.ext->line_info.find(sec_name); it != ld.ext->line_info.end())
        for (const ExtLineInfo& r : it->second) {
          uint32_t insn;
          if (in_fn(r.insn_off, insn))
            prog.line_info.push_back({insn, r.file_name_off, r.line_off, r.line_col});
        }
      if (auto it = ld.ext->core_relos.find(sec_name); it != ld.ext->core_relos.end())
        for (const ExtCoreRelo& r : it->second) {
          uint32_t insn;
          if (!in_fn(r.insn_off, insn)) continue;
          // Only known kinds become the enum (any other value in it would be undefined).
          if (r.kind > BPF_CORE_TYPE_MATCHES)
            return ld.fail(Errc::decode, ".BTF.ext",
                           "CO-RE relocation of " + sec_name + " has unknown kind " +
                               std::to_string(r.kind),
                           insn);
          CoreRelo c;
          c.insn = insn;
          c.type_id = r.type_id;
          c.access = btf_name(ld.btf, r.access_str_off);
          c.kind = static_cast<bpf_core_relo_kind>(r.kind);
          prog.core_relos.push_back(std::move(c));
        }
    }
    auto by_insn = [](const auto& a, const auto& b) { return a.insn < b.insn; };
    std::stable_sort(prog.func_info.begin(), prog.func_info.end(), by_insn);
    std::stable_sort(prog.line_info.begin(), prog.line_info.end(), by_insn);
    std::stable_sort(prog.core_relos.begin(), prog.core_relos.end(), by_insn);
  }
  return ok_status();
}

}  // namespace userbpf::object

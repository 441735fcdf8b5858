#include "object/elf_file.hpp"

#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <memory>

namespace userbpf::object {
namespace {

#ifndef EM_BPF
#define EM_BPF 247
#endif

Error elf_error(const std::string& file, const std::string& section, const std::string& what) {
  Location where;
  where.file = file;
  where.section = section;
  const char* detail = elf_errmsg(-1);
  std::string message = what;
  if (detail && *detail) message += " (libelf: " + std::string(detail) + ")";
  return make_error(Errc::decode, message, where);
}

struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};

}  // namespace

Result<std::vector<ElfRel>> ElfFile::rels(const ElfSection& section) const {
  std::vector<ElfRel> out;
  const size_t entry = sizeof(Elf64_Rel);
  Location where;
  where.file = file;
  where.section = section.name;
  if (section.data.size() % entry != 0)
    return make_error(Errc::decode,
                      "relocation section size " + std::to_string(section.data.size()) +
                          " is not a multiple of " + std::to_string(entry),
                      where);
  for (size_t off = 0; off + entry <= section.data.size(); off += entry) {
    Elf64_Rel rel;
    std::memcpy(&rel, section.data.data() + off, entry);
    out.push_back({rel.r_offset, static_cast<uint32_t>(ELF64_R_SYM(rel.r_info)),
                   static_cast<uint32_t>(ELF64_R_TYPE(rel.r_info))});
  }
  return out;
}

Result<ElfFile> read_elf(const std::vector<uint8_t>& image, const std::string& file) {
  ElfFile out;
  out.file = file;
  Location where;
  where.file = file;
  if (image.size() < sizeof(Elf64_Ehdr))
    return make_error(Errc::decode,
                      "not an ELF object: " + std::to_string(image.size()) + " bytes is too short",
                      where);
  if (elf_version(EV_CURRENT) == EV_NONE) return elf_error(file, "", "libelf is unusable");
  // libelf only reads the image (ELF_C_READ_MMAP semantics), the cast does not lead to writes.
  std::unique_ptr<Elf, ElfCloser> elf(
      elf_memory(reinterpret_cast<char*>(const_cast<uint8_t*>(image.data())), image.size()));
  if (!elf) return elf_error(file, "", "cannot parse ELF");
  if (elf_kind(elf.get()) != ELF_K_ELF) return make_error(Errc::decode, "not an ELF object", where);
  if (gelf_getclass(elf.get()) != ELFCLASS64)
    return make_error(Errc::decode, "not a 64-bit ELF object", where);
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr)) return elf_error(file, "", "cannot read the ELF header");
  if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
    return make_error(Errc::unsupported, "big-endian BPF objects are not supported", where);
  if (ehdr.e_type != ET_REL)
    return make_error(Errc::decode,
                      "not a relocatable object (e_type " + std::to_string(ehdr.e_type) + ")",
                      where);
  if (ehdr.e_machine != EM_BPF && ehdr.e_machine != EM_NONE)
    return make_error(Errc::decode,
                      "not a BPF object (e_machine " + std::to_string(ehdr.e_machine) + ")", where);

  // The section header table must lie inside the image: libelf quietly reports zero sections
  // for a truncated file otherwise.
  if (ehdr.e_shnum == 0 || ehdr.e_shoff == 0 || ehdr.e_shentsize != sizeof(Elf64_Shdr) ||
      ehdr.e_shoff > image.size() ||
      (image.size() - ehdr.e_shoff) / sizeof(Elf64_Shdr) < ehdr.e_shnum)
    return make_error(Errc::decode,
                      "section header table (" + std::to_string(ehdr.e_shnum) + " entries at " +
                          std::to_string(ehdr.e_shoff) + ") lies outside the " +
                          std::to_string(image.size()) + "-byte file",
                      where);
  size_t strndx = 0;
  if (elf_getshdrstrndx(elf.get(), &strndx) != 0)
    return elf_error(file, "", "cannot find the section name table");
  size_t count = 0;
  if (elf_getshdrnum(elf.get(), &count) != 0) return elf_error(file, "", "cannot count sections");
  if (count > image.size() / 8)
    return make_error(Errc::decode, "section count " + std::to_string(count) + " is impossible",
                      where);
  out.sections.resize(count);
  for (size_t i = 1; i < count; ++i) {
    Elf_Scn* scn = elf_getscn(elf.get(), i);
    GElf_Shdr shdr;
    if (!scn || !gelf_getshdr(scn, &shdr))
      return elf_error(file, "#" + std::to_string(i), "cannot read section header");
    ElfSection& s = out.sections[i];
    s.index = i;
    const char* name = elf_strptr(elf.get(), strndx, shdr.sh_name);
    if (!name) return elf_error(file, "#" + std::to_string(i), "section name is out of bounds");
    s.name = name;
    s.type = shdr.sh_type;
    s.flags = shdr.sh_flags;
    s.link = shdr.sh_link;
    s.info = shdr.sh_info;
    s.size = shdr.sh_size;
    s.offset = shdr.sh_offset;
    s.entsize = shdr.sh_entsize;
    if (shdr.sh_type == SHT_NOBITS || shdr.sh_type == SHT_NULL || shdr.sh_size == 0) continue;
    if (shdr.sh_offset > image.size() || image.size() - shdr.sh_offset < shdr.sh_size)
      return make_error(Errc::decode,
                        "section data [" + std::to_string(shdr.sh_offset) + ", +" +
                            std::to_string(shdr.sh_size) + ") lies outside the " +
                            std::to_string(image.size()) + "-byte file",
                        Location{file, s.name, -1, -1});
    // The raw bytes, untranslated: a little-endian object on a little-endian host.
    s.data.assign(image.begin() + static_cast<ptrdiff_t>(shdr.sh_offset),
                  image.begin() + static_cast<ptrdiff_t>(shdr.sh_offset + shdr.sh_size));
    if (shdr.sh_type == SHT_SYMTAB) {
      if (out.symtab_index != 0)
        return make_error(Errc::decode, "more than one symbol table",
                          Location{file, s.name, -1, -1});
      out.symtab_index = i;
    }
  }

  if (out.symtab_index != 0) {
    const ElfSection& symtab = out.sections[out.symtab_index];
    if (symtab.link == 0 || symtab.link >= count || out.sections[symtab.link].type != SHT_STRTAB)
      return make_error(Errc::decode, "symbol table has no string table",
                        Location{file, symtab.name, -1, -1});
    const std::vector<uint8_t>& strtab = out.sections[symtab.link].data;
    if (symtab.data.size() % sizeof(Elf64_Sym) != 0)
      return make_error(Errc::decode, "symbol table size is not a multiple of the entry size",
                        Location{file, symtab.name, -1, -1});
    const size_t nsyms = symtab.data.size() / sizeof(Elf64_Sym);
    out.symbols.resize(nsyms);
    for (size_t i = 0; i < nsyms; ++i) {
      Elf64_Sym sym;
      std::memcpy(&sym, symtab.data.data() + i * sizeof(sym), sizeof(sym));
      ElfSymbol& s = out.symbols[i];
      s.index = i;
      if (sym.st_name >= strtab.size() && sym.st_name != 0)
        return make_error(Errc::decode,
                          "symbol " + std::to_string(i) + " has a name outside the string table",
                          Location{file, symtab.name, -1, -1});
      if (sym.st_name < strtab.size()) {
        const char* begin = reinterpret_cast<const char*>(strtab.data()) + sym.st_name;
        s.name.assign(begin, strnlen(begin, strtab.size() - sym.st_name));
      }
      s.value = sym.st_value;
      s.size = sym.st_size;
      s.bind = ELF64_ST_BIND(sym.st_info);
      s.type = ELF64_ST_TYPE(sym.st_info);
      s.visibility = ELF64_ST_VISIBILITY(sym.st_other);
      s.shndx = sym.st_shndx;
    }
  }
  return out;
}

}  // namespace userbpf::object

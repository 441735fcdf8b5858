// USDT notes (object/usdt_notes.hpp) of the test binary gcc built from tests/hooks/usdt: every
// probe with its provider, name, argument string, semaphore, and the file offsets a uprobe and the
// semaphore counter take, checked against the ELF program headers independently.
#include "object/usdt_notes.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

namespace userbpf::object {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The file bytes at a virtual address, through the program headers read by hand.
uint64_t file_offset_by_phdrs(const std::vector<uint8_t>& image, uint64_t vaddr) {
  Elf64_Ehdr ehdr;
  std::memcpy(&ehdr, image.data(), sizeof(ehdr));
  for (int i = 0; i < ehdr.e_phnum; ++i) {
    Elf64_Phdr phdr;
    std::memcpy(&phdr, image.data() + ehdr.e_phoff + i * ehdr.e_phentsize, sizeof(phdr));
    if (phdr.p_type == PT_LOAD && phdr.p_vaddr <= vaddr && vaddr < phdr.p_vaddr + phdr.p_filesz) {
      return vaddr - phdr.p_vaddr + phdr.p_offset;
    }
  }
  return 0;
}

TEST(UsdtNotes, ReadsEveryProbeOfTheTestBinary) {
  auto file = read_usdt_notes(USERBPF_USDT_PROBES);
  ASSERT_TRUE(file) << file.error().to_string();
  EXPECT_TRUE(file->shared_object);  // a PIE
  EXPECT_NE(file->base_section, 0u);
  std::map<std::string, int> sites;
  for (const UsdtNote& note : file->notes) {
    EXPECT_EQ(note.provider, "userbpf_test");
    ++sites[note.name];
    EXPECT_EQ(note.base, file->base_section);  // not prelinked
    EXPECT_EQ(note.semaphore != 0, note.name == "guarded") << note.name;
  }
  EXPECT_EQ(sites["small"], 2);  // two call sites of one probe
  EXPECT_EQ(sites["wide"], 1);
  EXPECT_EQ(sites["none"], 1);
  EXPECT_EQ(sites["stack"], 1);
  EXPECT_EQ(sites["guarded"], 1);
}

TEST(UsdtNotes, ProbesHaveFileOffsetsOfTheirInstructions) {
  const std::vector<uint8_t> image = read_file(USERBPF_USDT_PROBES);
  ASSERT_GT(image.size(), sizeof(Elf64_Ehdr));
  auto small = find_usdt_probes(USERBPF_USDT_PROBES, "userbpf_test", "small");
  ASSERT_TRUE(small) << small.error().to_string();
  ASSERT_EQ(small->size(), 2u);
  for (const UsdtProbe& probe : *small) {
    EXPECT_EQ(probe.file_offset, file_offset_by_phdrs(image, probe.address));
    // <sys/sdt.h> puts a nop at every probe site.
    ASSERT_LT(probe.file_offset, image.size());
    EXPECT_EQ(image[probe.file_offset], 0x90) << std::hex << probe.file_offset;
    EXPECT_EQ(probe.semaphore_offset, 0u);
  }
  EXPECT_NE((*small)[0].file_offset, (*small)[1].file_offset);

  auto guarded = find_usdt_probes(USERBPF_USDT_PROBES, "userbpf_test", "guarded");
  ASSERT_TRUE(guarded) << guarded.error().to_string();
  ASSERT_EQ(guarded->size(), 1u);
  const UsdtProbe& g = guarded->front();
  EXPECT_NE(g.semaphore_offset, 0u);
  EXPECT_EQ(g.semaphore_offset, file_offset_by_phdrs(image, g.note.semaphore));
  EXPECT_EQ(g.note.args, "-4@%edi -4@%eax");
}

TEST(UsdtNotes, PreciseErrors) {
  auto missing = find_usdt_probes(USERBPF_USDT_PROBES, "userbpf_test", "nosuch");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message, "no USDT probe userbpf_test:nosuch");
  EXPECT_EQ(missing.error().where.file, USERBPF_USDT_PROBES);

  auto no_file = read_usdt_notes("/nonexistent/usdt");
  ASSERT_FALSE(no_file);
  EXPECT_EQ(no_file.error().code, Errc::io);
  EXPECT_EQ(no_file.error().where.file, "/nonexistent/usdt");

  // An ELF file without notes: the test binary itself (built by CMake without <sys/sdt.h>).
  const fs::path self = fs::read_symlink("/proc/self/exe");
  auto no_notes = read_usdt_notes(self.string());
  ASSERT_FALSE(no_notes);
  EXPECT_EQ(no_notes.error().code, Errc::not_found);
  EXPECT_NE(no_notes.error().message.find(".note.stapsdt"), std::string::npos);

  // Not an ELF file at all.
  char tmpl[] = "/tmp/userbpf-usdt-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "#!/bin/sh\n", 10), 10);
  close(fd);
  auto script = read_usdt_notes(tmpl);
  fs::remove(tmpl);
  ASSERT_FALSE(script);
  EXPECT_EQ(script.error().message, "not an ELF file");
}

// A copy of the binary with one note's description cut short: the error names the note.
TEST(UsdtNotes, MalformedNoteIsNamed) {
  std::vector<uint8_t> image = read_file(USERBPF_USDT_PROBES);
  auto file = read_usdt_notes(USERBPF_USDT_PROBES);
  ASSERT_TRUE(file);
  // Find the second note header in .note.stapsdt by its owner string and shrink its descsz so the
  // strings are missing; the note stays in bounds.
  const std::string owner = "stapsdt";
  size_t found = 0, at = 0;
  for (size_t i = 12; i + owner.size() < image.size(); ++i) {
    if (std::memcmp(image.data() + i, owner.c_str(), owner.size() + 1) == 0) {
      uint32_t namesz, type;
      std::memcpy(&namesz, image.data() + i - 12, 4);
      std::memcpy(&type, image.data() + i - 4, 4);
      if (namesz == 8 && type == 3 && ++found == 2) {
        at = i - 12;
        break;
      }
    }
  }
  ASSERT_NE(at, 0u);
  const uint32_t short_desc = 24;  // the three addresses, no strings
  std::memcpy(image.data() + at + 4, &short_desc, 4);
  char tmpl[] = "/tmp/userbpf-usdt-XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
  close(fd);
  auto broken = read_usdt_notes(tmpl);
  fs::remove(tmpl);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message, "note 1: description of 24 bytes is too short");
  EXPECT_EQ(broken.error().where.section, ".note.stapsdt");
}

}  // namespace
}  // namespace userbpf::object

// Inputs the fuzzers found, rebuilt as targeted mutations of a real object so they stay readable.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "object/object.hpp"

namespace userbpf::object {
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The section header of the section called `name`, or nullptr.
Elf64_Shdr* section_header(std::vector<uint8_t>& elf, const char* name) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof eh);
  auto* sh = reinterpret_cast<Elf64_Shdr*>(elf.data() + eh.e_shoff);
  const char* names = reinterpret_cast<const char*>(elf.data() + sh[eh.e_shstrndx].sh_offset);
  for (int i = 0; i < eh.e_shnum; ++i)
    if (std::strcmp(names + sh[i].sh_name, name) == 0) return &sh[i];
  return nullptr;
}

// fuzz_object: a "license" section with no data made open() pass a null pointer to strnlen.
TEST(ObjectFuzzRegression, EmptyLicenseSectionIsAnEmptyLicense) {
  auto elf = read_bytes(std::string(USERBPF_BPF_OBJECT_DIR) + "/seed/hello_kern.o");
  ASSERT_GT(elf.size(), sizeof(Elf64_Ehdr));
  Elf64_Shdr* license = section_header(elf, "license");
  ASSERT_NE(license, nullptr);
  license->sh_type = SHT_NULL;
  license->sh_size = 0;
  license->sh_offset = 0;
  auto obj = open(elf, "empty-license.o");
  ASSERT_TRUE(obj.ok()) << obj.error().to_string();
  EXPECT_EQ(obj->license, "");
}

}  // namespace
}  // namespace userbpf::object

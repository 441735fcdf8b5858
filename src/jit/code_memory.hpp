// Executable memory for compiled programs: bytes are copied into a fresh anonymous mapping while it
// is read-write, which is then made read-execute. No page is ever writable and executable at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "userbpf/error.hpp"

namespace userbpf::jit {

struct CodeMemory {
  std::shared_ptr<const void> mapping;  // unmaps when the last user is gone
  const uint8_t* code = nullptr;
  size_t size = 0;
};

Result<CodeMemory> map_code(const uint8_t* bytes, size_t size);

}  // namespace userbpf::jit

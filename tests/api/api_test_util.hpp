// Shared by the embedding API tests: the test object's path and a scratch state directory.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace userbpf::api_test {

inline std::string test_object() {
  return std::string(USERBPF_API_PROG_DIR) + "/api_test.bpf.o";
}

// A fresh directory under /tmp, removed with the object.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = "/tmp/userbpf-api-test-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace userbpf::api_test

// Shared helpers of the map tests: spec builders, byte-vector keys/values, a map in a fresh
// temporary directory, and the host kernel's map of the same spec through libbpf.
#pragma once

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "userbpf/map.hpp"

namespace userbpf::maps::testing {

using Bytes = std::vector<uint8_t>;

inline MapSpec make_spec(uint32_t type, uint32_t key_size, uint32_t value_size,
                         uint32_t max_entries, uint32_t flags = 0, std::string name = "t") {
  MapSpec spec;
  spec.type = type;
  spec.key_size = key_size;
  spec.value_size = value_size;
  spec.max_entries = max_entries;
  spec.map_flags = flags;
  spec.name = std::move(name);
  return spec;
}

inline std::shared_ptr<Map> must_create(const MapSpec& spec, const Backing& backing = {}) {
  auto map = create_map(spec, backing);
  if (!map) {
    ADD_FAILURE() << map.error().to_string();
    return nullptr;
  }
  return map.value();
}

template <class T>
Bytes bytes_of(const T& v) {
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

template <class T>
T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// A temporary directory removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/userbpf-maps-test.XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The host kernel's map with the same spec, for side-by-side comparisons.
class KernelMap {
 public:
  explicit KernelMap(const MapSpec& spec) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = spec.map_flags);
    opts.map_extra = spec.map_extra;
    fd_ = bpf_map_create(static_cast<bpf_map_type>(spec.type), spec.name.c_str(), spec.key_size,
                         spec.value_size, spec.max_entries, &opts);
    if (fd_ < 0) error_ = -fd_;
  }
  ~KernelMap() {
    if (fd_ >= 0) close(fd_);
  }
  KernelMap(const KernelMap&) = delete;
  KernelMap& operator=(const KernelMap&) = delete;

  bool ok() const { return fd_ >= 0; }
  int error() const { return error_; }
  int fd() const { return fd_; }

  int lookup(const void* key, void* value) { return rc(bpf_map_lookup_elem(fd_, key, value)); }
  int update(const void* key, const void* value, uint64_t flags) {
    return rc(bpf_map_update_elem(fd_, key, value, flags));
  }
  int erase(const void* key) { return rc(bpf_map_delete_elem(fd_, key)); }
  int lookup_and_delete(const void* key, void* value) {
    return rc(bpf_map_lookup_and_delete_elem(fd_, key, value));
  }
  int next_key(const void* key, void* next) { return rc(bpf_map_get_next_key(fd_, key, next)); }
  int get_next_key(const void* key, void* next) { return next_key(key, next); }

 private:
  // libbpf returns -errno (and sets errno); normalise either convention.
  static int rc(int r) { return r < 0 ? (errno > 0 ? -errno : r) : r; }

  int fd_ = -1;
  int error_ = 0;
};

// Skips the calling test when this process cannot create kernel maps.
#define USERBPF_REQUIRE_KERNEL_MAPS()                                                            \
  do {                                                                                           \
    if (getenv("USERBPF_NO_KERNEL") != nullptr) GTEST_SKIP() << "USERBPF_NO_KERNEL is set";      \
    ::userbpf::maps::testing::KernelMap probe_(                                                  \
        ::userbpf::maps::testing::make_spec(BPF_MAP_TYPE_ARRAY, 4, 4, 1));                       \
    if (!probe_.ok())                                                                            \
      GTEST_SKIP() << "bpf(BPF_MAP_CREATE) unavailable here: " << std::strerror(probe_.error()); \
  } while (0)

}  // namespace userbpf::maps::testing

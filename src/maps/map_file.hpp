// The shared-memory file behind one map: a fixed header (magic, version, ready flag, spec,
// per-CPU count) followed by the map type's own area. Everything inside is addressed by offsets
// from the start of the mapping, never by pointers, so every process can map it anywhere.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "userbpf/error.hpp"
#include "userbpf/map.hpp"

namespace userbpf::maps {

inline constexpr uint64_t kMapFileMagic = 0x3150414d46504255ull;  // "UBPFMAP1" little-endian
inline constexpr uint32_t kMapFileVersion = 2;  // 2: hash maps with 64-byte tagged buckets
inline constexpr uint32_t kStateCreating = 0;
inline constexpr uint32_t kStateReady = 1;
// The type-specific area starts here; it is page aligned so array data can be mmap()ed.
inline constexpr size_t kHeaderSize = 4096;

struct FileHeader {
  uint64_t magic;
  uint32_t version;
  std::atomic<uint32_t> state;  // kStateCreating until the creator finished initialising
  uint64_t total_size;          // bytes of the file
  uint64_t generation;          // random identity of this map instance
  uint32_t type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
  uint32_t map_flags;
  int32_t spin_lock_off;
  uint64_t map_extra;
  uint32_t ncpus;
  uint32_t reserved;
  char name[16];
};
static_assert(sizeof(FileHeader) <= kHeaderSize);

class MapFile {
 public:
  // Creates and maps a zero-filled file of `size` bytes (size includes the header), under a
  // temporary name when file-backed. Call publish() once the content is initialised.
  static Result<std::shared_ptr<MapFile>> create(const Backing& backing, const std::string& name,
                                                 size_t size);
  // Maps an existing file read-write after checking its header; the caller checks the rest.
  static Result<std::shared_ptr<MapFile>> open(const std::string& path);

  ~MapFile();
  MapFile(const MapFile&) = delete;
  MapFile& operator=(const MapFile&) = delete;

  // Marks the header ready and renames the temporary file to its final name.
  Status publish();

  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  FileHeader& header() const { return *reinterpret_cast<FileHeader*>(base_); }
  template <class T>
  T* at(uint64_t offset) const {
    return reinterpret_cast<T*>(base_ + offset);
  }

 private:
  MapFile() = default;

  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  int fd_ = -1;
  std::string path_;       // final path ("" for a memfd)
  std::string temp_path_;  // while not yet published
};

}  // namespace userbpf::maps

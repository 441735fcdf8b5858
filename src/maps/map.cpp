// The Map base: syscall-level checks shared by every type, and the answers Linux gives for
// operations a map type does not have.
#include "userbpf/map.hpp"

#include <linux/bpf.h>

#include <cerrno>
#include <vector>

#include "maps/map_file.hpp"
#include "maps/map_types.hpp"
#include "maps/value_ops.hpp"

namespace userbpf::maps {

const char* map_type_name(uint32_t type) {
  // bpftool's names, indexed by enum bpf_map_type.
  static const char* const names[] = {"unspec",
                                      "hash",
                                      "array",
                                      "prog_array",
                                      "perf_event_array",
                                      "percpu_hash",
                                      "percpu_array",
                                      "stack_trace",
                                      "cgroup_array",
                                      "lru_hash",
                                      "lru_percpu_hash",
                                      "lpm_trie",
                                      "array_of_maps",
                                      "hash_of_maps",
                                      "devmap",
                                      "sockmap",
                                      "cpumap",
                                      "xskmap",
                                      "sockhash",
                                      "cgroup_storage",
                                      "reuseport_sockarray",
                                      "percpu_cgroup_storage",
                                      "queue",
                                      "stack",
                                      "sk_storage",
                                      "devmap_hash",
                                      "struct_ops",
                                      "ringbuf",
                                      "inode_storage",
                                      "task_storage",
                                      "bloom_filter",
                                      "user_ringbuf",
                                      "cgrp_storage",
                                      "arena"};
  if (type < sizeof(names) / sizeof(names[0])) return names[type];
  return "unknown";
}

Map::Map(std::shared_ptr<MapFile> file, MapSpec spec, uint32_t ncpus)
    : file_(std::move(file)), spec_(std::move(spec)), ncpus_(ncpus) {}

Map::~Map() = default;

bool Map::is_percpu() const {
  return is_percpu_type(spec_.type);
}

uint32_t Map::user_value_size() const {
  return is_percpu() ? round_up8(spec_.value_size) * ncpus_ : spec_.value_size;
}

const std::string& Map::path() const {
  return file_->path();
}
int Map::fd() const {
  return file_->fd();
}
const void* Map::mapping() const {
  return file_->base();
}
size_t Map::mapping_size() const {
  return file_->size();
}
uint64_t Map::generation() const {
  return file_->header().generation;
}

// Defaults: what Linux answers for an operation the map type lacks.
void* Map::lookup(const void*) {
  return nullptr;
}
void* Map::lookup_percpu(const void*, uint32_t) {
  return nullptr;
}
int Map::update(const void*, const void*, uint64_t) {
  return -EINVAL;
}
int Map::erase(const void*) {
  return -EINVAL;
}
int Map::get_next_key(const void*, void*) {
  return -EINVAL;
}
int Map::push(const void*, uint64_t) {
  return -EOPNOTSUPP;
}
int Map::pop(void*) {
  return -EOPNOTSUPP;
}
int Map::peek(void*) {
  return -EOPNOTSUPP;
}
void* Map::data() {
  return nullptr;
}
uint32_t Map::size() const {
  return 0;
}

int Map::sys_lookup(const void* key, void* value, uint64_t flags) {
  void* found = lookup(key);
  if (found == nullptr) return -ENOENT;
  if (flags & BPF_F_LOCK) {
    copy_value_locked(value, found, spec_.value_size, spec_.spin_lock_off, found);
  } else {
    copy_value(value, found, spec_.value_size, spec_.spin_lock_off);
  }
  zero_lock_word(value, spec_.spin_lock_off);
  return 0;
}

int Map::sys_update(const void* key, const void* value, uint64_t flags) {
  return update(key, value, flags);
}

int Map::sys_lookup_and_delete(const void*, void*, uint64_t) {
  return -kENOTSUPP;
}

int Map::lookup_copy(const void* key, void* value, uint64_t flags) {
  if (spec_.map_flags & BPF_F_WRONLY) return -EPERM;
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  if ((flags & BPF_F_LOCK) && spec_.spin_lock_off < 0) return -EINVAL;
  return sys_lookup(key, value, flags);
}

int Map::update_copy(const void* key, const void* value, uint64_t flags) {
  if (spec_.map_flags & BPF_F_RDONLY) return -EPERM;
  if ((flags & BPF_F_LOCK) && spec_.spin_lock_off < 0) return -EINVAL;
  return sys_update(key, value, flags);
}

int Map::delete_copy(const void* key) {
  if (spec_.map_flags & BPF_F_RDONLY) return -EPERM;
  return erase(key);
}

int Map::lookup_and_delete_copy(const void* key, void* value, uint64_t flags) {
  if (spec_.map_flags & (BPF_F_RDONLY | BPF_F_WRONLY)) return -EPERM;
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  if ((flags & BPF_F_LOCK) && spec_.spin_lock_off < 0) return -EINVAL;
  if (flags != 0 && (spec_.type == BPF_MAP_TYPE_QUEUE || spec_.type == BPF_MAP_TYPE_STACK)) {
    return -EINVAL;
  }
  return sys_lookup_and_delete(key, value, flags);
}

void spin_lock(void* lock) {
  lock_word(word_at(lock));
}
void spin_unlock(void* lock) {
  unlock_word(word_at(lock));
}

}  // namespace userbpf::maps

// eBPF maps in shared memory: the data-structure maps of Linux (array, per-CPU array, hash,
// per-CPU hash, LRU hash, LRU per-CPU hash, LPM trie, queue, stack, bloom filter) with Linux's
// numbering (<linux/bpf.h>), flags and negative errno results. One Map object serves both the
// programs (helpers: pointers into the map's memory) and user space (syscall-style copies).
//
// Every map lives in one memory-mapped file laid out with offsets only, so another process can
// open_map() it and read or update it live; a file in a directory outlives its creator (that is
// how pinning works), an anonymous memfd lives as long as a mapping or descriptor of it.
//
// Concurrency: every operation is safe from several threads and processes at once. Structures
// are guarded by process-shared spinlocks in the shared memory (per hash bucket, per trie, per
// queue) and hash lookups are lock-free. Values are read and written in place, as in Linux: a
// value read while another thread writes it may be torn (Linux gives no guarantee either) unless
// both sides use BPF_F_LOCK; whole elements are never lost, keys are never torn and the
// structure is never corrupted. A process that dies while holding a map spinlock leaves that
// bucket locked (as a crashed kernel would); userbpf does not try to recover such a lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "userbpf/error.hpp"

namespace userbpf::maps {

// What Linux's BPF_MAP_CREATE receives, plus the layout facts that come from BTF.
struct MapSpec {
  uint32_t type = 0;  // enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;  // BPF_F_NO_PREALLOC, BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, ...
  uint64_t map_extra = 0;  // bloom filter: number of hash functions in the low 4 bits
  // Offset of the `struct bpf_spin_lock` inside the value (from BTF), -1 when there is none.
  // Only hash and array maps may have one, as in Linux; BPF_F_LOCK needs it.
  int32_t spin_lock_off = -1;
  std::string name;  // at most 15 characters of [A-Za-z0-9_.], as Linux's BPF_OBJ_NAME_LEN
};

// Where a map's memory lives. An empty directory means an anonymous memfd.
struct Backing {
  std::string directory;
  // File name inside `directory`; empty: "map.<pid>.<n>.<name>". Creation fails with EEXIST
  // when the file exists. The file is never removed by userbpf: unlink it to destroy the map.
  std::string file_name;
};

// Checks a spec the way Linux's map_create and the map type's alloc_check do. Returns 0 or the
// negative errno Linux returns for it (-EINVAL, -E2BIG, -EOPNOTSUPP, -EACCES, -ENOMEM); `why`
// receives a precise explanation when not null.
int check_spec(const MapSpec& spec, std::string* why = nullptr);

// Flags Linux sets on a map of `type` whatever the creator asked (BPF_F_RDONLY_PROG for both
// devmap types: a program's lookup returns a pointer into the device entry). A created map's
// spec() has them; a creator may not ask for them (EINVAL).
uint32_t forced_map_flags(uint32_t type);

// bpftool's name of a map type ("hash", "array", ...), "unknown" past the known ones.
const char* map_type_name(uint32_t type);

// Number of possible CPUs (/sys/devices/system/cpu/possible): the per-CPU slot count.
uint32_t possible_cpus();

// The CPU the calling thread runs on (sched_getcpu()), clamped to the possible range.
uint32_t current_cpu();

class MapFile;

class Map {
 public:
  virtual ~Map();
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  const MapSpec& spec() const { return spec_; }
  uint32_t ncpus() const { return ncpus_; }
  bool is_percpu() const;
  // Bytes of a user-space value buffer: value_size, or for per-CPU maps value_size rounded up
  // to 8 times ncpus() (what Linux's BPF_MAP_LOOKUP_ELEM copies).
  uint32_t user_value_size() const;
  // The backing file ("" for a memfd), its descriptor, the whole mapping.
  const std::string& path() const;
  int fd() const;
  const void* mapping() const;
  size_t mapping_size() const;
  // Random 64-bit identity chosen at creation; equal for every process that opened the map.
  uint64_t generation() const;

  // ---- Program side (what helpers call). Values are value_size bytes. ----
  // bpf_map_lookup_elem: a pointer to the value inside the map (per-CPU maps: the slot of the
  // calling thread's CPU, current_cpu()), or nullptr.
  virtual void* lookup(const void* key);
  // bpf_map_lookup_percpu_elem: the slot of `cpu`; nullptr for other map types or cpu >= ncpus.
  virtual void* lookup_percpu(const void* key, uint32_t cpu);
  // bpf_map_update_elem (per-CPU maps: the current CPU's slot; other slots of a new element are
  // zeroed, as Linux does).
  virtual int update(const void* key, const void* value, uint64_t flags);
  virtual int erase(const void* key);  // bpf_map_delete_elem
  // BPF_MAP_GET_NEXT_KEY: `key` may be null (first key).
  virtual int get_next_key(const void* key, void* next_key);
  virtual int push(const void* value, uint64_t flags);  // queue, stack, bloom filter
  virtual int pop(void* value);                         // queue, stack
  virtual int peek(void* value);                        // queue, stack, bloom filter

  // ---- User-space side (what the bpf() syscall commands do). ----
  // BPF_MAP_LOOKUP_ELEM (flags: BPF_F_LOCK); queue, stack and bloom filter peek instead.
  // `value` has user_value_size() bytes.
  int lookup_copy(const void* key, void* value, uint64_t flags = 0);
  // BPF_MAP_UPDATE_ELEM; queue, stack and bloom filter push instead.
  int update_copy(const void* key, const void* value, uint64_t flags = 0);
  // BPF_MAP_DELETE_ELEM.
  int delete_copy(const void* key);
  // BPF_MAP_LOOKUP_AND_DELETE_ELEM: queue/stack pop, hash types lookup then delete.
  int lookup_and_delete_copy(const void* key, void* value, uint64_t flags = 0);

  // For BPF_F_MMAPABLE arrays: the value area (page aligned), as mmap() of the map fd gives it.
  // Non-mmapable arrays also answer (the loader uses it for global data); others: nullptr.
  virtual void* data();
  // Elements currently stored (hash and trie types), max_entries for arrays.
  virtual uint32_t size() const;

 protected:
  Map(std::shared_ptr<MapFile> file, MapSpec spec, uint32_t ncpus);

  // Type-specific syscall semantics behind the *_copy wrappers, which already checked access
  // mode and the BPF_F_LOCK rules common to every type.
  virtual int sys_lookup(const void* key, void* value, uint64_t flags);
  virtual int sys_update(const void* key, const void* value, uint64_t flags);
  virtual int sys_lookup_and_delete(const void* key, void* value, uint64_t flags);

  std::shared_ptr<MapFile> file_;
  MapSpec spec_;
  uint32_t ncpus_;
};

// Creates a map: checks the spec (errors carry Linux's errno name and the reason), creates the
// backing file under a temporary name, initialises it and renames it into place.
Result<std::shared_ptr<Map>> create_map(const MapSpec& spec, const Backing& backing = {});

// Opens a map another process (or this one) created in a file: checks magic, version, the
// ready flag, the spec and the size before trusting any offset in it.
Result<std::shared_ptr<Map>> open_map(const std::string& path);

// bpf_spin_lock / bpf_spin_unlock on a `struct bpf_spin_lock` inside a map value: a
// process-shared spinlock on the 4-byte word, the same one BPF_F_LOCK uses.
void spin_lock(void* lock);
void spin_unlock(void* lock);

}  // namespace userbpf::maps

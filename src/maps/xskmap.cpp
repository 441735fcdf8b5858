// BPF_MAP_TYPE_XSKMAP (net/xdp/xskmap.c): AF_XDP sockets by index, targets of bpf_redirect_map.
// An update names a socket by its fd in the calling process and is checked exactly as Linux
// checks it (EBADF: not open, ENOTSOCK: not a socket, EOPNOTSUPP: not AF_XDP); the slot then
// remembers the socket by its inode, so updating a slot with the socket it holds succeeds
// whatever the flags, as in Linux. User-space lookups answer EOPNOTSUPP, as in Linux.
//
// What userbpf cannot do: deliver frames into the socket's rings (a redirect into the map is
// recorded, nothing is received), and notice that the socket was closed (Linux then removes it
// from every map; here the slot keeps it until deleted).
//
// Layout after the header: max_entries 16-byte slots {queue_id, pad, socket inode}, inode 0
// meaning empty. A program's lookup gets the slot, whose first word plays struct bpf_xdp_sock's
// queue_id (always 0: userbpf sockets have no queue).
#include <linux/bpf.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "maps/map_impls.hpp"
#include "maps/redirect_maps_internal.hpp"
#include "maps/spinlock.hpp"

namespace userbpf::maps {
namespace {

struct XskSlot {
  uint32_t queue_id;
  uint32_t pad;
  std::atomic<uint64_t> inode;
};
static_assert(sizeof(XskSlot) == 16);

// sockfd_lookup() and the family check of xsk_map_update_elem: the socket's inode, or the
// negative errno.
int64_t xdp_socket_inode(int fd) {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return -EBADF;
  if (!S_ISSOCK(st.st_mode)) return -ENOTSOCK;
  int domain = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_XDP) {
    return -EOPNOTSUPP;
  }
  return static_cast<int64_t>(st.st_ino);
}

class XskMap final : public Map {
 public:
  XskMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        lock_(file_->at<std::atomic<uint32_t>>(kHeaderSize)),
        slots_(file_->at<XskSlot>(kHeaderSize + sizeof(XskSlot))) {}

  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    return round_up_page(kHeaderSize + (uint64_t{spec.max_entries} + 1) * sizeof(XskSlot));
  }

  void* lookup(const void* key) override {
    const uint32_t index = load_u32(key);
    if (index >= spec_.max_entries) return nullptr;
    return slots_[index].inode.load(std::memory_order_acquire) != 0 ? &slots_[index] : nullptr;
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    const uint32_t index = load_u32(key);
    if (flags > BPF_EXIST) return -EINVAL;
    if (index >= spec_.max_entries) return -E2BIG;
    const int64_t inode = xdp_socket_inode(static_cast<int>(load_u32(value)));
    if (inode < 0) return static_cast<int>(inode);
    SpinGuard guard(*lock_);
    const uint64_t old = slots_[index].inode.load(std::memory_order_relaxed);
    if (old == static_cast<uint64_t>(inode)) return 0;
    if (old != 0 && flags == BPF_NOEXIST) return -EEXIST;
    if (old == 0 && flags == BPF_EXIST) return -ENOENT;
    slots_[index].inode.store(static_cast<uint64_t>(inode), std::memory_order_release);
    return 0;
  }

  // Linux clears the slot and answers 0 whether or not it held a socket.
  int erase(const void* key) override {
    const uint32_t index = load_u32(key);
    if (index >= spec_.max_entries) return -EINVAL;
    SpinGuard guard(*lock_);
    slots_[index].inode.store(0, std::memory_order_release);
    return 0;
  }

  int get_next_key(const void* key, void* next_key) override {
    return index_get_next_key(key, next_key, spec_.max_entries);
  }

  uint32_t size() const override { return spec_.max_entries; }

 protected:
  int sys_lookup(const void*, void*, uint64_t) override { return -EOPNOTSUPP; }

 private:
  std::atomic<uint32_t>* lock_;  // the slot before the first holds it, as m->lock
  XskSlot* slots_;
};

const MapKind kXskMapKind = {
    &XskMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<XskMap>(std::move(file), spec, ncpus);
    },
    [](Map&) {},
};

}  // namespace

const MapKind* xskmap_kind() {
  return &kXskMapKind;
}

}  // namespace userbpf::maps

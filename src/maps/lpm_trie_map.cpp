// BPF_MAP_TYPE_LPM_TRIE (kernel/bpf/lpm_trie.c): longest-prefix match on keys laid out as
// struct bpf_lpm_trie_key_u8 { __u32 prefixlen; __u8 data[]; } (data in network order, most
// significant bit first). The tree has the same shape as Linux's (a path-compressed binary trie
// whose intermediate nodes have exactly two children), so get_next_key walks the entries in the
// same post-order as the kernel: more specific prefixes before less specific ones.
//
// Nodes live in a pool of 2 * max_entries + 1 fixed-size slots linked by index:
//   [child0 u32][child1 u32][prefixlen u32][flags u32][data, rounded to 8][value, rounded to 8]
// One process-shared spinlock guards the trie for every operation, lookups included. Values are
// updated in place; a deleted entry's node is reused at once (Linux frees it after an RCU grace
// period), so a program must not keep a value pointer across a delete of that entry.
#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "maps/map_impls.hpp"
#include "maps/spinlock.hpp"
#include "maps/value_ops.hpp"

namespace userbpf::maps {
namespace {

constexpr uint32_t kNone = 0xffffffffu;
constexpr uint32_t kIntermediate = 1;  // LPM_TREE_NODE_FLAG_IM: structure only, no entry

struct TrieControl {
  std::atomic<uint32_t> lock;
  uint32_t root;
  uint32_t n_entries;
  uint32_t free_head;  // free nodes linked through child[0]
  uint32_t bump;       // nodes [bump, capacity) never used
};

struct Node {
  uint32_t child[2];
  uint32_t prefixlen;
  uint32_t flags;
};

constexpr uint64_t kControlOffset = kHeaderSize;
constexpr uint64_t kNodesOffset = kHeaderSize + 64;

class LpmTrieMap final : public Map {
 public:
  LpmTrieMap(std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus)
      : Map(std::move(file), spec, ncpus),
        data_size_(spec.key_size - 4),
        max_prefixlen_(data_size_ * 8),
        node_size_(node_size(spec)),
        capacity_(capacity(spec)),
        ctl_(file_->at<TrieControl>(kControlOffset)),
        nodes_(file_->base() + kNodesOffset) {}

  static uint32_t node_size(const MapSpec& spec) {
    return sizeof(Node) + round_up8(spec.key_size - 4) + round_up8(spec.value_size);
  }
  static uint64_t capacity(const MapSpec& spec) { return 2ull * spec.max_entries + 1; }
  static uint64_t file_size(const MapSpec& spec, uint32_t) {
    return round_up_page(kNodesOffset + capacity(spec) * node_size(spec));
  }

  void initialize() {
    ctl_->root = kNone;
    ctl_->free_head = kNone;
  }

  void* lookup(const void* key) override {
    SpinGuard guard(ctl_->lock);
    uint32_t found = kNone;
    uint32_t prefixlen = key_prefixlen(key);
    const uint8_t* data = key_data(key);
    for (uint32_t n = ctl_->root; n != kNone;) {
      Node* node = at(n);
      uint32_t matchlen = match(node, data, prefixlen);
      if (matchlen == max_prefixlen_) {
        found = n;
        break;
      }
      if (matchlen < node->prefixlen) break;
      if (!(node->flags & kIntermediate)) found = n;
      n = node->child[bit(data, node->prefixlen)];
    }
    return found == kNone ? nullptr : value_of(at(found));
  }

  int update(const void* key, const void* value, uint64_t flags) override {
    if (flags > BPF_EXIST) return -EINVAL;
    uint32_t prefixlen = key_prefixlen(key);
    if (prefixlen > max_prefixlen_) return -EINVAL;
    const uint8_t* data = key_data(key);
    SpinGuard guard(ctl_->lock);

    uint32_t* slot = &ctl_->root;
    uint32_t n = kNone;
    uint32_t matchlen = 0;
    while ((n = *slot) != kNone) {
      Node* node = at(n);
      matchlen = match(node, data, prefixlen);
      if (node->prefixlen != matchlen || node->prefixlen == prefixlen ||
          node->prefixlen == max_prefixlen_) {
        break;
      }
      slot = &node->child[bit(data, node->prefixlen)];
    }

    if (n != kNone && at(n)->prefixlen == matchlen) {  // the same prefix is in the tree
      Node* node = at(n);
      if (!(node->flags & kIntermediate)) {
        if (flags == BPF_NOEXIST) return -EEXIST;
        // Linux swaps in a node built from the new key, so its data bits past the prefix win.
        std::memcpy(node_data(node), data, data_size_);
        std::memcpy(value_of(node), value, spec_.value_size);
        return 0;
      }
      if (int err = check_add(flags)) return err;
      std::memcpy(node_data(node), data, data_size_);
      std::memcpy(value_of(node), value, spec_.value_size);
      node->flags = 0;
      ++ctl_->n_entries;
      return 0;
    }
    if (int err = check_add(flags)) return err;
    uint32_t fresh = allocate(prefixlen, data, value);
    if (n == kNone) {  // an empty slot
      *slot = fresh;
    } else if (matchlen == prefixlen) {  // the new prefix covers the node: insert above it
      at(fresh)->child[bit(node_data(at(n)), matchlen)] = n;
      *slot = fresh;
    } else {  // they diverge after matchlen bits: join both under an intermediate node
      uint32_t im = allocate(matchlen, node_data(at(n)), nullptr);
      at(im)->flags = kIntermediate;
      bool new_goes_right = bit(data, matchlen) != 0;
      at(im)->child[new_goes_right ? 0 : 1] = n;
      at(im)->child[new_goes_right ? 1 : 0] = fresh;
      *slot = im;
    }
    ++ctl_->n_entries;
    return 0;
  }

  int erase(const void* key) override {
    uint32_t prefixlen = key_prefixlen(key);
    if (prefixlen > max_prefixlen_) return -EINVAL;
    const uint8_t* data = key_data(key);
    SpinGuard guard(ctl_->lock);

    uint32_t* trim = &ctl_->root;
    uint32_t* trim2 = trim;
    uint32_t parent = kNone;
    uint32_t n = kNone;
    uint32_t matchlen = 0;
    while ((n = *trim) != kNone) {
      Node* node = at(n);
      matchlen = match(node, data, prefixlen);
      if (node->prefixlen != matchlen || node->prefixlen == prefixlen) break;
      parent = n;
      trim2 = trim;
      trim = &node->child[bit(data, node->prefixlen)];
    }
    if (n == kNone || at(n)->prefixlen != prefixlen || at(n)->prefixlen != matchlen ||
        (at(n)->flags & kIntermediate)) {
      return -ENOENT;
    }
    --ctl_->n_entries;
    Node* node = at(n);
    if (node->child[0] != kNone && node->child[1] != kNone) {
      node->flags |= kIntermediate;  // still needed as a branch point
      return 0;
    }
    if (parent != kNone && (at(parent)->flags & kIntermediate) && node->child[0] == kNone &&
        node->child[1] == kNone) {
      // A leaf under an intermediate node: the intermediate node goes too, its other child
      // takes its place.
      Node* p = at(parent);
      *trim2 = p->child[0] == n ? p->child[1] : p->child[0];
      release(parent);
      release(n);
      return 0;
    }
    *trim = node->child[0] != kNone ? node->child[0] : node->child[1];
    release(n);
    return 0;
  }

  int get_next_key(const void* key, void* next_key) override {
    SpinGuard guard(ctl_->lock);
    uint32_t search_root = ctl_->root;
    if (search_root == kNone) return -ENOENT;
    uint32_t next = kNone;
    if (key != nullptr && key_prefixlen(key) <= max_prefixlen_) {
      uint32_t prefixlen = key_prefixlen(key);
      const uint8_t* data = key_data(key);
      std::vector<uint32_t> path;  // root .. the node found
      uint32_t n = search_root;
      uint32_t matchlen = 0;
      while (n != kNone) {
        path.push_back(n);
        Node* node = at(n);
        matchlen = match(node, data, prefixlen);
        if (node->prefixlen != matchlen || node->prefixlen == prefixlen) break;
        n = node->child[bit(data, node->prefixlen)];
      }
      // Only an exact entry continues the walk; any other key restarts it (the host kernel,
      // 6.18, also requires the bits to match, not just the prefix length).
      if (n != kNone && at(n)->prefixlen == prefixlen && matchlen == prefixlen &&
          !(at(n)->flags & kIntermediate)) {
        // The entry exists: the next one in post-order is the leftmost entry of the right
        // sibling's subtree, or else the first real ancestor.
        size_t depth = path.size() - 1;
        uint32_t current = path[depth];
        for (;;) {
          if (depth == 0) return -ENOENT;
          uint32_t parent = path[depth - 1];
          Node* p = at(parent);
          if (p->child[0] == current && p->child[1] != kNone) {
            search_root = p->child[1];
            break;
          }
          if (!(p->flags & kIntermediate)) {
            copy_key(at(parent), next_key);
            return 0;
          }
          current = parent;
          --depth;
        }
      }
    }
    // The leftmost entry under search_root in post-order: descend left first, and right when
    // there is no left; intermediate nodes always have two children so this ends at an entry.
    for (uint32_t n = search_root; n != kNone;) {
      Node* node = at(n);
      if (node->flags & kIntermediate) {
        n = node->child[0];
      } else {
        next = n;
        n = node->child[0] != kNone ? node->child[0] : node->child[1];
      }
    }
    copy_key(at(next), next_key);
    return 0;
  }

  uint32_t size() const override { return ctl_->n_entries; }

 private:
  static uint32_t key_prefixlen(const void* key) {
    uint32_t prefixlen;
    std::memcpy(&prefixlen, key, 4);
    return prefixlen;
  }
  static const uint8_t* key_data(const void* key) { return static_cast<const uint8_t*>(key) + 4; }
  static uint32_t bit(const uint8_t* data, uint32_t index) {
    return (data[index / 8] >> (7 - index % 8)) & 1;
  }

  Node* at(uint32_t n) const { return reinterpret_cast<Node*>(nodes_ + uint64_t{n} * node_size_); }
  uint8_t* node_data(Node* node) const { return reinterpret_cast<uint8_t*>(node) + sizeof(Node); }
  uint8_t* value_of(Node* node) const { return node_data(node) + round_up8(data_size_); }

  // Number of leading bits `node` and the key share, at most both prefix lengths.
  uint32_t match(Node* node, const uint8_t* data, uint32_t prefixlen) const {
    uint32_t limit = std::min(node->prefixlen, prefixlen);
    const uint8_t* mine = node_data(node);
    uint32_t bits = 0;
    for (uint32_t i = 0; i < data_size_ && bits < limit; ++i) {
      uint8_t diff = mine[i] ^ data[i];
      if (diff != 0) {
        bits += static_cast<uint32_t>(__builtin_clz(uint32_t{diff}) - 24);
        break;
      }
      bits += 8;
    }
    return std::min(bits, limit);
  }

  // Linux's trie_check_add_elem: flags and capacity for a new entry.
  int check_add(uint64_t flags) const {
    if (flags == BPF_EXIST) return -ENOENT;
    if (ctl_->n_entries >= spec_.max_entries) return -ENOSPC;
    // Entries <= max_entries needs at most 2 * max_entries - 1 nodes; a pool that ran dry means
    // the shared file was damaged.
    if (ctl_->free_head == kNone && ctl_->bump + 2 > capacity_) return -ENOMEM;
    return 0;
  }

  uint32_t allocate(uint32_t prefixlen, const uint8_t* data, const void* value) {
    uint32_t n = ctl_->free_head;
    if (n != kNone) {
      ctl_->free_head = at(n)->child[0];
    } else {
      n = ctl_->bump++;  // the pool holds the worst case, 2 * max_entries + 1 nodes
    }
    Node* node = at(n);
    node->child[0] = node->child[1] = kNone;
    node->prefixlen = prefixlen;
    node->flags = 0;
    std::memcpy(node_data(node), data, data_size_);
    if (value != nullptr) std::memcpy(value_of(node), value, spec_.value_size);
    return n;
  }

  void release(uint32_t n) {
    at(n)->child[0] = ctl_->free_head;
    ctl_->free_head = n;
  }

  void copy_key(Node* node, void* out) const {
    std::memcpy(out, &node->prefixlen, 4);
    std::memcpy(static_cast<uint8_t*>(out) + 4, node_data(node), data_size_);
  }

  const uint32_t data_size_;
  const uint32_t max_prefixlen_;
  const uint32_t node_size_;
  const uint64_t capacity_;
  TrieControl* ctl_;
  uint8_t* nodes_;
};

const MapKind kLpmTrieKind = {
    &LpmTrieMap::file_size,
    [](std::shared_ptr<MapFile> file, const MapSpec& spec, uint32_t ncpus) -> std::shared_ptr<Map> {
      return std::make_shared<LpmTrieMap>(std::move(file), spec, ncpus);
    },
    [](Map& map) { static_cast<LpmTrieMap&>(map).initialize(); },
};

}  // namespace

const MapKind* lpm_trie_kind() {
  return &kLpmTrieKind;
}

}  // namespace userbpf::maps

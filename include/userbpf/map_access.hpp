// Typed user-space access to a map (what bpf_map_lookup_elem & co. do from user space), over
// userbpf::maps::Map. Key and value types must be trivially copyable and exactly the map's key
// and value sizes; a mismatch is an invalid_argument error naming the map and both sizes.
// Errors carry the errno name Linux's bpf() would give: a missing key is Errc::not_found
// ("... ENOENT"), an unsupported operation Errc::unsupported.
//
//   auto counters = obj->map("counters");
//   auto hits = userbpf::lookup<uint64_t>(**counters, uint32_t{0});   // Result<uint64_t>
//   userbpf::update(**counters, uint32_t{0}, uint64_t{0});
//   for (auto& [key, value] : *userbpf::entries<uint32_t, uint64_t>(**counters)) ...
#pragma once

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "userbpf/error.hpp"
#include "userbpf/map.hpp"

namespace userbpf {

namespace api {
// The error of a map operation that returned the negative errno `rc`.
Error map_errno(const maps::Map& map, const char* operation, int rc);
// invalid_argument when `what` ("key", "value") of `got` bytes does not match `want`.
Status check_size(const maps::Map& map, const char* what, size_t got, size_t want);
}  // namespace api

// BPF_MAP_LOOKUP_ELEM (flags: BPF_F_LOCK). Per-CPU maps: use lookup_percpu.
template <class V, class K>
Result<V> lookup(maps::Map& map, const K& key, uint64_t flags = 0) {
  static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);
  if (Status s = api::check_size(map, "key", sizeof(K), map.spec().key_size); !s)
    return s.take_error();
  if (Status s = api::check_size(map, "value", sizeof(V), map.user_value_size()); !s)
    return s.take_error();
  V value{};
  if (int rc = map.lookup_copy(&key, &value, flags); rc < 0)
    return api::map_errno(map, "lookup", rc);
  return value;
}

// BPF_MAP_LOOKUP_ELEM of a per-CPU map: one value per possible CPU.
template <class V, class K>
Result<std::vector<V>> lookup_percpu(maps::Map& map, const K& key) {
  static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);
  if (!map.is_percpu())
    return make_error(Errc::invalid_argument, "map '" + map.spec().name + "' is not per-CPU");
  if (Status s = api::check_size(map, "key", sizeof(K), map.spec().key_size); !s)
    return s.take_error();
  if (Status s = api::check_size(map, "value", sizeof(V), map.spec().value_size); !s)
    return s.take_error();
  std::vector<uint8_t> raw(map.user_value_size());
  if (int rc = map.lookup_copy(&key, raw.data()); rc < 0) return api::map_errno(map, "lookup", rc);
  // Linux lays the CPUs' values out 8-byte aligned.
  const size_t stride = (map.spec().value_size + 7) & ~size_t{7};
  std::vector<V> values(map.ncpus());
  for (size_t cpu = 0; cpu < values.size(); ++cpu)
    std::memcpy(&values[cpu], raw.data() + cpu * stride, sizeof(V));
  return values;
}

// BPF_MAP_UPDATE_ELEM (flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).
template <class K, class V>
Status update(maps::Map& map, const K& key, const V& value, uint64_t flags = BPF_ANY) {
  static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);
  if (Status s = api::check_size(map, "key", sizeof(K), map.spec().key_size); !s) return s;
  if (Status s = api::check_size(map, "value", sizeof(V), map.user_value_size()); !s) return s;
  if (int rc = map.update_copy(&key, &value, flags); rc < 0)
    return api::map_errno(map, "update", rc);
  return ok_status();
}

// BPF_MAP_DELETE_ELEM.
template <class K>
Status erase(maps::Map& map, const K& key) {
  static_assert(std::is_trivially_copyable_v<K>);
  if (Status s = api::check_size(map, "key", sizeof(K), map.spec().key_size); !s) return s;
  if (int rc = map.delete_copy(&key); rc < 0) return api::map_errno(map, "delete", rc);
  return ok_status();
}

// Every key, in BPF_MAP_GET_NEXT_KEY order (a snapshot: keys added meanwhile may be missed).
template <class K>
Result<std::vector<K>> keys(maps::Map& map) {
  static_assert(std::is_trivially_copyable_v<K>);
  if (Status s = api::check_size(map, "key", sizeof(K), map.spec().key_size); !s)
    return s.take_error();
  std::vector<K> out;
  K key{};
  int rc = map.get_next_key(nullptr, &key);
  while (rc == 0) {
    out.push_back(key);
    // A hash map grows no larger than max_entries: more keys mean get_next_key is cycling
    // through a map changing under us; stop instead of looping.
    if (out.size() > map.spec().max_entries) break;
    rc = map.get_next_key(&out.back(), &key);
  }
  if (rc != -ENOENT) return api::map_errno(map, "get_next_key", rc);
  return out;
}

// Every (key, value) pair; elements deleted between the key walk and their lookup are skipped.
template <class K, class V>
Result<std::vector<std::pair<K, V>>> entries(maps::Map& map) {
  auto all = keys<K>(map);
  if (!all) return all.take_error();
  std::vector<std::pair<K, V>> out;
  out.reserve(all->size());
  for (const K& key : *all) {
    auto value = lookup<V>(map, key);
    if (value) {
      out.emplace_back(key, *value);
    } else if (value.error().code != Errc::not_found) {
      return value.take_error();
    }
  }
  return out;
}

}  // namespace userbpf

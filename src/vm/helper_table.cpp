#include "vm/interpreter.hpp"

namespace userbpf::vm {

void HelperTable::set(uint32_t id, Helper helper) {
  if (id >= by_id_.size()) by_id_.resize(static_cast<size_t>(id) + 1);
  by_id_[id] = helper;
}

const Helper* HelperTable::find(uint32_t id) const {
  if (id >= by_id_.size() || by_id_[id].fn == nullptr) return nullptr;
  return &by_id_[id];
}

}  // namespace userbpf::vm

// The runtime's links: which program is attached to which hook point, as records every userbpf
// process sees (the hook sources of `userbpf exec` read them when they start).
#include <unistd.h>

#include <ctime>

#include "runtime/record_files.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::runtime {

Result<LinkRecord> Runtime::create_link(uint32_t prog_id, const std::string& target,
                                        const LinkOptions& options) {
  auto prog = program(prog_id);
  if (!prog) return prog.take_error();
  if (target.empty()) return make_error(Errc::invalid_argument, "empty attach target");
  auto id = dir_.allocate_id();
  if (!id) return id.take_error();
  LinkRecord link;
  link.id = *id;
  link.prog_id = prog_id;
  link.target = target;
  link.cookie = options.cookie;
  link.created_at = static_cast<uint64_t>(std::time(nullptr));
  if (!options.persistent) {
    link.owner_pid = getpid();
    link.owner_start = process_start_time(link.owner_pid);
  }
  StateLock lock(dir_);
  // The program may have died between the check above and the lock: a link must never name a
  // program that is gone.
  if (!std::filesystem::exists(record_path(dir_.progs(), prog_id))) {
    return make_error(Errc::not_found, "can't get prog by id (" + std::to_string(prog_id) +
                                           "): No such file or directory");
  }
  if (Status s = write_file_atomic(record_path(dir_.links(), link.id), to_json(link)); !s) {
    return s.take_error();
  }
  return link;
}

std::vector<LinkRecord> Runtime::links() {
  collect_garbage();
  return read_records<LinkRecord>(dir_.links(), link_from_json);
}

Result<LinkRecord> Runtime::link(uint32_t id) {
  const auto path = record_path(dir_.links(), id);
  auto text = read_file(path);
  if (!text) {
    return make_error(Errc::not_found, "can't get link by id (" + std::to_string(id) +
                                           "): No such file or directory");
  }
  return link_from_json(*text, path.string());
}

Status Runtime::detach_link(uint32_t id) {
  auto record = link(id);
  if (!record) return record.take_error();
  for (const std::string& pin_path : pins_of({PinKind::link, id})) {
    if (Status s = unpin(pin_path); !s) return s;
  }
  StateLock lock(dir_);
  std::error_code ec;
  if (!std::filesystem::remove(record_path(dir_.links(), id), ec) && ec) {
    return make_error(Errc::io, "can't remove link " + std::to_string(id) + ": " + ec.message());
  }
  return ok_status();
}

}  // namespace userbpf::runtime

// The non-template half of include/userbpf/map_access.hpp: errors with Linux's errno names.
#include "userbpf/map_access.hpp"

#include <cstring>

#include "maps/map_types.hpp"

namespace userbpf::api {
namespace {

const char* errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case E2BIG: return "E2BIG";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case ENOSPC: return "ENOSPC";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case maps::kENOTSUPP: return "ENOTSUPP";
    default: return "errno";
  }
}

}  // namespace

Error map_errno(const maps::Map& map, const char* operation, int rc) {
  const int err = -rc;
  Errc code = Errc::invalid_argument;
  if (err == ENOENT) code = Errc::not_found;
  if (err == EOPNOTSUPP || err == maps::kENOTSUPP) code = Errc::unsupported;
  const char* text = err == maps::kENOTSUPP ? "Operation not supported" : std::strerror(err);
  return make_error(code, "map '" + map.spec().name + "': " + operation + ": " + text + " (" +
                              errno_name(err) + ")");
}

Status check_size(const maps::Map& map, const char* what, size_t got, size_t want) {
  if (got == want) return ok_status();
  return make_error(Errc::invalid_argument, "map '" + map.spec().name + "': " + what + " is " +
                                                std::to_string(want) + " bytes, not " +
                                                std::to_string(got));
}

}  // namespace userbpf::api

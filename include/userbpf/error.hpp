// The one error model of userbpf: every fallible call returns Result<T>, an Error carries a code
// from one catalogue, a message prefixed with its subject, and where it applies a location.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace userbpf {

// The catalogue of error codes. Add new codes here, nowhere else.
enum class Errc : uint8_t {
  invalid_argument,  // a caller passed something unusable (bad option, bad hex, ...)
  io,                // a file could not be read or written
  decode,            // malformed instruction encoding
  assemble,          // malformed assembly text
  verify,            // the verifier refused the program
  fault,             // a checked-mode run hit an invalid memory access
  budget,            // a run exceeded its instruction budget
  unsupported,       // well-formed, but userbpf does not implement it (yet)
  not_found,         // a named object does not exist
  kernel,            // the host kernel refused a bpf() request
};

const char* errc_name(Errc code);

// Where an error happened. Unknown parts stay at their "unset" values.
struct Location {
  std::string file;
  std::string section;
  int64_t insn = -1;  // instruction (slot) index, -1 when unknown
  int line = -1;      // source or text line (1-based), -1 when unknown

  bool empty() const { return file.empty() && section.empty() && insn < 0 && line < 0; }
};

struct Error {
  Errc code = Errc::invalid_argument;
  std::string message;
  Location where;

  // "file:line: section: insn N: message" with the unknown parts left out.
  std::string to_string() const;
};

inline Error make_error(Errc code, std::string message, Location where = {}) {
  return Error{code, std::move(message), std::move(where)};
}

// A value or an error. Deliberately small: construct from either, test with ok(), read with
// value() / error().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace userbpf

// The separator and indentation rules of bpftool's json_writer.c (pretty mode), rewritten.
#include "cli/bpftool_json_writer.hpp"

namespace userbpf::cli {

void BpftoolJsonWriter::separator() {
  if (sep_ != '\0') out_ << sep_;
  sep_ = ',';
}

void BpftoolJsonWriter::newline() {
  out_ << '\n';
  for (int i = 0; i < depth_; ++i) out_ << "    ";
}

void BpftoolJsonWriter::begin(char c) {
  separator();
  out_ << c;
  ++depth_;
  sep_ = '\0';
}

void BpftoolJsonWriter::end(char c) {
  --depth_;
  if (sep_ != '\0') newline();  // something was written inside
  out_ << c;
  sep_ = ',';
}

void BpftoolJsonWriter::name(const std::string& n) {
  separator();
  newline();
  sep_ = '\0';
  out_ << nlohmann::ordered_json(n).dump() << ": ";
}

void BpftoolJsonWriter::value(const nlohmann::ordered_json& v) {
  if (v.is_object()) {
    begin('{');
    for (const auto& [key, member] : v.items()) {
      name(key);
      value(member);
    }
    end('}');
  } else if (v.is_array()) {
    begin('[');
    for (const auto& element : v) value(element);
    end(']');
  } else {
    separator();
    out_ << v.dump();
  }
}

}  // namespace userbpf::cli

#include "cli/event_printer.hpp"

#include <bpf/btf.h>
#include <linux/bpf.h>

#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "cli/hex.hpp"
#include "cli/map_btf.hpp"
#include "userbpf/perf_buffer.hpp"
#include "userbpf/ringbuf.hpp"

namespace userbpf::cli {

namespace {

using json = nlohmann::ordered_json;
using BtfPtr = std::shared_ptr<btf>;

// The type named `name` (struct, union or typedef) in `b`, 0 when absent.
uint32_t find_type(const btf* b, const std::string& name) {
  for (uint32_t kind : {BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_TYPEDEF}) {
    const int id = btf__find_by_name_kind(b, name.c_str(), kind);
    if (id > 0) return static_cast<uint32_t>(id);
  }
  return 0;
}

std::string hex_bytes(const uint8_t* data, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    if (i) out += ' ';
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

}  // namespace

struct EventPrinter::Impl {
  Context* ctx = nullptr;
  struct Source {
    std::string map_name;
    BtfPtr btf;  // the object's BTF, holding the event type
    uint32_t type_id = 0;
  };
  std::vector<std::unique_ptr<Source>> sources;
  std::vector<std::unique_ptr<maps::RingBuffer>> rings;
  std::vector<std::unique_ptr<maps::PerfBuffer>> perf_buffers;

  void print(const Source& src, int cpu, const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    std::optional<json> decoded;
    if (src.type_id) {
      const uint32_t type_size =
          static_cast<uint32_t>(btf__resolve_size(src.btf.get(), src.type_id));
      // perf buffers pad samples to 8 bytes: decode the type's own bytes.
      if (type_size <= size) {
        decoded = btf_format(src.btf.get(), src.type_id, std::span(bytes, type_size));
      }
    }
    if (ctx->json) {
      json j = {{"map", src.map_name}};
      if (cpu >= 0) j["cpu"] = cpu;
      j["size"] = size;
      if (decoded) {
        j["event"] = *decoded;
      } else {
        j["hex"] = hex_bytes(bytes, size);
      }
      ctx->out << j.dump() << "\n";
    } else {
      ctx->out << src.map_name << ": " << (decoded ? decoded->dump() : hex_bytes(bytes, size))
               << "\n";
    }
  }
};

EventPrinter::EventPrinter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventPrinter::~EventPrinter() = default;

size_t EventPrinter::maps() const {
  return impl_->sources.size();
}

Result<std::unique_ptr<EventPrinter>> EventPrinter::create(
    Context& ctx, runtime::Runtime& rt, const std::vector<runtime::ProgramRecord>& programs,
    const std::string& event_type) {
  auto impl = std::make_unique<Impl>();
  impl->ctx = &ctx;
  std::set<uint32_t> seen;
  std::map<uint32_t, BtfPtr> btfs;
  bool type_found = event_type.empty();
  for (const runtime::ProgramRecord& program : programs) {
    for (uint32_t map_id : runtime::used_map_ids(program)) {
      if (!seen.insert(map_id).second) continue;
      auto record = rt.map_record(map_id);
      if (!record) return record.take_error();
      const uint32_t type = record->spec.type;
      if (type != BPF_MAP_TYPE_RINGBUF && type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) continue;
      auto source = std::make_unique<Impl::Source>();
      source->map_name = record->spec.name;
      // A ring buffer has no key or value type, so its record may name no BTF: the type then
      // comes from the object's BTF, which the program's record names.
      const uint32_t btf_id = record->btf_id ? record->btf_id : program.btf_id;
      if (!event_type.empty() && btf_id) {
        auto& b = btfs[btf_id];
        if (!b) {
          const auto path = rt.dir().btf() / (std::to_string(btf_id) + ".btf");
          b.reset(btf__parse(path.c_str(), nullptr), btf__free);
        }
        if (b) {
          source->btf = b;
          source->type_id = find_type(b.get(), event_type);
          type_found |= source->type_id != 0;
        }
      }
      auto map = rt.open_map(map_id);
      if (!map) return map.take_error();
      Impl::Source* src = source.get();
      Impl* self = impl.get();
      if (type == BPF_MAP_TYPE_RINGBUF) {
        auto ring = maps::RingBuffer::create(*map, [self, src](const void* data, size_t size) {
          self->print(*src, -1, data, size);
          return 0;
        });
        if (!ring) return ring.take_error();
        impl->rings.push_back(std::move(*ring));
      } else {
        auto perf = maps::PerfBuffer::create(
            *map,
            [self, src](int cpu, const void* data, uint32_t size) {
              self->print(*src, cpu, data, size);
            },
            [self, src](int cpu, uint64_t lost) {
              self->ctx->err << "Warning: " << src->map_name << ": lost " << lost
                             << " events on CPU " << cpu << "\n";
            });
        if (!perf) return perf.take_error();
        impl->perf_buffers.push_back(std::move(*perf));
      }
      impl->sources.push_back(std::move(source));
    }
  }
  if (!type_found) {
    return make_error(Errc::not_found,
                      "--event-type: no type '" + event_type +
                          "' in the BTF of the programs' event maps (keep it in the object's BTF, "
                          "e.g. with a global 'struct " +
                          event_type + " *unused_event;')");
  }
  return std::unique_ptr<EventPrinter>(new EventPrinter(std::move(impl)));
}

int EventPrinter::drain() {
  int n = 0;
  for (auto& ring : impl_->rings) n += std::max(0, ring->consume());
  for (auto& perf : impl_->perf_buffers) n += std::max(0, perf->consume());
  if (n > 0) impl_->ctx->out.flush();
  return n;
}

}  // namespace userbpf::cli

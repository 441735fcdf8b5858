// Test runs of the packet program types (XDP and the skb types), laid out as Linux's
// net/bpf/test_run.c lays them out, so results compare with the host kernel byte for byte.
//
// Why the packet lives below 4 GiB: struct xdp_md and struct __sk_buff hold data, data_end and
// data_meta as __u32, and programs read them as u32 and cast them to pointers. In Linux the
// verifier rewrites those context loads into 64-bit loads of the real pointers; userbpf runs the
// program as compiled, so the u32 value the program sees must be the whole address. The buffer is
// therefore mapped with MAP_32BIT (x86-64: within the first 2 GiB), and each test run starts from a
// zeroed page so no state leaks from one run to the next.
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

#include "runtime/test_run.hpp"
#include "userbpf/map.hpp"

namespace userbpf::runtime::detail {
namespace {

constexpr size_t kPageSize = 4096;
constexpr size_t kXdpHeadroom = XDP_PACKET_HEADROOM;  // 256
constexpr size_t kXdpFrameStruct = 40;                // sizeof(struct xdp_frame)
constexpr size_t kSharedInfoTailroom = 320;  // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
constexpr size_t kSkbHeadroom = 64;          // NET_SKB_PAD + NET_IP_ALIGN on x86-64
constexpr size_t kMaxXdpMeta = 255;          // type_max(skb_shared_info::meta_len)
constexpr uint32_t kLoopbackIfindex = 1;     // test runs use the namespace's loopback device
constexpr uint32_t kMaxWireLen = 65536;      // GSO_LEGACY_MAX_SIZE
constexpr uint32_t kMaxGsoSegs = 65535;      // GSO_MAX_SEGS

// A zeroed page below 4 GiB (see the file comment). Each thread keeps the last page it released
// and hands it out zeroed again: mapping and unmapping a fresh page per test run costs the
// kernel page-table allocations and a TLB shootdown each time (~100 us measured on a 2-vCPU VM,
// 5% of a 2 ms benchmark batch), far more than clearing 4 KiB.
class LowPage {
 public:
  static Result<LowPage> acquire() {
    LowPage page;
    if (uint8_t* cached = std::exchange(spare().base, nullptr)) {
      std::memset(cached, 0, kPageSize);
      page.base_ = cached;
      return page;
    }
    void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (p == MAP_FAILED)
      return make_error(
          Errc::io, "cannot map a packet buffer below 4 GiB: " + std::string(std::strerror(errno)));
    page.base_ = static_cast<uint8_t*>(p);
    if (reinterpret_cast<uintptr_t>(p) + kPageSize > (uint64_t{1} << 32))
      return make_error(Errc::unsupported, "MAP_32BIT mapping ended above 4 GiB");
    return page;
  }
  LowPage() = default;
  LowPage(LowPage&& o) noexcept : base_(std::exchange(o.base_, nullptr)) {}
  LowPage& operator=(LowPage&&) = delete;
  ~LowPage() {
    if (!base_) return;
    if (!spare().base)
      spare().base = base_;  // kept for this thread's next test run
    else
      munmap(base_, kPageSize);
  }
  uint8_t* base() const { return base_; }
  static constexpr size_t size() { return kPageSize; }

 private:
  // The thread's kept page, unmapped when the thread ends.
  struct Spare {
    uint8_t* base = nullptr;
    ~Spare() {
      if (base) munmap(base, kPageSize);
    }
  };
  static Spare& spare() {
    thread_local Spare kept;
    return kept;
  }

  uint8_t* base_ = nullptr;
};

// Points the program's env at the packet for the test run and always unhooks it.
class PacketHook {
 public:
  PacketHook(RunnableProgram& prog, helpers::PacketState& packet) : env_(prog.env()) {
    env_.packet = &packet;
  }
  ~PacketHook() { env_.packet = nullptr; }

 private:
  helpers::ProgramEnv& env_;
};

// Runs `repeat` times on the same packet and context, as Linux's bpf_test_run: everything is set
// up once and the repetitions follow each other (changes to the frame and its bounds accumulate;
// nothing is restored in between). Each repetition may reach the packet as its bounds are when
// it starts and reports the redirect it made itself; the results are the last repetition's.
Result<TestRunOutput> run_on_packet(RunnableProgram& prog, const TestRunInput& input,
                                    helpers::PacketState& packet, const vm::Region& ctx_region,
                                    bool ld_abs) {
  PacketHook hook(prog, packet);
  const auto packet_region = [&packet] {
    return vm::Region{reinterpret_cast<uint64_t>(packet.data_meta),
                      static_cast<uint64_t>(packet.data_end - packet.data_meta), packet.writable,
                      "packet"};
  };
  const auto abs_packet = [&packet, ld_abs] {
    if (!ld_abs) return std::span<const uint8_t>();
    return std::span<const uint8_t>(packet.data,
                                    static_cast<size_t>(packet.data_end - packet.data));
  };
  // Before every repetition: forget the last one's redirect, and give the program the bounds the
  // last one left (the adjust helpers move them and rewrite the context's data fields; a checked
  // run's program may even have overwritten those fields itself). An unchecked run's program
  // cannot write those fields (the verifier refuses it), so there this is needed only after a
  // helper changed something (PacketState::changed). It runs once per repetition, so it
  // captures only what it touches (no heap, no nested captures).
  const bool always = input.checked || !prog.record().verified;
  const auto before = [&packet, ld_abs, always](std::span<vm::Region> extra,
                                                std::span<const uint8_t>& abs) {
    if (!packet.changed && !always) return;
    packet.changed = false;
    packet.redirected = false;
    packet.redirect_map = nullptr;
    packet.sync_ctx();
    extra[0].start = reinterpret_cast<uint64_t>(packet.data_meta);
    extra[0].size = static_cast<uint64_t>(packet.data_end - packet.data_meta);
    if (ld_abs) abs = {packet.data, static_cast<size_t>(packet.data_end - packet.data)};
  };
  const vm::Region first_region = packet_region();
  auto run = prog.run(ctx_region.start, ctx_region, input.checked, input.repeat,
                      std::span<const vm::Region>(&first_region, 1), abs_packet(), before,
                      always ? nullptr : &packet.changed);
  if (!run) return run.take_error();
  TestRunOutput out;
  out.retval = run->retval;
  out.duration_ns = run->duration_ns;
  out.redirected = packet.redirected;
  out.redirect_ifindex = packet.redirect_ifindex;
  out.redirect_flags = packet.redirect_flags;
  if (packet.redirected && packet.redirect_map != nullptr) {
    out.redirect_map_type = packet.redirect_map->spec().type;
    out.redirect_key = packet.redirect_key;
    const auto& maps = prog.maps();  // by the record's map index, as map_ids
    for (size_t i = 0; i < maps.size() && i < prog.record().map_ids.size(); ++i) {
      if (maps[i].get() == packet.redirect_map) out.redirect_map_id = prog.record().map_ids[i];
    }
  }
  return out;
}

// ctx_in into a zeroed struct: like bpf_ctx_init(), bytes past the struct must be zero.
template <class T>
Result<T> context_from(const ProgramRecord& record, const std::vector<uint8_t>& ctx_in,
                       const char* name) {
  T value{};
  const size_t n = std::min(ctx_in.size(), sizeof(T));
  if (std::any_of(ctx_in.begin() + static_cast<ptrdiff_t>(n), ctx_in.end(),
                  [](uint8_t b) { return b != 0; }))
    return make_error(Errc::invalid_argument,
                      "test run of prog '" + record.name + "': ctx_in has non-zero bytes past " +
                          name + " (" + std::to_string(sizeof(T)) + " bytes) (E2BIG)");
  if (n) std::memcpy(&value, ctx_in.data(), n);  // an empty ctx_in may have no data pointer
  return value;
}

bool all_zero(const void* p, size_t from, size_t to) {
  const auto* b = static_cast<const uint8_t*>(p);
  return std::all_of(b + from, b + to, [](uint8_t x) { return x == 0; });
}

}  // namespace

Result<TestRunOutput> test_run_xdp(RunnableProgram& prog, const TestRunInput& input) {
  const ProgramRecord& record = prog.record();
  auto md_in = context_from<xdp_md>(record, input.ctx_in, "struct xdp_md");
  if (!md_in) return md_in.take_error();
  const size_t size_in = input.data_in.size();
  size_t headroom = kXdpHeadroom;
  size_t meta = 0;
  size_t linear = size_in;
  if (!input.ctx_in.empty()) {
    if (md_in->data_meta != 0 || md_in->data_end > size_in || md_in->data > md_in->data_end)
      return bad_input(record, "xdp_md must have data_meta 0 and data <= data_end <= data_in size");
    meta = md_in->data;
    if (meta % 4 != 0 || meta > kMaxXdpMeta || meta > headroom - kXdpFrameStruct)
      return bad_input(record, "xdp_md data (metadata size " + std::to_string(meta) +
                                   ") must be a multiple of 4 up to 252");
    if (md_in->egress_ifindex != 0) return bad_input(record, "xdp_md egress_ifindex must be 0");
    if (!md_in->ingress_ifindex && md_in->rx_queue_index)
      return bad_input(record, "xdp_md rx_queue_index needs an ingress_ifindex");
    headroom -= meta;
    linear = md_in->data_end;
  }
  const size_t max_linear = kPageSize - headroom - kSharedInfoTailroom;
  if (size_in > max_linear || linear < size_in) {
    Error e = bad_input(record, "a frame of " + std::to_string(size_in) +
                                    " bytes needs fragments (multi-buffer XDP), which userbpf "
                                    "does not model; at most " +
                                    std::to_string(max_linear) + " bytes fit the linear part");
    e.code = Errc::unsupported;
    return e;
  }
  if (size_in < meta + ETH_HLEN)
    return bad_input(record, "data_in must hold an Ethernet header (14 bytes) after the metadata");

  auto memory = LowPage::acquire();
  if (!memory) return memory.take_error();
  uint8_t* hard_start = memory->base();
  std::copy(input.data_in.begin(), input.data_in.end(), hard_start + headroom);

  helpers::PacketState packet;
  packet.kind = helpers::PacketState::Kind::xdp;
  packet.hard_start = hard_start;
  packet.hard_end = hard_start + kPageSize - kSharedInfoTailroom;
  packet.data_meta = hard_start + headroom;
  packet.data = packet.data_meta + meta;
  packet.data_end = packet.data_meta + linear;
  packet.writable = true;

  xdp_md md{};
  md.ingress_ifindex = md_in->ingress_ifindex ? md_in->ingress_ifindex : kLoopbackIfindex;
  md.rx_queue_index = md_in->rx_queue_index;
  packet.ctx = &md;
  const vm::Region ctx_region{reinterpret_cast<uint64_t>(&md), sizeof md, true, "ctx"};

  auto out = run_on_packet(prog, input, packet, ctx_region, false);
  if (!out) return out;
  out->data_out.assign(packet.data_meta, packet.data_end);
  // Linux reports data and data_end relative to data_meta and the rest as given.
  xdp_md md_out = *md_in;
  md_out.data = static_cast<uint32_t>(packet.data - packet.data_meta);
  md_out.data_end = static_cast<uint32_t>(packet.data_end - packet.data_meta);
  const auto* bytes = reinterpret_cast<const uint8_t*>(&md_out);
  out->ctx_out.assign(bytes, bytes + sizeof md_out);
  return out;
}

Result<TestRunOutput> test_run_skb(RunnableProgram& prog, const TestRunInput& input, bool l2) {
  const ProgramRecord& record = prog.record();
  const size_t size = input.data_in.size();
  if (size < ETH_HLEN)
    return bad_input(record, "data_in of " + std::to_string(size) +
                                 " bytes is shorter than an Ethernet header (14 bytes)");
  if (size > kPageSize - kSkbHeadroom - kSharedInfoTailroom)
    return bad_input(record, "data_in of " + std::to_string(size) + " bytes exceeds " +
                                 std::to_string(kPageSize - kSkbHeadroom - kSharedInfoTailroom) +
                                 " bytes");
  auto user = context_from<__sk_buff>(record, input.ctx_in, "struct __sk_buff");
  if (!user) return user.take_error();

  // convert___skb_to_skb(): only these fields may be set.
  const __sk_buff& u = *user;
#define USERBPF_END(f) (offsetof(__sk_buff, f) + sizeof(__sk_buff::f))
  const bool fields_ok = all_zero(&u, 0, offsetof(__sk_buff, mark)) &&
                         all_zero(&u, USERBPF_END(mark), offsetof(__sk_buff, priority)) &&
                         all_zero(&u, USERBPF_END(ifindex), offsetof(__sk_buff, cb)) &&
                         all_zero(&u, USERBPF_END(cb), offsetof(__sk_buff, tstamp)) &&
                         all_zero(&u, USERBPF_END(gso_segs), offsetof(__sk_buff, gso_size)) &&
                         all_zero(&u, USERBPF_END(gso_size), offsetof(__sk_buff, hwtstamp)) &&
                         all_zero(&u, USERBPF_END(hwtstamp), sizeof(__sk_buff));
#undef USERBPF_END
  if (!fields_ok)
    return bad_input(record,
                     "__sk_buff in ctx_in may set only mark, priority, ingress_ifindex, ifindex, "
                     "cb, tstamp, wire_len, gso_segs, gso_size and hwtstamp (EINVAL)");

  auto memory = LowPage::acquire();
  if (!memory) return memory.take_error();
  uint8_t* frame = memory->base() + kSkbHeadroom;
  std::copy(input.data_in.begin(), input.data_in.end(), frame);

  // eth_type_trans() on the loopback device: its address is 00:00:00:00:00:00 and it has no
  // broadcast address, so even ff:ff:ff:ff:ff:ff counts as multicast (as the host kernel says).
  const uint8_t* dest = frame;
  uint32_t pkt_type = PACKET_HOST;
  if (!std::all_of(dest, dest + ETH_ALEN, [](uint8_t b) { return b == 0; }))
    pkt_type = (dest[0] & 1) ? PACKET_MULTICAST : PACKET_OTHERHOST;
  uint16_t proto;  // network byte order, as skb->protocol
  std::memcpy(&proto, frame + 12, 2);
  if (ntohs(proto) < ETH_P_802_3_MIN) {
    uint16_t sap = 0;
    if (size >= ETH_HLEN + 2) std::memcpy(&sap, frame + ETH_HLEN, 2);
    proto = htons(sap == 0xffff ? ETH_P_802_3 : ETH_P_802_2);
  }

  helpers::PacketState packet;
  packet.kind = helpers::PacketState::Kind::skb;
  packet.hard_start = memory->base();
  packet.hard_end = memory->base() + LowPage::size();
  packet.data = l2 ? frame : frame + ETH_HLEN;
  packet.data_meta = packet.data;
  packet.data_end = frame + size;
  const uint32_t len = static_cast<uint32_t>(packet.data_end - packet.data);
  if (u.wire_len != 0 && (u.wire_len < len || u.wire_len > kMaxWireLen))
    return bad_input(record, "__sk_buff wire_len must be 0 or between len and 65536");
  if (u.gso_segs > kMaxGsoSegs) return bad_input(record, "__sk_buff gso_segs exceeds 65535");
  // Linux lets socket filters and cgroup skb programs read the packet only through helpers and
  // LD_ABS; tc and lwt programs may also write it directly.
  const uint32_t type = record.prog_type;
  packet.writable = type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT ||
                    type == BPF_PROG_TYPE_LWT_XMIT || type == BPF_PROG_TYPE_LWT_IN ||
                    type == BPF_PROG_TYPE_LWT_OUT || type == BPF_PROG_TYPE_LWT_SEG6LOCAL;

  __sk_buff skb{};
  skb.len = len;
  skb.pkt_type = pkt_type;
  skb.mark = u.mark;
  skb.protocol = proto;
  skb.priority = u.priority;
  skb.ingress_ifindex = u.ingress_ifindex;
  skb.ifindex = u.ifindex > 1 ? u.ifindex : kLoopbackIfindex;
  std::memcpy(skb.cb, u.cb, sizeof skb.cb);
  skb.tstamp = u.tstamp;
  skb.wire_len = u.wire_len ? u.wire_len : len;
  skb.gso_segs = u.gso_segs;
  skb.gso_size = u.gso_size;
  skb.hwtstamp = u.hwtstamp;
  packet.ctx = &skb;
  const vm::Region ctx_region{reinterpret_cast<uint64_t>(&skb), sizeof skb, true, "ctx"};

  auto out = run_on_packet(prog, input, packet, ctx_region, true);
  if (!out) return out;
  // Linux gives the packet back from the Ethernet header on; for programs that saw it from the
  // network header, that header comes back zeroed.
  if (!l2) out->data_out.assign(ETH_HLEN, 0);
  out->data_out.insert(out->data_out.end(), packet.data, packet.data_end);
  // convert_skb_to___skb(): the fields Linux copies back over ctx_in.
  __sk_buff ctx_out = u;
  ctx_out.mark = skb.mark;
  ctx_out.priority = skb.priority;
  ctx_out.ingress_ifindex = skb.ingress_ifindex;
  ctx_out.ifindex = skb.ifindex;
  ctx_out.tstamp = skb.tstamp;
  std::memcpy(ctx_out.cb, skb.cb, sizeof ctx_out.cb);
  ctx_out.wire_len = skb.wire_len;
  ctx_out.gso_segs = skb.gso_segs;
  ctx_out.hwtstamp = skb.hwtstamp;
  const auto* bytes = reinterpret_cast<const uint8_t*>(&ctx_out);
  out->ctx_out.assign(bytes, bytes + sizeof ctx_out);
  return out;
}

}  // namespace userbpf::runtime::detail

#include "capture/pcap_source.h"

#include <poll.h>

#include <algorithm>
#include <cstdio>

#include <pcap/pcap.h>

namespace edgeid::capture {

namespace {

constexpr std::size_t kOfflineBufferBytes = std::size_t{256} * 1024;

class PcapSource final : public PacketSource {
 public:
  /// @p file_buffer: the stdio buffer of an offline handle's FILE, kept until pcap_close().
  PcapSource(pcap_t* handle, bool live, std::unique_ptr<char[]> file_buffer = nullptr) noexcept
      : handle_(handle),
        live_(live),
        link_(static_cast<LinkType>(pcap_datalink(handle))),
        file_buffer_(std::move(file_buffer)) {}
  ~PcapSource() override { pcap_close(handle_); }
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  std::error_code dispatch(int max_packets, PacketSink& sink, std::size_t& delivered) override {
    Context ctx{&sink, link_, 0};
    const int n =
        pcap_dispatch(handle_, max_packets, &PcapSource::callback, reinterpret_cast<u_char*>(&ctx));
    delivered = ctx.count;
    if (n == PCAP_ERROR) {
      error_ = pcap_geterr(handle_);
      return errc::read_failed;
    }
    if (n == 0 && !live_) return errc::end_of_file;
    return {};
  }
  LinkType link_type() const noexcept override { return link_; }
  std::optional<KernelStats> stats() noexcept override {
    if (!live_) return std::nullopt;
    struct pcap_stat ps {};
    if (pcap_stats(handle_, &ps) != 0) return std::nullopt;
    return KernelStats{ps.ps_recv, ps.ps_drop, ps.ps_ifdrop};
  }
  int selectable_fd() const noexcept override {
    return live_ ? pcap_get_selectable_fd(handle_) : -1;
  }
  std::string last_error() const override { return error_; }

 private:
  struct Context {
    PacketSink* sink;
    LinkType link;
    std::size_t count;
  };
  static void callback(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto* ctx = reinterpret_cast<Context*>(user);
    Packet p;
    p.time = platform::Timestamp::from_timeval(h->ts.tv_sec, h->ts.tv_usec);
    p.data = std::span<const std::uint8_t>(bytes, h->caplen);
    p.wire_length = h->len;
    p.link = ctx->link;
    ++ctx->count;
    ctx->sink->on_packet(p);
  }

  pcap_t* handle_;
  bool live_;
  LinkType link_;
  std::unique_ptr<char[]> file_buffer_;  // destroyed after the destructor's pcap_close()
  std::string error_;
};

}  // namespace

std::unique_ptr<PacketSource> open_offline(const std::filesystem::path& path, std::error_code& ec,
                                           std::string& detail) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Microseconds whatever the file holds (libpcap scales nanosecond files): the callback's
  // Timestamp::from_timeval() expects them.
  //
  // libpcap reads a file with fread() through the FILE's buffer, one st_blksize (4 KiB) read(2)
  // at a time. Opening the FILE here with a larger buffer cuts the system calls 64-fold; the
  // bytes copied are the same. "-" (standard input) and files fopen() cannot open go to
  // pcap_open_offline as before, for its handling and its error messages.
  pcap_t* handle = nullptr;
  std::unique_ptr<char[]> buffer;
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): handed to libpcap, which closes it
  std::FILE* file = path == "-" ? nullptr : std::fopen(path.c_str(), "rb");
  if (file != nullptr) {
    // glibc ignores the size when it is to allocate the buffer itself: hand it one.
    buffer = std::make_unique<char[]>(kOfflineBufferBytes);
    std::setvbuf(file, buffer.get(), _IOFBF, kOfflineBufferBytes);
    handle = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    // pcap_close() owns the FILE only on success.
    if (handle == nullptr) std::fclose(file);  // NOLINT(cppcoreguidelines-owning-memory)
  } else {
    handle =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  }
  if (handle == nullptr) {
    ec = errc::open_failed;
    detail = errbuf;
    return nullptr;
  }
  const int dlt = pcap_datalink(handle);
  if (!is_supported_link_type(dlt)) {
    ec = errc::unsupported_link_type;
    const char* name = pcap_datalink_val_to_name(dlt);
    detail = "link type " + std::to_string(dlt) +
             (name != nullptr ? std::string(" (") + name + ")" : "");
    pcap_close(handle);
    return nullptr;
  }
  ec.clear();
  return std::make_unique<PcapSource>(handle, false, std::move(buffer));
}

std::unique_ptr<PacketSource> open_live(const LiveOptions& o, std::error_code& ec,
                                        std::string& detail) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_create(o.interface.c_str(), errbuf);
  if (handle == nullptr) {
    ec = errc::open_failed;
    detail = errbuf;
    return nullptr;
  }
  const auto fail = [&](errc e, std::string why) -> std::unique_ptr<PacketSource> {
    ec = e;
    detail = std::move(why);
    pcap_close(handle);
    return nullptr;
  };
  // Order matters: these can only be set before pcap_activate().
  pcap_set_snaplen(handle, o.snaplen);
  pcap_set_promisc(handle, o.promiscuous ? 1 : 0);
  pcap_set_buffer_size(handle, o.buffer_bytes);
  pcap_set_timeout(handle, static_cast<int>(o.poll_timeout.count()));
  pcap_set_immediate_mode(handle, 0);  // whole TPACKET_V3 blocks: fewer wake-ups
  const int rc = pcap_activate(handle);
  if (rc < 0) {
    std::string why = pcap_statustostr(rc);
    if (rc == PCAP_ERROR || rc == PCAP_ERROR_NO_SUCH_DEVICE || rc == PCAP_ERROR_PERM_DENIED) {
      why += std::string(": ") + pcap_geterr(handle);
    }
    return fail(errc::open_failed, o.interface + ": " + why);
  }
  if (!is_supported_link_type(pcap_datalink(handle))) {
    return fail(errc::unsupported_link_type,
                o.interface + ": link type " + std::to_string(pcap_datalink(handle)));
  }
  if (!o.filter.empty()) {
    bpf_program program{};
    if (pcap_compile(handle, &program, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      return fail(errc::bad_filter, o.filter + ": " + pcap_geterr(handle));
    }
    const int set = pcap_setfilter(handle, &program);
    pcap_freecode(&program);
    if (set != 0) return fail(errc::bad_filter, o.filter + ": " + pcap_geterr(handle));
  }
  if (pcap_setnonblock(handle, 1, errbuf) != 0) {
    return fail(errc::open_failed, o.interface + ": " + errbuf);
  }
  ec.clear();
  return std::make_unique<PcapSource>(handle, true);
}

struct LiveCapture::Interface {
  LiveOptions options;
  std::unique_ptr<PacketSource> source;
  InterfaceStatus status;
  KernelStats base;  // kernel counters of earlier opens
  platform::Clock::MonotonicTime next_attempt{};
  std::chrono::milliseconds delay{0};
};

LiveCapture::LiveCapture(std::vector<LiveOptions> interfaces, const platform::Clock& clock,
                         const platform::Logger& logger, Opener opener, Backoff backoff)
    : clock_(clock), logger_(logger), opener_(std::move(opener)), backoff_(backoff) {
  for (auto& o : interfaces) {
    auto i = std::make_unique<Interface>();
    i->status.name = o.interface;
    i->options = std::move(o);
    i->next_attempt = clock_.monotonic();
    interfaces_.push_back(std::move(i));
  }
}

LiveCapture::~LiveCapture() = default;

void LiveCapture::try_open(Interface& i) {
  std::error_code ec;
  std::string detail;
  i.source = opener_(i.options, ec, detail);
  if (!i.source) {
    fail(i, detail.empty() ? ec.message() : detail);
    return;
  }
  ++i.status.opens;
  i.status.open = true;
  i.delay = std::chrono::milliseconds(0);
  logger_.info("capture.open", platform::kv("interface", i.options.interface),
               platform::kv("reopen", i.status.opens > 1));
}

void LiveCapture::fail(Interface& i, const std::string& why) {
  if (i.source) {
    if (auto s = i.source->stats()) {
      i.base.received += s->received;
      i.base.dropped += s->dropped;
      i.base.if_dropped += s->if_dropped;
    }
    i.source.reset();
  }
  ++i.status.failures;
  i.status.open = false;
  i.status.last_error = why;
  i.delay = i.delay.count() == 0 ? backoff_.first_delay : std::min(i.delay * 2, backoff_.max_delay);
  i.next_attempt = clock_.monotonic() + i.delay;
  logger_.warning("capture.interface_failed", platform::kv("interface", i.options.interface),
                  platform::kv("error", why), platform::kv("retry_ms", i.delay.count()));
}

std::size_t LiveCapture::poll(PacketSink& sink, std::chrono::milliseconds timeout) {
  const auto now = clock_.monotonic();
  for (auto& i : interfaces_) {
    if (!i->source && now >= i->next_attempt) try_open(*i);
  }
  // Wait for readiness, but not past the next reopen attempt.
  std::vector<pollfd> fds;
  bool has_unpollable = false;
  auto wait = timeout;
  for (auto& i : interfaces_) {
    if (i->source) {
      const int fd = i->source->selectable_fd();
      if (fd >= 0) {
        fds.push_back(pollfd{fd, POLLIN, 0});
      } else {
        has_unpollable = true;
      }
    } else {
      const auto until =
          std::chrono::duration_cast<std::chrono::milliseconds>(i->next_attempt - now);
      wait = std::max(std::chrono::milliseconds(0), std::min(wait, until));
    }
  }
  if (has_unpollable) wait = std::chrono::milliseconds(0);
  if (!fds.empty() && wait.count() > 0) {
    ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
  }
  std::size_t total = 0;
  for (auto& i : interfaces_) {
    if (!i->source) continue;
    std::size_t delivered = 0;
    // Dispatch unconditionally: non-blocking, and TPACKET_V3 may hold a retired block without
    // the fd having signalled yet.
    const auto ec = i->source->dispatch(-1, sink, delivered);
    i->status.packets += delivered;
    total += delivered;
    if (ec && ec != errc::end_of_file) {
      fail(*i, i->source->last_error());
    } else if (ec == errc::end_of_file) {
      fail(*i, "end of capture");
    }
  }
  return total;
}

std::vector<LiveCapture::InterfaceStatus> LiveCapture::status() {
  std::vector<InterfaceStatus> out;
  for (auto& i : interfaces_) {
    InterfaceStatus s = i->status;
    s.kernel = i->base;
    if (i->source) {
      if (auto k = i->source->stats()) {
        s.kernel.received += k->received;
        s.kernel.dropped += k->dropped;
        s.kernel.if_dropped += k->if_dropped;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace edgeid::capture

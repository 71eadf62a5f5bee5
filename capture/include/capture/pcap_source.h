#pragma once
/// @file
/// Packet sources: offline capture files (pcap and pcapng) and live interfaces through libpcap,
/// and LiveCapture, which keeps several interfaces open and reopens the ones that go away.
///
/// Error policy: opening and reading are I/O boundaries and report std::error_code (capture
/// errc) plus libpcap's own message in a `detail` string; nothing here throws except on
/// allocation failure. A live interface that fails is closed and reopened with backoff by
/// LiveCapture — counted and logged once per state change, never fatal.
/// Thread safety: a source or a LiveCapture belongs to one thread (libpcap handles are not
/// thread-safe); different objects may be used from different threads.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "capture/decode.h"
#include "capture/error.h"
#include "platform/log.h"
#include "platform/time.h"

namespace edgeid::capture {

/// One captured frame. `data` points into libpcap's buffer: valid only during on_packet().
struct Packet {
  platform::Timestamp time;
  std::span<const std::uint8_t> data;  ///< the captured bytes (at most snaplen)
  std::uint32_t wire_length = 0;       ///< the frame's length on the wire
  LinkType link = LinkType::ethernet;
};

/// Receives packets. Called on the thread that dispatches; must not throw.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void on_packet(const Packet& packet) noexcept = 0;
};

/// Kernel counters of a live interface (pcap_stats). Cumulative since the source was opened.
struct KernelStats {
  std::uint64_t received = 0;    ///< ps_recv: packets the filter accepted
  std::uint64_t dropped = 0;     ///< ps_drop: dropped for lack of buffer space
  std::uint64_t if_dropped = 0;  ///< ps_ifdrop: dropped by the interface/driver
};

/// A source of packets. An interface so that LiveCapture can be tested with a scripted fake.
class PacketSource {
 public:
  virtual ~PacketSource() = default;
  /// Delivers up to @p max_packets (-1: one buffer's worth) to @p sink. Sets @p delivered.
  /// Returns {} when packets were delivered or none were ready (live: timeout), errc::end_of_file
  /// at the end of a file, or errc::read_failed (see last_error()) when the source broke.
  virtual std::error_code dispatch(int max_packets, PacketSink& sink, std::size_t& delivered) = 0;
  virtual LinkType link_type() const noexcept = 0;
  /// Kernel statistics; std::nullopt for files.
  virtual std::optional<KernelStats> stats() noexcept = 0;
  /// A descriptor to poll(2) for readability, or -1 (then dispatch() does not block).
  virtual int selectable_fd() const noexcept = 0;
  /// libpcap's message for the last failure.
  virtual std::string last_error() const = 0;
};

/// Opens a pcap or pcapng file. On failure returns nullptr, sets @p ec (open_failed or
/// unsupported_link_type) and puts libpcap's message in @p detail.
std::unique_ptr<PacketSource> open_offline(const std::filesystem::path& path, std::error_code& ec,
                                           std::string& detail);

struct LiveOptions {
  std::string interface;               ///< e.g. "eth1"
  int snaplen = 1600;                  ///< bytes kept per frame
  int buffer_bytes = 4 * 1024 * 1024;  ///< kernel ring (TPACKET_V3 block memory)
  bool promiscuous = true;
  std::chrono::milliseconds poll_timeout{250};  ///< TPACKET_V3 block retire timeout
  std::string filter;                           ///< BPF expression; empty = everything
};

/// Opens a live interface with pcap_create(): buffer size, snaplen, promiscuous mode and the
/// timeout set before activation, immediate mode off (TPACKET_V3 hands over whole blocks),
/// non-blocking reads, and the BPF filter if any. Needs CAP_NET_RAW.
std::unique_ptr<PacketSource> open_live(const LiveOptions& options, std::error_code& ec,
                                        std::string& detail);

/// Reopen schedule for a failed interface: first_delay, doubling, at most max_delay.
struct Backoff {
  std::chrono::milliseconds first_delay{1000};
  std::chrono::milliseconds max_delay{60'000};
};

/// Several live interfaces, each reopened with backoff when it fails (interface down, removed,
/// renamed). Time comes from the injected clock's monotonic time.
class LiveCapture {
 public:
  using Opener = std::function<std::unique_ptr<PacketSource>(const LiveOptions&, std::error_code&,
                                                             std::string&)>;

  struct InterfaceStatus {
    std::string name;
    bool open = false;
    std::uint64_t opens = 0;     ///< successful opens (the first one included)
    std::uint64_t failures = 0;  ///< failed opens and broken reads
    std::uint64_t packets = 0;   ///< delivered to the sink
    KernelStats kernel;          ///< summed over every open of the interface
    std::string last_error;
  };

  /// @p clock must outlive the capture. @p opener defaults to open_live().
  LiveCapture(std::vector<LiveOptions> interfaces, const platform::Clock& clock,
              const platform::Logger& logger, Opener opener = open_live, Backoff backoff = {});
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  /// One round: opens the interfaces whose reopen time has come, waits up to @p timeout for any
  /// open one to become readable, and dispatches the ready ones. Returns the packets delivered.
  std::size_t poll(PacketSink& sink, std::chrono::milliseconds timeout);

  std::vector<InterfaceStatus> status();

 private:
  struct Interface;
  void try_open(Interface& i);
  void fail(Interface& i, const std::string& why);

  const platform::Clock& clock_;
  platform::Logger logger_;
  Opener opener_;
  Backoff backoff_;
  std::vector<std::unique_ptr<Interface>> interfaces_;
};

}  // namespace edgeid::capture

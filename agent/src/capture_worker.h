#pragma once
// The daemon's capture thread: one DeviceTable fed by the configured capture files (read to
// their end first) and then by every live interface (capture::LiveCapture). One table for all
// interfaces, so a MAC seen on two interfaces is one device.
//
// Hand-over: the thread publishes the table's changes (drain_changes) every kPublishInterval
// into a map keyed by MAC under a mutex; the agent thread take()s them at each flush. The map
// holds at most one entry per MAC, so a stalled agent thread costs bounded memory, and the
// capture thread never waits on anything but that short lock.
//
// Lifecycle: construct, open() (as root: opens the files and the live handles, so privileges
// can be dropped afterwards), start(), stop(). Errors: open() throws std::runtime_error naming a
// capture file that cannot be read; a live interface that fails is retried with backoff
// (LiveCapture) and shown in the snapshot. Thread safety: take() and snapshot() may be called
// from any thread; the rest from the owning thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agent/config.h"
#include "capture/decode.h"
#include "capture/device_table.h"
#include "capture/oui_table.h"
#include "capture/pcap_source.h"
#include "platform/log.h"
#include "platform/time.h"

namespace edgeid::agent {

struct CaptureSnapshot {
  std::vector<capture::LiveCapture::InterfaceStatus> interfaces;
  capture::DecodeCounters decode;
  capture::TableCounters table;
  std::size_t devices = 0;  ///< MACs in the table
  std::size_t files = 0;    ///< capture files configured
  std::size_t files_read = 0;
  std::vector<std::string> file_errors;
};

class CaptureWorker {
 public:
  static constexpr std::chrono::milliseconds kPublishInterval{200};

  /// A MAC's observations since the last take(), folded together (capture::absorb): change
  /// bits since then, the record with every group any of them carried.
  using Pending = capture::Observation;
  using PendingMap = std::unordered_map<platform::MacAddress, Pending>;

  /// @p interfaces: the live interfaces to open (already resolved from the configuration).
  CaptureWorker(const CaptureConfig& config, std::vector<std::string> interfaces,
                const platform::Clock& clock, const platform::Logger& log);
  ~CaptureWorker();
  CaptureWorker(const CaptureWorker&) = delete;
  CaptureWorker& operator=(const CaptureWorker&) = delete;

  void open();
  void start();
  /// Stops and joins the thread, then publishes what it had not yet handed over. Idempotent.
  void stop();

  /// Moves the published changes into @p out (merging change bits per MAC).
  void take(PendingMap& out);
  CaptureSnapshot snapshot() const;

 private:
  class Sink;
  void loop();
  void publish();

  CaptureConfig config_;
  std::vector<std::string> interface_names_;
  const platform::Clock& clock_;
  platform::Logger log_;
  capture::OuiTable oui_;
  capture::DeviceTable table_;
  std::unique_ptr<Sink> sink_;
  std::vector<std::unique_ptr<capture::PacketSource>> files_;
  std::unique_ptr<capture::LiveCapture> live_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mutex_;  // guards published_ and snapshot_
  PendingMap published_;
  CaptureSnapshot snapshot_;
  std::vector<capture::Observation> drained_;  // capture thread only: reused buffer
  std::size_t files_read_ = 0;
  std::vector<std::string> file_errors_;
};

}  // namespace edgeid::agent

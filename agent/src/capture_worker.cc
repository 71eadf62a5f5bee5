#include "capture_worker.h"

#include <stdexcept>

namespace edgeid::agent {

class CaptureWorker::Sink final : public capture::PacketSink {
 public:
  explicit Sink(capture::DeviceTable& table) : table_(table) {}
  void on_packet(const capture::Packet& p) noexcept override {
    capture::decode_frame(p.link, p.data, p.wire_length, *facts_, counters_);
    table_.apply(*facts_, p.time);
  }
  const capture::DecodeCounters& counters() const noexcept { return counters_; }

 private:
  capture::DeviceTable& table_;
  std::unique_ptr<capture::FrameFacts> facts_ = std::make_unique<capture::FrameFacts>();
  capture::DecodeCounters counters_;
};

namespace {

capture::TableOptions table_options(const CaptureConfig& c) {
  capture::TableOptions o;
  o.max_devices = static_cast<std::size_t>(c.max_devices);
  o.track_changes = true;
  return o;
}

}  // namespace

CaptureWorker::CaptureWorker(const CaptureConfig& config, std::vector<std::string> interfaces,
                             const platform::Clock& clock, const platform::Logger& log)
    : config_(config),
      interface_names_(std::move(interfaces)),
      clock_(clock),
      log_(log),
      table_(table_options(config), &oui_),
      sink_(std::make_unique<Sink>(table_)) {
  std::vector<std::string> problems;
  oui_.load_directory(config_.oui_dir, problems);
  for (const auto& p : problems) {
    log_.warning("oui.not_loaded", platform::kv("detail", p));
  }
}

CaptureWorker::~CaptureWorker() {
  stop();
}

void CaptureWorker::open() {
  for (const auto& file : config_.pcap_files) {
    std::error_code ec;
    std::string detail;
    auto source = capture::open_offline(file, ec, detail);
    if (!source) {
      throw std::runtime_error(file + ": " + ec.message() + (detail.empty() ? "" : ": " + detail));
    }
    files_.push_back(std::move(source));
  }
  if (interface_names_.empty()) return;
  std::vector<capture::LiveOptions> live;
  for (const auto& name : interface_names_) {
    capture::LiveOptions o;
    o.interface = name;
    o.snaplen = static_cast<int>(config_.snaplen);
    o.buffer_bytes = static_cast<int>(config_.buffer_mib) * 1024 * 1024;  // ≤ 1 GiB: fits
    o.filter = config_.bpf;
    live.push_back(std::move(o));
  }
  live_ = std::make_unique<capture::LiveCapture>(std::move(live), clock_, log_);
  // The first open happens here, on the caller's (still privileged) thread.
  live_->poll(*sink_, std::chrono::milliseconds(0));
  publish();
}

void CaptureWorker::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void CaptureWorker::stop() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
    publish();
  }
}

void CaptureWorker::loop() {
  auto next_publish = clock_.monotonic() + kPublishInterval;
  std::size_t file = files_read_;
  while (!stop_) {
    if (file < files_.size()) {
      std::size_t delivered = 0;
      const auto ec = files_[file]->dispatch(4096, *sink_, delivered);
      if (ec) {
        if (ec != capture::errc::end_of_file) {
          const std::string why =
              config_.pcap_files[file] + ": " + ec.message() + ": " + files_[file]->last_error();
          log_.error("file.unreadable", platform::kv("detail", why));
          std::lock_guard lock(mutex_);
          file_errors_.push_back(why);
        }
        files_[file].reset();
        files_read_ = ++file;
      }
    } else if (live_) {
      live_->poll(*sink_, std::chrono::milliseconds(100));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (clock_.monotonic() >= next_publish) {
      publish();
      next_publish = clock_.monotonic() + kPublishInterval;
    }
  }
}

// Runs on the capture thread (or after it stopped).
void CaptureWorker::publish() {
  drained_.clear();
  table_.drain_changes(drained_);
  CaptureSnapshot snap;
  if (live_) snap.interfaces = live_->status();
  snap.decode = sink_->counters();
  snap.table = table_.counters();
  snap.devices = table_.size();
  snap.files = config_.pcap_files.size();
  std::lock_guard lock(mutex_);
  for (auto& o : drained_) {
    const auto mac = o.record.mac;
    capture::absorb(published_[mac], std::move(o));
  }
  // A burst (a capture file, a busy minute) must not leave its peak allocated for good.
  if (drained_.capacity() > 1024) std::vector<capture::Observation>().swap(drained_);
  snap.files_read = files_read_;
  snap.file_errors = file_errors_;
  snapshot_ = std::move(snap);
}

void CaptureWorker::take(PendingMap& out) {
  std::lock_guard lock(mutex_);
  if (out.empty()) {
    out.swap(published_);
    return;
  }
  for (auto& [mac, p] : published_) capture::absorb(out[mac], std::move(p));
  published_.clear();
}

CaptureSnapshot CaptureWorker::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

}  // namespace edgeid::agent

// `edgeid ingest --pcap FILE [--pcap FILE …] [--json] [--oui-dir DIR]`: offline discovery.
// Every file is opened before any is read, so a bad path fails fast without partial output.
#include <array>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/cli.h"
#include "args.h"
#include "capture/decode.h"
#include "capture/device_table.h"
#include "capture/frame_batch.h"
#include "capture/oui_table.h"
#include "capture/pcap_source.h"
#include "commands.h"
#include "device_json.h"

namespace edgeid::agent {

namespace {

struct IngestOptions {
  std::vector<std::string> files;
  bool json = false;
  std::string oui_dir{capture::OuiTable::kDefaultDirectory};
};

IngestOptions parse(std::span<const std::string_view> args) {
  IngestOptions o;
  ArgReader r(args);
  while (!r.done()) {
    const auto a = r.next();
    if (a == "--pcap") {
      o.files.push_back(r.value_of(a));
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--oui-dir") {
      o.oui_dir = r.value_of(a);
    } else {
      ArgReader::unknown(a);
    }
  }
  if (o.files.empty()) throw UsageError("no capture file given (--pcap FILE)");
  return o;
}

// Reading and decoding run on a thread of their own, a few batches ahead of the thread that
// applies the frames to the table: libpcap's copying of the file and the table's cache misses
// then overlap instead of adding up (the vendor registry loads on a third thread meanwhile, see
// run_ingest). Frames are applied in file order, each exactly once; a batch carries the facts of
// its frames and the bytes their texts view, so nothing refers to libpcap's buffer after
// on_packet().
class Pipeline {
 public:
  static constexpr std::size_t kBatches = 4;
  static constexpr std::size_t kFramesPerBatch = 2048;

  Pipeline() {
    for (std::size_t i = 0; i < kBatches; ++i) {
      free_.push_back(std::make_unique<capture::FrameBatch>(kFramesPerBatch));
    }
  }

  /// Reader: an empty batch to fill, or nullptr when the consumer gave up.
  std::unique_ptr<capture::FrameBatch> take_free() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return abandoned_ || !free_.empty(); });
    if (abandoned_) return nullptr;
    auto b = std::move(free_.front());
    free_.pop_front();
    return b;
  }
  /// Reader: hands a filled batch over.
  void publish(std::unique_ptr<capture::FrameBatch> batch) {
    const std::lock_guard lock(mutex_);
    filled_.push_back(std::move(batch));
    cv_.notify_all();
  }
  /// Reader: nothing more will come (@p error: why the reader stopped early).
  void finish(std::exception_ptr error) {
    const std::lock_guard lock(mutex_);
    finished_ = true;
    error_ = std::move(error);
    cv_.notify_all();
  }
  /// Consumer: the next filled batch in order, or nullptr when the reader has finished.
  std::unique_ptr<capture::FrameBatch> take_filled() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return finished_ || !filled_.empty(); });
    if (filled_.empty()) return nullptr;
    auto b = std::move(filled_.front());
    filled_.pop_front();
    return b;
  }
  /// Consumer: gives an applied batch back for reuse.
  void recycle(std::unique_ptr<capture::FrameBatch> batch) {
    batch->clear();
    const std::lock_guard lock(mutex_);
    free_.push_back(std::move(batch));
    cv_.notify_all();
  }
  /// Consumer: stop the reader (the consumer failed); it exits at its next batch.
  void abandon() {
    const std::lock_guard lock(mutex_);
    abandoned_ = true;
    cv_.notify_all();
  }
  std::exception_ptr error() {
    const std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<capture::FrameBatch>> free_;
  std::deque<std::unique_ptr<capture::FrameBatch>> filled_;
  bool finished_ = false;
  bool abandoned_ = false;
  std::exception_ptr error_;
};

// The reader thread's side: decodes each packet into a batch and passes full batches on.
class DecodeSink final : public capture::PacketSink {
 public:
  explicit DecodeSink(Pipeline& pipeline) : pipeline_(pipeline), batch_(pipeline.take_free()) {}
  void on_packet(const capture::Packet& p) noexcept override {
    if (!batch_) return;  // abandoned: the rest of the file is skipped
    capture::decode_frame(p.link, p.data, p.wire_length, *facts_, counters_);
    try {
      if (batch_->append(*facts_, p.time)) return;
      pipeline_.publish(std::move(batch_));
      batch_ = pipeline_.take_free();
      if (batch_) batch_->append(*facts_, p.time);  // an empty batch always takes a frame
    } catch (...) {
      // Allocation failure: remembered and reported by the consumer; the reader stops.
      if (!failure_) failure_ = std::current_exception();
      batch_.reset();
    }
  }
  bool stopped() const noexcept { return !batch_; }
  /// Hands over the last, partly filled batch and tells the consumer that reading is over.
  void finish() {
    if (batch_ && !batch_->empty()) pipeline_.publish(std::move(batch_));
    pipeline_.finish(failure_);
  }
  const capture::DecodeCounters& counters() const noexcept { return counters_; }

 private:
  Pipeline& pipeline_;
  std::unique_ptr<capture::FrameBatch> batch_;
  std::unique_ptr<capture::FrameFacts> facts_ = std::make_unique<capture::FrameFacts>();
  capture::DecodeCounters counters_;
  std::exception_ptr failure_;
};

// The consumer's side: applies a batch's frames in order. The table's working set (20 k devices:
// a few MB) does not fit in cache, so each frame's index bucket and then device slot are
// prefetched while the frames before it are applied, instead of waiting for two cache misses in
// a row on every frame.
void apply_batch(const capture::FrameBatch& batch, capture::FrameFacts& facts,
                 capture::DeviceTable& table) noexcept {
  constexpr std::size_t kBucketAhead = 16;  // frames between the bucket's prefetch and the apply
  constexpr std::size_t kSlotAhead = 12;    // ... and the slot's, once its bucket has arrived
  const std::size_t n = batch.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kBucketAhead < n) {
      if (const auto* mac = batch.source(i + kBucketAhead)) table.prefetch(*mac, 0);
    }
    if (i + kSlotAhead < n) {
      if (const auto* mac = batch.source(i + kSlotAhead)) table.prefetch(*mac, 1);
    }
    const auto when = batch.load(i, facts);
    table.apply(facts, when);
  }
}

// The reader thread: every file in turn, in the order given.
void read_all(Pipeline& pipeline,
              const std::vector<std::unique_ptr<capture::PacketSource>>& sources,
              const std::vector<std::string>& files, std::vector<std::string>& errors,
              capture::DecodeCounters& counters) {
  DecodeSink sink(pipeline);
  for (std::size_t i = 0; i < sources.size() && !sink.stopped(); ++i) {
    for (;;) {
      std::size_t delivered = 0;
      const auto ec = sources[i]->dispatch(-1, sink, delivered);
      if (ec == capture::errc::end_of_file || sink.stopped()) break;
      if (ec) {
        // Like tcpdump: what was read is still reported, and the run fails.
        errors.push_back(files[i] + ": " + ec.message() + ": " + sources[i]->last_error());
        break;
      }
    }
  }
  counters = sink.counters();
  sink.finish();
}

// NDJSON of every device, sorted by MAC. Rendering is most of what is left to do after the last
// frame, so two threads render alternate chunks of devices, written in order: the output holds at
// most two chunks at a time, whatever the number of devices.
void write_json(std::ostream& out, const capture::DeviceTable& table) {
  constexpr std::size_t kChunk = 1024;  // devices: about half a megabyte of JSON
  const auto handles = table.sorted_handles();
  const std::span<const std::uint32_t> all(handles);
  const auto render = [&table](std::span<const std::uint32_t> part, std::string& buffer) {
    buffer.clear();
    table.for_each_of(part, [&buffer](const capture::DeviceRecord& d) {
      append_device_json(buffer, d);
      buffer.push_back('\n');
    });
  };
  std::string first_text;
  std::string second_text;
  for (std::size_t at = 0; at < all.size(); at += 2 * kChunk) {
    const auto first = all.subspan(at, std::min(kChunk, all.size() - at));
    const auto second =
        all.subspan(at + first.size(), std::min(kChunk, all.size() - at - first.size()));
    std::future<void> helper;
    if (!second.empty()) {
      helper = std::async(std::launch::async, [&] { render(second, second_text); });
    }
    render(first, first_text);
    out.write(first_text.data(), static_cast<std::streamsize>(first_text.size()));
    if (helper.valid()) {
      helper.get();
      out.write(second_text.data(), static_cast<std::streamsize>(second_text.size()));
    }
  }
}

void print_table(std::ostream& out, const capture::DeviceTable& table) {
  struct Row {
    std::array<std::string, 8> cells;
  };
  std::vector<Row> rows;
  rows.push_back({{"MAC", "VENDOR", "IPV4", "IPV6", "HOSTNAME", "VLANS", "PACKETS", "FLAGS"}});
  table.for_each_sorted([&](const capture::DeviceRecord& d) {
    Row r;
    r.cells[0] = d.mac.to_string();
    r.cells[1] = printable(d.vendor.substr(0, 24));
    const auto more = [](std::size_t n) { return n > 1 ? " +" + std::to_string(n - 1) : ""; };
    if (!d.ipv4.empty()) r.cells[2] = ipv4_text(d.ipv4.front().data()) + more(d.ipv4.size());
    if (!d.ipv6.empty()) r.cells[3] = ipv6_text(d.ipv6.front().data()) + more(d.ipv6.size());
    if (d.hostname_source) {
      r.cells[4] = printable(d.hostname.substr(0, 40)) + " (" +
                   std::string(capture::hostname_source_name(*d.hostname_source)) + ")";
    }
    for (const auto& v : d.vlans) {
      if (!r.cells[5].empty()) r.cells[5] += ',';
      for (std::size_t i = 0; i < v.depth; ++i) {
        if (i > 0) r.cells[5] += '.';
        r.cells[5] += std::to_string(v.ids[i]);
      }
    }
    r.cells[6] = std::to_string(d.packets);
    std::string flags;
    if (d.router) flags += "router ";
    if (d.multi_vlan) flags += "multi_vlan ";
    if (d.randomized) flags += "randomized ";
    if (!flags.empty()) flags.pop_back();
    r.cells[7] = flags;
    rows.push_back(std::move(r));
  });
  std::array<std::size_t, 8> width{};
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], r.cells[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < width.size(); ++i) {
      line += r.cells[i];
      if (i + 1 < width.size()) line.append(width[i] - r.cells[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

void print_counters(std::ostream& err, std::size_t files, const capture::DecodeCounters& c,
                    const capture::DeviceTable& table) {
  const auto& t = table.counters();
  err << "edgeid ingest: files=" << files << " frames=" << c.frames << " bytes=" << c.bytes
      << " devices=" << table.size() << " truncated=" << c.truncated << " ignored=" << c.ignored
      << " unsupported_link=" << c.unsupported_link << " facts_dropped=" << c.facts_dropped
      << " malformed=" << c.malformed_total();
  for (std::size_t i = 0; i < capture::kDecoderCount; ++i) {
    if (c.malformed[i] != 0) {
      err << " malformed." << capture::to_string(static_cast<capture::Decoder>(i)) << '='
          << c.malformed[i];
    }
  }
  err << " routers=" << t.routers_detected << " multi_vlan=" << t.multi_vlan_detected
      << " addresses_suppressed=" << t.addresses_suppressed
      << " addresses_replaced=" << t.addresses_replaced << " evicted=" << t.evicted << '\n';
}

}  // namespace

int run_ingest(const CommandArgs& a) {
  const IngestOptions o = parse(a.args);

  std::vector<std::unique_ptr<capture::PacketSource>> sources;
  for (const auto& file : o.files) {
    std::error_code ec;
    std::string detail;
    auto source = capture::open_offline(file, ec, detail);
    if (!source) {
      a.err << "edgeid ingest: " << file << ": " << ec.message()
            << (detail.empty() ? "" : ": " + detail) << '\n';
      return kExitRuntime;
    }
    sources.push_back(std::move(source));
  }

  Pipeline pipeline;
  std::vector<std::string> read_errors;  // written by the reader, read after join()
  capture::DecodeCounters counters;      // likewise
  std::thread reader([&]() noexcept {
    try {
      read_all(pipeline, sources, o.files, read_errors, counters);
    } catch (...) {
      pipeline.finish(std::current_exception());
    }
  });
  // Whatever happens here, the reader is released and joined before its captures go away.
  struct Join {
    Pipeline& pipeline;
    std::thread& reader;
    ~Join() {
      if (!reader.joinable()) return;
      pipeline.abandon();
      reader.join();
    }
  } join{pipeline, reader};

  // The table reads the vendor registry only when it renders records: it loads on a thread of
  // its own while the frames are applied.
  capture::OuiTable oui;
  std::vector<std::string> problems;
  std::exception_ptr oui_error;
  std::thread oui_loader([&]() noexcept {
    try {
      oui.load_directory(o.oui_dir, problems);
    } catch (...) {
      oui_error = std::current_exception();
    }
  });
  struct JoinLoader {
    std::thread& loader;
    ~JoinLoader() {
      if (loader.joinable()) loader.join();
    }
  } join_loader{oui_loader};

  capture::TableOptions table_options;
  table_options.track_changes = false;
  capture::DeviceTable table(table_options, &oui);
  auto facts = std::make_unique<capture::FrameFacts>();
  while (auto batch = pipeline.take_filled()) {
    apply_batch(*batch, *facts, table);
    pipeline.recycle(std::move(batch));
  }
  reader.join();
  oui_loader.join();
  if (auto error = pipeline.error()) std::rethrow_exception(error);
  if (oui_error) std::rethrow_exception(oui_error);
  for (const auto& p : problems) {
    a.err << "edgeid ingest: warning: vendor registry not loaded: " << p << '\n';
  }
  int status = kExitOk;
  for (const auto& e : read_errors) {
    a.err << "edgeid ingest: " << e << '\n';
    status = kExitRuntime;
  }

  if (o.json) {
    write_json(a.out, table);
  } else {
    print_table(a.out, table);
  }
  print_counters(a.err, o.files.size(), counters, table);
  return status;
}

}  // namespace edgeid::agent

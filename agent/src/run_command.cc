// `edgeid run [--config FILE] [--data-dir DIR] [--once]`. Without --once: the daemon (daemon.h).
// With --once: the agent's main job done once — read the configured capture files to their end,
// sync identities once, correlate, and write ONE store Batch (records, identities, outbox, meta).
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "agent/cli.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/merge.h"
#include "args.h"
#include "capture/decode.h"
#include "capture/device_table.h"
#include "capture/oui_table.h"
#include "capture/pcap_source.h"
#include "cloud/identity_source.h"
#include "commands.h"
#include "daemon.h"
#include "graph_stack.h"
#include "platform/log.h"
#include "platform/time.h"
#include "upstream_stack.h"

namespace edgeid::agent {

namespace {

struct RunOptions {
  std::string config;
  std::string data_dir;
  bool once = false;
};

RunOptions parse(std::span<const std::string_view> args) {
  RunOptions o;
  ArgReader r(args);
  while (!r.done()) {
    const auto a = r.next();
    if (a == "--config") {
      o.config = r.value_of(a);
    } else if (a == "--data-dir") {
      o.data_dir = r.value_of(a);
    } else if (a == "--once") {
      o.once = true;
    } else {
      ArgReader::unknown(a);
    }
  }
  return o;
}

// A startup or runtime failure reported by main in one line with exit code 1.
struct RunError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class TableSink final : public capture::PacketSink {
 public:
  explicit TableSink(capture::DeviceTable& table) : table_(table) {}
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

// Reads every configured capture file to its end into one table. Every file is opened first, so
// a bad path fails before anything is read.
std::vector<capture::DeviceRecord> read_captures(const Config& c, std::ostream& err,
                                                 std::uint64_t& frames) {
  std::vector<std::unique_ptr<capture::PacketSource>> sources;
  for (const auto& file : c.capture.pcap_files) {
    std::error_code ec;
    std::string detail;
    auto source = capture::open_offline(file, ec, detail);
    if (!source) {
      throw RunError(file + ": " + ec.message() + (detail.empty() ? "" : ": " + detail));
    }
    sources.push_back(std::move(source));
  }
  capture::OuiTable oui;
  std::vector<std::string> problems;
  oui.load_directory(c.capture.oui_dir, problems);
  for (const auto& p : problems) {
    err << "edgeid run: warning: vendor registry not loaded: " << p << '\n';
  }

  capture::TableOptions options;
  options.max_devices = static_cast<std::size_t>(c.capture.max_devices);
  options.track_changes = false;
  capture::DeviceTable table(options, &oui);
  TableSink sink(table);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    for (;;) {
      std::size_t delivered = 0;
      const auto ec = sources[i]->dispatch(-1, sink, delivered);
      if (ec == capture::errc::end_of_file) break;
      if (ec) {
        throw RunError(c.capture.pcap_files[i] + ": " + ec.message() + ": " +
                       sources[i]->last_error());
      }
    }
  }
  frames = sink.counters().frames;
  return table.snapshot();
}

std::vector<cloud::Identity> sync_graph(const GraphConfig& g) {
  platform::StderrSink sink;
  platform::Logger log(sink, "cloud", platform::LogLevel::warning);
  std::vector<cloud::Identity> identities;
  const auto outcome = sync_once(g, log, identities);
  if (outcome.ec) throw RunError("identity sync: " + outcome.detail);
  return identities;
}

std::vector<cloud::Identity> load_identities(const Config& c) {
  if (c.identity.source == "file") {
    cloud::SourceResult result;
    std::string detail;
    if (cloud::load_identity_file(c.identity.file.path, result, detail)) throw RunError(detail);
    return std::move(result.identities);
  }
  if (c.identity.source == "graph") return sync_graph(c.identity.graph);
  return {};
}

// Sends the outbox until it is empty, or stops at the first failure that would be retried (the
// items stay in the outbox for the next run). Returns false then, with the reason in @p detail.
bool push_once(const Config& c, store::Store& store, std::string& detail, UploaderStatus& status) {
  boost::asio::io_context io;
  platform::StderrSink sink;
  platform::Logger log(sink, "upstream", platform::LogLevel::warning);
  platform::SystemClock clock;
  UpstreamStack stack(io, c.upstream, c.sensor_id, store, clock, log);
  bool ok = false;
  stack.uploader().drain([&](bool all) {
    ok = all;
    status = stack.uploader().status();
    stack.close();
  });
  io.run();
  if (!ok) detail = status.last_error;
  return ok;
}

int run_once(const Config& c, std::ostream& err) {
  if (c.capture.pcap_files.empty()) {
    throw ConfigError("capture.pcap_files: run --once reads capture files; none are configured");
  }
  std::uint64_t frames = 0;
  const auto devices = read_captures(c, err, frames);
  const auto identities = load_identities(c);

  store::Store store;
  const auto max_map = static_cast<std::size_t>(c.store.max_map_mib) << 20;
  auto so = store_options(c.store.data_dir, false, max_map);
  so.outbox_max_items = static_cast<std::size_t>(c.store.outbox_max_items);
  so.first_seq = first_outbox_seq(platform::SystemClock().now());
  if (auto ec = store.open(so)) {
    throw RunError("store " + c.store.data_dir + ": " + ec.message());
  }
  MergeState state;
  std::string detail;
  if (auto ec = load_merge_state(store, state, detail)) throw RunError("store: " + detail);
  if (!detail.empty()) err << "edgeid run: warning: store: " << detail << '\n';

  MergeInput input;
  for (const auto& d : devices) input.observed.push_back(observed_record(d));
  input.identities.emplace();
  for (const auto& id : identities) input.identities->push_back(to_identity_record(id));
  platform::SystemClock clock;
  const auto now = clock.now();
  MergeOptions options{c.sensor_id, now};
  options.identity = [&store](const platform::Guid& key) {
    std::error_code ec;
    return store.identity(key, ec);
  };
  options.device = [&store](const platform::MacAddress& mac) {
    std::error_code ec;
    return store.device(mac, ec);
  };
  auto result = merge(state, std::move(input), options);
  result.batch.meta.emplace_back(kMetaSensorId, c.sensor_id);
  result.batch.meta.emplace_back(kMetaIdentitySource, c.identity.source);
  if (c.identity.source != "none") {
    result.batch.meta.emplace_back(kMetaLastIdentitySync, now.to_rfc3339());
  }
  store::BatchResult applied;
  if (auto ec = store.apply(result.batch, &applied)) {
    throw RunError("store " + c.store.data_dir + ": " + ec.message());
  }
  err << "edgeid run: frames=" << frames << " devices=" << devices.size()
      << " identities=" << identities.size() << " managed=" << result.managed
      << " unmanaged=" << result.unmanaged << " identity_only=" << result.identity_only
      << " changed=" << result.changed_records << " outbox=" << result.batch.outbox.size()
      << " data_dir=" << c.store.data_dir << '\n';
  if (c.upstream.sink != "none") {
    UploaderStatus pushed;
    const bool ok = push_once(c, store, detail, pushed);
    store::StoreStats st;
    const auto left = store.stats(st) ? 0 : st.outbox_items;
    err << "edgeid run: upstream=" << c.upstream.sink << " delivered=" << pushed.delivered_items
        << " batches=" << pushed.delivered_batches << " parked=" << pushed.parked_items
        << " left=" << left << '\n';
    if (!ok) throw RunError("upstream: " + detail + " (the outbox keeps the items)");
  }
  return kExitOk;
}

}  // namespace

int run_run(const CommandArgs& a) {
  const RunOptions o = parse(a.args);
  try {
    Config c = o.config.empty() ? default_config() : load_config(o.config);
    if (!o.data_dir.empty()) c.store.data_dir = o.data_dir;
    if (!o.once) return run_daemon(std::move(c), DaemonOptions{o.config}, a.err);
    return run_once(c, a.err);
  } catch (const ConfigError& e) {
    a.err << "edgeid run: " << e.what() << '\n';
    return kExitUsage;
  } catch (const RunError& e) {
    a.err << "edgeid run: " << e.what() << '\n';
    return kExitRuntime;
  }
}

}  // namespace edgeid::agent

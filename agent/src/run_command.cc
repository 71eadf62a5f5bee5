// `edgeid run [--config FILE] [--data-dir DIR] --once`: the agent's main job done once — read the
// configured capture files to their end, sync identities once, correlate, and write ONE store
// Batch (records, identities, outbox, meta). The long-running daemon (schedules, signals, control
// socket) is the next step; without --once this command says so.
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
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
#include "cloud/graph_client.h"
#include "cloud/identity_source.h"
#include "cloud/oauth.h"
#include "cloud/url.h"
#include "commands.h"
#include "platform/log.h"
#include "platform/time.h"

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
  platform::Secret secret;
  std::string detail;
  std::optional<cloud::ClientCertificate> certificate;
  if (!g.client_secret_file.empty()) {
    if (cloud::read_secret_file(g.client_secret_file, secret, detail)) throw ConfigError(detail);
  } else {
    cloud::ClientCertificate cert;
    std::ifstream in(g.certificate_file);
    if (!in) {
      throw ConfigError("identity.graph.certificate_file: cannot read " + g.certificate_file);
    }
    std::ostringstream pem;
    pem << in.rdbuf();
    cert.certificate_pem = pem.str();
    if (cloud::read_secret_file(g.certificate_key_file, cert.key_pem, detail)) {
      throw ConfigError(detail);
    }
    certificate = std::move(cert);
  }
  boost::asio::io_context io;
  cloud::TlsOptions tls_options;
  if (!g.ca_file.empty()) tls_options.ca_file = g.ca_file;
  std::error_code ec;
  auto tls = cloud::TlsContext::create(tls_options, ec);
  if (!tls) throw ConfigError("identity.graph.ca_file: " + ec.message());
  platform::StderrSink sink;
  platform::Logger log(sink, "cloud", platform::LogLevel::warning);
  platform::SystemClock clock;
  cloud::HttpClientOptions http_options;
  if (!g.proxy.empty()) {
    const auto url = cloud::Url::parse(g.proxy);
    if (!url) throw ConfigError("identity.graph.proxy: expected a URL such as http://proxy:3128");
    cloud::ProxyOptions proxy;
    proxy.url = *url;
    http_options.proxy = std::move(proxy);
  }
  cloud::HttpClient http(io, tls, std::move(http_options));
  cloud::OAuthOptions oauth;
  oauth.authority_url = g.authority_url;
  oauth.graph_url = g.graph_url;
  oauth.tenant = g.tenant_id;
  oauth.client_id = g.client_id;
  oauth.client_secret = std::move(secret);
  oauth.certificate = std::move(certificate);
  cloud::TokenProvider tokens(http, clock, log.child("oauth"), std::move(oauth));
  cloud::AsioScheduler scheduler(io);
  cloud::MemorySyncStateStore state;
  cloud::GraphOptions options;
  options.graph_url = g.graph_url;
  cloud::GraphClient graph(http, tokens, scheduler, clock, state, log.child("graph"), options);
  std::optional<cloud::SyncOutcome> outcome;
  graph.async_sync_all([&](cloud::SyncOutcome o) { outcome = std::move(o); });
  while (!outcome && io.run_one() > 0) {
  }
  http.close();
  io.run();
  if (!outcome || outcome->ec) {
    throw RunError("identity sync: " + (outcome ? outcome->detail : "did not finish"));
  }
  return graph.identities();
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

int run_once(const Config& c, std::ostream& err) {
  if (c.capture.pcap_files.empty()) {
    throw ConfigError("capture.pcap_files: run --once reads capture files; none are configured");
  }
  std::uint64_t frames = 0;
  const auto devices = read_captures(c, err, frames);
  const auto identities = load_identities(c);

  store::Store store;
  const auto max_map = static_cast<std::size_t>(c.store.max_map_mib) << 20;
  if (auto ec = store.open(store_options(c.store.data_dir, false, max_map))) {
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
  auto result = merge(state, std::move(input), MergeOptions{c.sensor_id, now});
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
  return kExitOk;
}

}  // namespace

int run_run(const CommandArgs& a) {
  const RunOptions o = parse(a.args);
  try {
    Config c = o.config.empty() ? default_config() : load_config(o.config);
    if (!o.data_dir.empty()) c.store.data_dir = o.data_dir;
    if (!o.once) {
      throw UsageError("only --once is implemented so far (the long-running daemon is not)");
    }
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

#include "daemon.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "agent/inventory.h"
#include "agent/merge.h"
#include "agent/record_json.h"
#include "agent/version.h"
#include "capture_worker.h"
#include "cloud/identity_source.h"
#include "control_context.h"
#include "control_server.h"
#include "device_json.h"
#include "graph_stack.h"
#include "platform/error.h"
#include "platform/log.h"
#include "platform/privileges.h"
#include "platform/scheduling.h"
#include "platform/sd_notify.h"
#include "platform/signals.h"
#include "platform/users.h"
#include "sync_state.h"
#include "upstream_stack.h"

namespace edgeid::agent {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using platform::kv;
using platform::MacAddress;
using platform::Timestamp;

struct StartError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The agent thread's nice value above the capture threads': CFS then gives a capture thread
// about nine times the agent thread's share of a contended core (weights 1024 : 110), and the
// agent thread still progresses under a saturating capture load. +5 (1024 : 335) still let a
// flush overflow a 4 MiB ring at ~350 k frames/s in half of the live bench's runs.
constexpr int kAgentNiceIncrement = 10;

std::chrono::seconds seconds(std::int64_t s) {
  return std::chrono::seconds(s);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What one identity sync (Intune or Entra, or a file reload) last did.
struct SyncStatus {
  std::optional<Timestamp> last_attempt;
  std::optional<Timestamp> last_success;
  std::optional<Timestamp> next;
  bool ok = false;
  bool running = false;  ///< an attempt is in flight
  std::string detail;
  std::size_t failures = 0;
};

class Daemon final : public ControlContext {
 public:
  Daemon(Config config, DaemonOptions options, const platform::Logger& log)
      : config_(std::move(config)), options_(std::move(options)), log_(log) {}

  int run();

  // ControlContext
  json::object status() override;
  json::object devices(const DeviceQuery& query) override;
  std::optional<json::object> device(const std::string& key) override;
  std::error_code sync_now(std::string& detail) override;
  std::error_code flush_now(std::string& detail) override;
  std::error_code upstream_retry(std::string& detail) override;
  std::string metrics() override;
  json::object config_redacted() override;

 private:
  void start();
  void arm_signals();
  void on_signal(int signo);
  void reload();
  void shutdown();
  void schedule(asio::steady_timer& timer, std::chrono::seconds after, void (Daemon::*fn)());
  void on_flush_timer();
  void on_store_sync_timer();
  void on_retention_timer();
  void on_watchdog_timer();
  void on_intune_timer();
  void on_entra_timer();
  void run_due_syncs();
  void sync_done(bool intune, const cloud::SyncOutcome& outcome);
  void publish_identities();
  void load_identity_file();
  void make_identity_source();
  // Merges what capture and the identity side produced and commits it. everything: also the
  // devices whose only change is activity (shutdown, `flush`).
  std::error_code flush(bool everything, std::string& detail);
  void apply_retention();
  // Trims malloc's arenas and unmaps the store pages read so far (after large rounds and
  // scans of the store).
  void release_memory();
  void release_store_pages();
  bool commit(store::Batch batch, std::string& detail);
  void notify_status();
  json::value record_value(const store::DeviceRecord& d);
  json::value identity_only_value(const platform::Guid& key, std::uint64_t version);
  // The full record of an identity the merge state holds in summary: from a batch still
  // waiting to be written (the newest first), else from the store.
  std::optional<store::IdentityRecord> stored_identity(const platform::Guid& key);
  // The current record of a device of the merge state: its observed part from a batch still
  // waiting to be written (the newest first), else from the store, else what the summary has;
  // its merge fields and version from the merge state.
  store::DeviceRecord stored_device(const MacAddress& mac, const DeviceSummary& summary);
  // stored_device() of every device of the merge state, in MAC order, in one scan of the store.
  void for_each_stored_device(const std::function<void(const store::DeviceRecord&)>& fn);
  // The intune keys of the stored identities whose UPN, serial number or device name is @p key.
  std::vector<platform::Guid> identities_named(const std::string& key);

  Config config_;
  DaemonOptions options_;
  platform::Logger log_;
  platform::SystemClock clock_;
  Timestamp started_;
  asio::io_context io_;

  platform::SignalSet signals_;
  std::unique_ptr<asio::posix::stream_descriptor> signal_fd_;

  store::Store store_;
  MergeState state_;
  std::unique_ptr<StoreSyncState> sync_state_;
  std::unique_ptr<CaptureWorker> capture_;
  std::unique_ptr<GraphStack> graph_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<UpstreamStack> upstream_;

  // Observations not yet merged: activity-only changes wait up to activity_interval_s.
  struct Deferred {
    std::uint32_t changes = 0;
    platform::Clock::MonotonicTime since{};  ///< when it was first deferred
    store::DeviceRecord record;
  };
  std::unordered_map<MacAddress, Deferred> deferred_;
  std::optional<std::vector<store::IdentityRecord>> pending_identities_;
  // Batches the store refused (full disk, I/O error): retried, in order, before anything new is
  // merged, so nothing is lost and memory stays bounded (capture keeps one entry per MAC).
  std::deque<store::Batch> unwritten_;

  asio::steady_timer flush_timer_{io_};
  asio::steady_timer store_sync_timer_{io_};
  asio::steady_timer retention_timer_{io_};
  asio::steady_timer watchdog_timer_{io_};
  asio::steady_timer intune_timer_{io_};
  asio::steady_timer entra_timer_{io_};
  std::chrono::microseconds watchdog_interval_{0};

  bool sync_running_ = false;
  bool intune_due_ = false;
  bool entra_due_ = false;
  SyncStatus intune_status_;
  SyncStatus entra_status_;
  cloud::SyncReport last_intune_report_;
  std::filesystem::file_time_type identity_file_mtime_{};
  std::size_t identity_count_ = 0;

  std::uint64_t flushes_ = 0;
  std::uint64_t flush_errors_ = 0;
  std::uint64_t records_written_ = 0;
  std::uint64_t retention_removed_ = 0;
  std::uint64_t reloads_ = 0;
  std::uint64_t reload_failures_ = 0;
  std::string last_flush_error_;
  std::optional<Timestamp> last_flush_;
  bool stopping_ = false;
};

// ---------------------------------------------------------------------------------------------
// Start-up and shutdown

int Daemon::run() {
  started_ = clock_.now();
  start();
  log_.info("started", kv("version", std::string(kVersion)), kv("sensor_id", config_.sensor_id),
            kv("data_dir", config_.store.data_dir));
  platform::sd_notify("READY=1\nSTATUS=running");
  io_.run();
  return 0;
}

void Daemon::start() {
  // Two malloc arenas instead of 8 per core: the capture thread allocates what the agent thread
  // frees, and per-thread arenas would keep both peaks resident.
  ::mallopt(M_ARENA_MAX, 2);
  // A fixed threshold: glibc's default one slides up to 32 MiB after the first large free, after
  // which a round's big arrays come from the arenas and their pages stay resident.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // Before any thread exists, so that every thread inherits the blocked mask.
  if (auto ec = signals_.open()) throw StartError("signals: " + ec.message());

  const auto max_map = static_cast<std::size_t>(config_.store.max_map_mib) << 20;
  auto so = store_options(config_.store.data_dir, false, max_map);
  so.outbox_max_items = static_cast<std::size_t>(config_.store.outbox_max_items);
  so.first_seq = first_outbox_seq(clock_.now());
  so.environment.no_sync = config_.store.durability == "periodic";
  if (auto ec = store_.open(so)) {
    throw StartError("store " + config_.store.data_dir + ": " + ec.message());
  }
  std::string detail;
  if (auto ec = load_merge_state(store_, state_, detail)) throw StartError("store: " + detail);
  if (!detail.empty()) log_.warning("store.warning", kv("detail", detail));
  release_memory();  // loading read every stored record
  identity_count_ = state_.identities.size();
  sync_state_ = std::make_unique<StoreSyncState>(store_, log_.child("sync"));

  std::vector<std::string> interfaces = config_.capture.interfaces;
  if (config_.capture.all_interfaces) interfaces = up_interfaces();
  if (interfaces.empty() && config_.capture.pcap_files.empty()) {
    log_.warning("capture.none", kv("detail", "no interface and no capture file: identities only"));
  }
  capture_ =
      std::make_unique<CaptureWorker>(config_.capture, interfaces, clock_, log_.child("capture"));
  try {
    capture_->open();
  } catch (const std::runtime_error& e) {
    throw StartError(std::string("capture: ") + e.what());
  }

  make_identity_source();  // reads credentials: before privileges go
  if (config_.upstream.sink != "none") {
    upstream_ = std::make_unique<UpstreamStack>(io_, config_.upstream, config_.sensor_id, store_,
                                                clock_, log_.child("upstream"));
  }

  ControlServerOptions co;
  co.socket_path = config_.control.socket;
  co.group = config_.control.group;
  co.admin_group = config_.control.admin_group;
  if (::geteuid() != 0) {
    // Unprivileged (systemd's User=edgeid with ambient CAP_NET_RAW, a test, a developer): the
    // socket may only be given to a group this process is in, and a group that does not exist
    // here is simply not used (the socket then stays with the process's own group, and only
    // root may run mutating commands).
    gid_t gid = 0;
    if (platform::lookup_group(co.group, gid) ||
        !platform::is_member(::geteuid(), ::getegid(), gid)) {
      co.group.clear();
    }
    if (platform::lookup_group(co.admin_group, gid)) co.admin_group.clear();
  }
  control_ = std::make_unique<ControlServer>(io_, *this, co, log_.child("control"));
  if (auto ec = control_->start()) {
    std::string why = ec.message();
    if (ec == platform::errc::not_found) {
      why = "group \"" + co.group + "\" or \"" + co.admin_group +
            "\" does not exist (create it, or set control.group and control.admin_group)";
    }
    throw StartError("control socket " + config_.control.socket + ": " + why);
  }

  if (::geteuid() == 0) {
    if (auto ec = platform::drop_privileges(config_.user)) {
      throw StartError("dropping privileges to user " + config_.user + ": " + ec.message());
    }
    log_.info("privileges.dropped", kv("user", config_.user));
  } else if (auto ec = platform::drop_capabilities()) {
    throw StartError("dropping capabilities: " + ec.message());
  }

  capture_->start();
  // From here on this thread (flushes, syncs, upstream, control) yields to the capture threads
  // started just above: a flush that takes a core for 50 ms must not overflow a capture ring.
  if (auto ec = platform::lower_thread_priority(kAgentNiceIncrement)) {
    log_.warning("priority.unchanged", kv("error", ec.message()));
  }
  arm_signals();

  if (const char* usec = std::getenv("WATCHDOG_USEC")) {
    const char* pid = std::getenv("WATCHDOG_PID");
    char* end = nullptr;
    const long long value = std::strtoll(usec, &end, 10);
    const bool for_us =
        pid == nullptr || std::strtoll(pid, nullptr, 10) == static_cast<long long>(::getpid());
    if (*end == '\0' && value > 0 && for_us) {
      watchdog_interval_ = std::chrono::microseconds(value / 2);
      on_watchdog_timer();
    }
  }
  schedule(flush_timer_, seconds(config_.store.flush_interval_s), &Daemon::on_flush_timer);
  if (config_.store.durability == "periodic") {
    schedule(store_sync_timer_, seconds(config_.store.sync_interval_s),
             &Daemon::on_store_sync_timer);
  }
  if (config_.store.retention_days > 0) {
    retention_timer_.expires_after(std::chrono::seconds(0));
    retention_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) on_retention_timer();
    });
  }
  intune_due_ = entra_due_ = config_.identity.source != "none";
  asio::post(io_, [this] { run_due_syncs(); });
  if (upstream_) upstream_->uploader().kick();  // what an earlier run left in the outbox
}

void Daemon::make_identity_source() {
  graph_.reset();
  if (config_.identity.source == "graph") {
    graph_ = std::make_unique<GraphStack>(io_, config_.identity.graph, clock_, *sync_state_,
                                          log_.child("cloud"));
  }
}

void Daemon::arm_signals() {
  if (!signal_fd_) {
    const int fd = ::dup(signals_.fd());
    if (fd < 0) throw StartError("signals: dup failed");
    signal_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  }
  signal_fd_->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this](boost::system::error_code ec) {
                           if (ec) return;
                           int signo = 0;
                           while (!signals_.read(signo) && signo != 0) on_signal(signo);
                           if (!stopping_) arm_signals();
                         });
}

void Daemon::on_signal(int signo) {
  if (signo == SIGHUP) {
    reload();
    return;
  }
  if (stopping_) return;
  log_.info("stopping", kv("signal", signo == SIGINT ? "SIGINT" : "SIGTERM"));
  shutdown();
}

void Daemon::shutdown() {
  stopping_ = true;
  platform::sd_notify("STOPPING=1");
  capture_->stop();  // joins within one poll timeout, then publishes the rest
  std::string detail;
  if (auto ec = flush(true, detail)) log_.error("flush.final_failed", kv("detail", detail));
  if (config_.store.durability == "periodic") {
    if (auto ec = store_.sync()) log_.error("store.sync_failed", kv("error", ec.message()));
  }
  control_->stop();
  if (graph_) graph_->close();
  // A batch in flight is not acknowledged: it goes again after the restart.
  if (upstream_) upstream_->close();
  for (auto* t : {&flush_timer_, &store_sync_timer_, &retention_timer_, &watchdog_timer_,
                  &intune_timer_, &entra_timer_}) {
    t->cancel();
  }
  if (signal_fd_) signal_fd_->close();
  io_.stop();
  log_.info("stopped", kv("unwritten_batches", unwritten_.size()));
}

// SIGHUP: a new configuration is applied section by section; what needs the privileges the
// agent no longer has (capture handles, control socket, store location, user) is kept and
// named in the log. A configuration that does not load is rejected and the old one stays.
void Daemon::reload() {
  ++reloads_;
  if (options_.config_file.empty()) {
    log_.info("reload.skipped", kv("detail", "running on the embedded default"));
    return;
  }
  platform::sd_notify("RELOADING=1");
  Config next;
  try {
    next = load_config(options_.config_file);
  } catch (const ConfigError& e) {
    ++reload_failures_;
    log_.error("reload.rejected", kv("error", e.what()));
    platform::sd_notify("READY=1");
    return;
  }
  // Sections compared in their JSON form (config_to_json is the one rendering of a Config).
  const auto now_json = json::parse(config_to_json(config_)).as_object();
  const auto next_json = json::parse(config_to_json(next)).as_object();
  const auto differs = [&](std::string_view section) {
    return now_json.at(section) != next_json.at(section);
  };
  const auto store_differs = [&](std::string_view key) {
    return now_json.at("store").as_object().at(key) != next_json.at("store").as_object().at(key);
  };
  std::vector<std::string> kept;
  for (const char* section : {"capture", "control", "user", "upstream"}) {
    if (differs(section)) kept.emplace_back(section);
  }
  for (const char* key : {"data_dir", "max_map_mib", "durability", "outbox_max_items"}) {
    if (store_differs(key)) kept.push_back(std::string("store.") + key);
  }
  // The sensor id is in every record and in the upstream's framing and keys: both change
  // together, at a restart, or a collector would see one sensor under two names.
  if (next.sensor_id != config_.sensor_id) kept.emplace_back("sensor_id");
  const bool identity_changed = differs("identity");
  if (identity_changed) {
    // Build the new source first: if its credentials cannot be read, nothing changes.
    std::unique_ptr<GraphStack> stack;
    try {
      if (next.identity.source == "graph") {
        stack = std::make_unique<GraphStack>(io_, next.identity.graph, clock_, *sync_state_,
                                             log_.child("cloud"));
      }
    } catch (const ConfigError& e) {
      ++reload_failures_;
      log_.error("reload.rejected", kv("error", e.what()));
      platform::sd_notify("READY=1");
      return;
    }
    if (graph_) graph_->close();
    graph_ = std::move(stack);
    sync_running_ = false;  // the old client's callbacks are dropped with it
    config_.identity = next.identity;
    intune_timer_.cancel();
    entra_timer_.cancel();
    intune_status_ = {};
    entra_status_ = {};
    identity_file_mtime_ = {};
    intune_due_ = entra_due_ = config_.identity.source != "none";
    if (config_.identity.source == "none") pending_identities_.emplace();  // forget them
    asio::post(io_, [this] { run_due_syncs(); });
  } else if (config_.identity.source == "file") {
    // The same file, perhaps new content: a reload is how an operator says "read it now".
    intune_due_ = true;
    asio::post(io_, [this] { run_due_syncs(); });
  }
  const bool flush_changed = config_.store.flush_interval_s != next.store.flush_interval_s;
  config_.store.flush_interval_s = next.store.flush_interval_s;
  config_.store.activity_interval_s = next.store.activity_interval_s;
  config_.store.retention_days = next.store.retention_days;
  config_.store.sync_interval_s = next.store.sync_interval_s;
  if (flush_changed) {
    schedule(flush_timer_, seconds(config_.store.flush_interval_s), &Daemon::on_flush_timer);
  }
  std::string kept_text;
  for (const auto& k : kept) kept_text += (kept_text.empty() ? "" : ", ") + k;
  log_.info("reloaded", kv("identity_changed", identity_changed),
            kv("needs_restart", kept_text.empty() ? std::string("nothing") : kept_text));
  platform::sd_notify("READY=1");
}

// ---------------------------------------------------------------------------------------------
// Timers

void Daemon::schedule(asio::steady_timer& timer, std::chrono::seconds after, void (Daemon::*fn)()) {
  timer.expires_after(after);
  timer.async_wait([this, fn](boost::system::error_code ec) {
    if (!ec && !stopping_) (this->*fn)();
  });
}

void Daemon::on_flush_timer() {
  std::string detail;
  flush(false, detail);
  schedule(flush_timer_, seconds(config_.store.flush_interval_s), &Daemon::on_flush_timer);
}

void Daemon::on_store_sync_timer() {
  if (auto ec = store_.sync()) log_.error("store.sync_failed", kv("error", ec.message()));
  schedule(store_sync_timer_, seconds(config_.store.sync_interval_s), &Daemon::on_store_sync_timer);
}

void Daemon::on_retention_timer() {
  apply_retention();
  schedule(retention_timer_, std::chrono::hours(1), &Daemon::on_retention_timer);
}

void Daemon::on_watchdog_timer() {
  platform::sd_notify("WATCHDOG=1");
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopping_) on_watchdog_timer();
  });
}

void Daemon::on_intune_timer() {
  intune_due_ = true;
  run_due_syncs();
}

void Daemon::on_entra_timer() {
  entra_due_ = true;
  run_due_syncs();
}

// ---------------------------------------------------------------------------------------------
// Identity syncs: one at a time (the Graph client's rule); Intune first when both are due.

void Daemon::run_due_syncs() {
  if (sync_running_ || stopping_) return;
  if (config_.identity.source == "file") {
    if (intune_due_ || entra_due_) {
      intune_due_ = entra_due_ = false;
      load_identity_file();
      intune_status_.next = clock_.now() + seconds(config_.identity.graph.intune_interval_s);
      schedule(intune_timer_, seconds(config_.identity.graph.intune_interval_s),
               &Daemon::on_intune_timer);
    }
    return;
  }
  if (!graph_) return;
  const bool intune = intune_due_;
  if (!intune && !entra_due_) return;
  (intune ? intune_due_ : entra_due_) = false;
  sync_running_ = true;
  auto& status = intune ? intune_status_ : entra_status_;
  status.last_attempt = clock_.now();
  status.running = true;
  status.next.reset();
  auto done = [this, intune](const cloud::SyncOutcome& o) { sync_done(intune, o); };
  if (intune) {
    graph_->graph().async_sync_intune(std::move(done));
  } else {
    graph_->graph().async_sync_entra(std::move(done));
  }
}

void Daemon::sync_done(bool intune, const cloud::SyncOutcome& outcome) {
  sync_running_ = false;
  auto& status = intune ? intune_status_ : entra_status_;
  status.running = false;
  const char* what = intune ? "intune" : "entra";
  std::chrono::seconds next(intune ? config_.identity.graph.intune_interval_s
                                   : config_.identity.graph.entra_interval_s);
  if (outcome.ec) {
    status.ok = false;
    status.detail = outcome.detail;
    ++status.failures;
    // Sooner than the interval, but not hammering: a minute, or the interval if shorter.
    next = std::min(next, std::chrono::seconds(60));
    log_.error("sync.failed", kv("source", what), kv("detail", outcome.detail));
    publish_identities();  // the other side may have been waiting for this one to settle
  } else {
    status.ok = true;
    status.detail.clear();
    status.last_success = clock_.now();
    if (intune) last_intune_report_ = outcome.report;
    publish_identities();
    log_.info("sync.done", kv("source", what), kv("intune_devices", outcome.report.intune_devices),
              kv("entra_devices", outcome.report.entra_devices),
              kv("requests", outcome.report.requests), kv("retries", outcome.report.retries));
    std::string detail;
    flush(false, detail);
  }
  status.next = clock_.now() + next;
  schedule(intune ? intune_timer_ : entra_timer_, next,
           intune ? &Daemon::on_intune_timer : &Daemon::on_entra_timer);
  run_due_syncs();
}

// The joined identity set goes to the merge only once both Intune and Entra have been tried
// since start-up: after a restart the Graph client holds no Entra set until its first (full)
// Entra round, and merging the Intune-only join in between would flap every Entra-joined
// record (trust type gone, then back) and unmatch devices known only to Entra. A side that
// failed counts as tried, so a tenant without Entra permission still gets its Intune devices.
// Intune must have succeeded, or the stored identities stay in force.
void Daemon::publish_identities() {
  // Without one good Intune round since start-up the client's Intune list is empty: the
  // stored identities stay in force instead.
  if (!intune_status_.last_success) return;
  if (!entra_status_.last_success && entra_status_.failures == 0) return;
  std::vector<store::IdentityRecord> records;
  const auto identities = graph_->graph().identities();
  records.reserve(identities.size());
  for (const auto& id : identities) records.push_back(to_identity_record(id));
  identity_count_ = records.size();
  pending_identities_ = std::move(records);
}

void Daemon::load_identity_file() {
  const auto& path = config_.identity.file.path;
  intune_status_.last_attempt = clock_.now();
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path, ec);
  if (!ec && intune_status_.ok && mtime == identity_file_mtime_) return;  // unchanged
  std::vector<store::IdentityRecord> records;
  std::string detail;
  {
    // The parsed file is freed before the merge round starts.
    cloud::SourceResult result;
    if (auto e = cloud::load_identity_file(path, result, detail)) {
      intune_status_.ok = false;
      intune_status_.detail = detail;
      ++intune_status_.failures;
      log_.error("sync.file_failed", kv("detail", detail));
      return;
    }
    records.reserve(result.identities.size());
    for (const auto& id : result.identities) records.push_back(to_identity_record(id));
  }
  identity_file_mtime_ = mtime;
  intune_status_.ok = true;
  intune_status_.detail.clear();
  intune_status_.last_success = clock_.now();
  identity_count_ = records.size();
  pending_identities_ = std::move(records);
  log_.info("sync.file_loaded", kv("identities", identity_count_));
  flush(false, detail);
}

// ---------------------------------------------------------------------------------------------
// Flushes

// A very large round (start-up, a full identity sync) is written as several transactions:
// LMDB keeps every page a write transaction dirtied in a pool it never returns, so one 100 k
// record transaction would pin its whole size in memory for the life of the process. The
// split keeps what matters: outbox items go before the records they describe (a crash in
// between re-sends a version, it never loses one; the upstream collapses duplicates) and the
// sync state (deltaLink, caches) goes last, after everything it acknowledges.
constexpr std::size_t kMaxBatchItems = 2000;

std::deque<store::Batch> split_batch(store::Batch batch, std::size_t max_items) {
  std::deque<store::Batch> parts;
  const auto chunks = [&](auto& items, auto member) {
    for (std::size_t i = 0; i < items.size(); i += max_items) {
      store::Batch part;
      auto& out = part.*member;
      const auto end = std::min(items.size(), i + max_items);
      out.assign(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(i)),
                 std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(end)));
      parts.push_back(std::move(part));
    }
    std::remove_reference_t<decltype(items)>().swap(items);  // its elements live in the parts
  };
  chunks(batch.outbox, &store::Batch::outbox);
  chunks(batch.identities, &store::Batch::identities);
  chunks(batch.removed_identities, &store::Batch::removed_identities);
  chunks(batch.devices, &store::Batch::devices);
  chunks(batch.removed_devices, &store::Batch::removed_devices);
  store::Batch last;
  last.meta = std::move(batch.meta);
  last.cache = std::move(batch.cache);
  if (!last.empty()) parts.push_back(std::move(last));
  return parts;
}

bool Daemon::commit(store::Batch batch, std::string& detail) {
  if (batch.devices.size() + batch.identities.size() + batch.outbox.size() > 2 * kMaxBatchItems) {
    auto parts = split_batch(std::move(batch), kMaxBatchItems);
    while (!parts.empty()) {
      store::Batch part = std::move(parts.front());
      parts.pop_front();
      if (!commit(std::move(part), detail)) {
        for (auto& rest : parts) unwritten_.push_back(std::move(rest));
        return false;
      }
    }
    return true;
  }
  const std::size_t records = batch.devices.size();
  const bool for_upstream = !batch.outbox.empty();
  if (auto ec = store_.apply(batch)) {
    ++flush_errors_;
    detail = "store: " + ec.message();
    if (last_flush_error_ != detail) log_.error("flush.failed", kv("error", detail));
    last_flush_error_ = detail;
    unwritten_.push_back(std::move(batch));
    return false;
  }
  records_written_ += records;
  last_flush_error_.clear();
  if (for_upstream && upstream_) upstream_->uploader().kick();
  return true;
}

std::error_code Daemon::flush(bool everything, std::string& detail) {
  while (!unwritten_.empty()) {
    store::Batch batch = std::move(unwritten_.front());
    unwritten_.pop_front();
    if (!commit(std::move(batch), detail)) {
      // commit() queued it again at the back: restore the order.
      unwritten_.push_front(std::move(unwritten_.back()));
      unwritten_.pop_back();
      return std::make_error_code(std::errc::io_error);
    }
  }
  const auto now_mono = clock_.monotonic();
  {
    // The hand-over (full capture records) is freed before the round grows.
    CaptureWorker::PendingMap taken;
    capture_->take(taken);
    for (auto& [mac, p] : taken) {
      // An eviction alone observed nothing: the record as merged stands.
      if ((p.changes & ~capture::change_evicted) == 0) continue;
      auto [slot, inserted] = deferred_.try_emplace(mac);
      store::DeviceRecord observed = observed_record(p.record);
      // The observation carries only the groups that changed; the rest of what was deferred
      // before for this MAC still holds.
      if (!inserted) complete_observed(observed, p.changes, slot->second.record);
      if (inserted) slot->second.since = now_mono;
      slot->second.changes |= p.changes;
      slot->second.record = std::move(observed);
    }
  }
  MergeInput input;
  constexpr std::uint32_t kActivityOnly = capture::change_activity | capture::change_evicted;
  // Wall time, not packet time: a replayed capture's clock stops when the file ends.
  const auto interval = std::chrono::seconds(config_.store.activity_interval_s);
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    const bool due = everything || (it->second.changes & ~kActivityOnly) != 0 ||
                     !state_.devices.contains(it->first) || now_mono - it->second.since >= interval;
    if (due) {
      // Groups no observation since the last round carried are as the merge state has them.
      if (const auto known = state_.devices.find(it->first); known != state_.devices.end()) {
        complete_observed(it->second.record, it->second.changes,
                          stored_device(it->first, known->second));
      }
      input.observed.push_back(std::move(it->second.record));
      it = deferred_.erase(it);
    } else {
      ++it;
    }
  }
  input.identities = std::move(pending_identities_);
  pending_identities_.reset();
  const bool identities = input.identities.has_value();
  if (input.observed.empty() && !identities && sync_state_->pending() == 0) {
    detail = "nothing to write";
    last_flush_ = clock_.now();
    return {};
  }
  const auto now = clock_.now();
  const std::size_t observed = input.observed.size();
  // A large round is committed in parts as the merge produces them (MergeOptions::spill), so
  // it never holds all its records and payloads at once. Once a part failed, the later ones
  // queue behind it: parts are applied in order or not at all.
  bool spill_failed = false;
  std::size_t spilled_items = 0;
  std::size_t spilled_outbox = 0;
  MergeOptions options{config_.sensor_id, now};
  options.spill_items = kMaxBatchItems;
  options.spill = [&](store::Batch&& part) {
    spilled_items += part.devices.size() + part.identities.size() + part.outbox.size();
    spilled_outbox += part.outbox.size();
    if (spill_failed) {
      unwritten_.push_back(std::move(part));
      return;
    }
    // commit() keeps a part it could not write in unwritten_.
    if (!commit(std::move(part), detail)) spill_failed = true;
  };
  options.identity = [this](const platform::Guid& key) { return stored_identity(key); };
  options.device = [this](const MacAddress& mac) -> std::optional<store::DeviceRecord> {
    const auto it = state_.devices.find(mac);
    if (it == state_.devices.end()) return std::nullopt;
    return stored_device(mac, it->second);
  };
  auto result = merge_into(state_, std::move(input), options);
  if (result.identity_misses > 0 || result.device_misses > 0) {
    log_.warning("merge.record_missing", kv("identities", result.identity_misses),
                 kv("devices", result.device_misses),
                 kv("detail", "written with what the merge state holds"));
  }
  sync_state_->take_pending(result.batch);
  if (identities) {
    result.batch.meta.emplace_back(kMetaLastIdentitySync, now.to_rfc3339());
    result.batch.meta.emplace_back(kMetaIdentitySource, config_.identity.source);
  }
  if (flushes_ == 0) result.batch.meta.emplace_back(kMetaSensorId, config_.sensor_id);
  ++flushes_;
  last_flush_ = now;
  const std::size_t outbox = spilled_outbox + result.batch.outbox.size();
  const std::size_t items = spilled_items + result.batch.devices.size() +
                            result.batch.identities.size() + result.batch.outbox.size();
  const bool big = identities || items > 1000;
  if (spill_failed) {
    unwritten_.push_back(std::move(result.batch));
    return std::make_error_code(std::errc::io_error);
  }
  if (!commit(std::move(result.batch), detail)) return std::make_error_code(std::errc::io_error);
  // Every round reads and writes store pages through the map: unmap them (the resident size
  // is what an appliance sees). A large round (start-up, a sync) also frees most of what it
  // allocated: trim malloc's arenas too, after every such round, not only the first (an
  // unchanged identity reload allocates and frees as much, and without the trim the arenas
  // grew with each one).
  if (big) {
    release_memory();
  } else {
    release_store_pages();
  }
  detail = std::to_string(observed) + " observations, " + std::to_string(result.changed_records) +
           " records changed, " + std::to_string(outbox) + " outbox items";
  notify_status();
  return {};
}

void Daemon::release_memory() {
  ::malloc_trim(0);
  release_store_pages();
}

void Daemon::release_store_pages() {
  // The store's pages stay in the page cache; only this process's mapping of them goes.
  if (auto ec = store_.release_mapped_pages()) {
    log_.debug("store.release_pages_failed", kv("error", ec.message()));
  }
}

void Daemon::apply_retention() {
  if (config_.store.retention_days <= 0) return;
  const auto now = clock_.now();
  const auto cutoff = now.unix_seconds() - config_.store.retention_days * 86400;
  store::Batch batch;
  const auto expired = [&](const std::pair<MacAddress, DeviceSummary>& d) {
    return d.second.last_seen.unix_seconds() < cutoff && !deferred_.contains(d.first);
  };
  for (auto it = state_.devices.begin(); it != state_.devices.end(); ++it) {
    if (!expired(*it)) continue;
    batch.removed_devices.push_back(it->first);
    store::OutboxItem item;
    item.kind = kOutboxDevice;
    item.priority = 0;
    item.entity = mac_entity(it->first);
    item.entity_version = it->second.version + 1;
    item.created = now;
    std::string payload = "{\"mac\":\"" + it->first.to_string() +
                          "\",\"removed\":true,\"reason\":\"retention\",\"sensor_id\":";
    append_json_string(payload, config_.sensor_id);
    payload += ",\"version\":" + std::to_string(item.entity_version) + "}";
    item.payload = std::move(payload);
    batch.outbox.push_back(std::move(item));
  }
  if (batch.removed_devices.empty()) return;
  state_.devices.erase_if(expired);
  const auto removed = batch.removed_devices.size();
  std::string detail;
  if (commit(std::move(batch), detail)) {
    retention_removed_ += removed;
    log_.info("retention.removed", kv("removed", removed),
              kv("days", config_.store.retention_days));
  }
}

void Daemon::notify_status() {
  std::size_t managed = 0;
  for (const auto& [mac, d] : state_.devices) {
    if (d.state == static_cast<std::uint8_t>(RecordState::managed)) ++managed;
  }
  platform::sd_notify("STATUS=" + std::to_string(state_.devices.size()) + " devices, " +
                      std::to_string(managed) + " managed");
}

// ---------------------------------------------------------------------------------------------
// ControlContext

std::optional<store::IdentityRecord> Daemon::stored_identity(const platform::Guid& key) {
  for (auto batch = unwritten_.rbegin(); batch != unwritten_.rend(); ++batch) {
    for (auto id = batch->identities.rbegin(); id != batch->identities.rend(); ++id) {
      if (identity_key(*id) == key) return *id;
    }
  }
  std::error_code ec;
  auto record = store_.identity(key, ec);
  if (ec) {
    log_.warning("store.read_failed", kv("what", "identity"), kv("key", key.to_string()),
                 kv("error", ec.message()));
  }
  return record;
}

std::vector<platform::Guid> Daemon::identities_named(const std::string& key) {
  const std::string wanted = lower(key);
  std::vector<platform::Guid> out;
  const auto matches = [&](const store::IdentityRecord& id) {
    return lower(id.user_principal_name) == wanted || lower(id.serial_number) == wanted ||
           same_host_name(id.device_name, key);
  };
  const auto ec = store_.for_each_identity(
      [&](const store::IdentityRecord& id) {
        if (state_.identities.contains(identity_key(id)) && matches(id)) {
          out.push_back(identity_key(id));
        }
        return true;
      },
      [](store::Bytes, std::error_code) {});
  if (ec) {
    log_.warning("store.read_failed", kv("what", "identities"), kv("error", ec.message()));
  }
  release_memory();  // the scan mapped every identity's page
  // Batches not yet written hold the newer form of their identities.
  for (const auto& batch : unwritten_) {
    for (const auto& id : batch.identities) {
      const auto k = identity_key(id);
      std::erase(out, k);
      if (matches(id)) out.push_back(k);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

store::DeviceRecord Daemon::stored_device(const MacAddress& mac, const DeviceSummary& summary) {
  std::optional<store::DeviceRecord> record;
  for (auto batch = unwritten_.rbegin(); batch != unwritten_.rend() && !record; ++batch) {
    for (auto d = batch->devices.rbegin(); d != batch->devices.rend(); ++d) {
      if (d->mac == mac) {
        record = *d;
        break;
      }
    }
  }
  if (!record) {
    std::error_code ec;
    record = store_.device(mac, ec);
    if (ec) {
      log_.warning("store.read_failed", kv("what", "device"), kv("mac", mac.to_string()),
                   kv("error", ec.message()));
    }
  }
  if (!record) return summary.partial_record(mac);
  record->mac = mac;
  summary.copy_merge_fields(*record);
  return std::move(*record);
}

void Daemon::for_each_stored_device(const std::function<void(const store::DeviceRecord&)>& fn) {
  // Devices whose newest record waits in an unwritten batch are taken from there.
  std::set<MacAddress> pending;
  for (const auto& batch : unwritten_) {
    for (const auto& d : batch.devices) pending.insert(d.mac);
  }
  auto state = state_.devices.begin();
  const auto visit_until = [&](const MacAddress* mac) {
    // Devices of the state before @p mac (all when null) that the scan did not supply.
    for (; state != state_.devices.end() && (mac == nullptr || state->first < *mac); ++state) {
      fn(stored_device(state->first, state->second));
    }
  };
  const auto ec = store_.for_each_device(
      [&](const store::DeviceRecord& d) {
        visit_until(&d.mac);
        if (state == state_.devices.end() || state->first != d.mac) return true;  // not merged
        if (pending.contains(d.mac)) {
          fn(stored_device(state->first, state->second));
        } else {
          auto copy = d;
          state->second.copy_merge_fields(copy);
          fn(copy);
        }
        ++state;
        return true;
      },
      [](store::Bytes, std::error_code) {});
  if (ec) log_.warning("store.read_failed", kv("what", "devices"), kv("error", ec.message()));
  visit_until(nullptr);
  release_memory();  // the scan mapped every device's page
}

json::value Daemon::record_value(const store::DeviceRecord& d) {
  std::optional<store::IdentityRecord> identity;
  if (!d.intune_id.is_nil() && state_.identities.contains(d.intune_id)) {
    identity = stored_identity(d.intune_id);
    if (!identity) identity = state_.identities.at(d.intune_id).partial_record();
  }
  return json::parse(device_record_json(d, identity ? &*identity : nullptr, config_.sensor_id));
}

json::value Daemon::identity_only_value(const platform::Guid& key, std::uint64_t version) {
  auto identity = stored_identity(key);
  if (!identity) identity = state_.identities.at(key).partial_record();
  return json::parse(identity_only_json(*identity, version, config_.sensor_id));
}

json::object Daemon::status() {
  json::object o;
  o["version"] = kVersion;
  o["sensor_id"] = config_.sensor_id;
  o["uptime_s"] = clock_.now().unix_seconds() - started_.unix_seconds();
  const auto snap = capture_->snapshot();
  json::array interfaces;
  for (const auto& i : snap.interfaces) {
    interfaces.push_back(json::object{{"name", i.name},
                                      {"open", i.open},
                                      {"packets", i.packets},
                                      {"kernel_received", i.kernel.received},
                                      {"kernel_dropped", i.kernel.dropped},
                                      {"interface_dropped", i.kernel.if_dropped},
                                      {"opens", i.opens},
                                      {"failures", i.failures},
                                      {"last_error", i.last_error}});
  }
  o["interfaces"] = std::move(interfaces);
  o["capture"] = {{"frames", snap.decode.frames},
                  {"malformed", snap.decode.malformed_total()},
                  {"table_devices", snap.devices},
                  {"files", snap.files},
                  {"files_read", snap.files_read}};
  std::size_t managed = 0, unmanaged = 0, identity_only = 0;
  for (const auto& [mac, d] : state_.devices) {
    if (d.state == static_cast<std::uint8_t>(RecordState::managed)) {
      ++managed;
    } else {
      ++unmanaged;
    }
  }
  for (const auto& [key, io] : state_.identity_only) identity_only += io.active ? 1 : 0;
  o["devices"] = {{"managed", managed},
                  {"unmanaged", unmanaged},
                  {"identity_only", identity_only},
                  {"pending", deferred_.size()}};
  const auto sync_json = [](const SyncStatus& s) {
    json::object j;
    if (s.last_attempt) j["last_attempt"] = s.last_attempt->to_rfc3339();
    if (s.last_success) j["last_success"] = s.last_success->to_rfc3339();
    if (s.next) j["next"] = s.next->to_rfc3339();
    // The first attempt in flight is "running", not a failure (monitors alert on "failed").
    const bool completed = s.last_success || s.failures > 0 || (s.last_attempt && !s.running);
    j["result"] = completed ? (s.ok ? "ok" : "failed") : (s.running ? "running" : "not yet");
    j["running"] = s.running;
    if (!s.detail.empty()) j["detail"] = s.detail;
    j["failures"] = s.failures;
    return j;
  };
  json::object sync{{"source", config_.identity.source}, {"identities", identity_count_}};
  if (config_.identity.source == "graph") {
    sync["intune"] = sync_json(intune_status_);
    sync["entra"] = sync_json(entra_status_);
    sync["enrichment"] = {{"ethernet_lookups", last_intune_report_.ethernet_lookups},
                          {"ethernet_cached", last_intune_report_.ethernet_cached},
                          {"ethernet_found", last_intune_report_.ethernet_found}};
  } else if (config_.identity.source == "file") {
    sync["file"] = sync_json(intune_status_);
  }
  o["sync"] = std::move(sync);
  store::StoreStats stats;
  if (auto ec = store_.stats(stats); !ec) {
    json::object outbox{{"items", stats.outbox_items}};
    if (stats.outbox_oldest) {
      outbox["oldest_age_s"] = clock_.now().unix_seconds() - stats.outbox_oldest->unix_seconds();
    }
    outbox["shed"] = stats.outbox_shed_superseded + stats.outbox_shed_oldest;
    outbox["over_bound"] = stats.outbox_over_bound;
    o["outbox"] = std::move(outbox);
    json::object up{{"sink", config_.upstream.sink},
                    {"dead_letters", stats.deadletter_items},
                    {"dead_letters_dropped", stats.deadletter_dropped}};
    if (stats.deadletter_items > 0) up["dead_letter_reason"] = stats.deadletter_reason;
    if (upstream_) {
      const auto u = upstream_->uploader().status();
      up["delivered_items"] = u.delivered_items;
      up["delivered_batches"] = u.delivered_batches;
      up["failures"] = u.failures;
      up["retries"] = u.retries;
      up["parked_items"] = u.parked_items;
      up["state"] = u.backing_off ? "backing_off" : (u.in_flight ? "sending" : "idle");
      if (u.backing_off) up["next_attempt_in_s"] = (u.next_attempt_in.count() + 999) / 1000;
      if (u.last_success) up["last_success"] = u.last_success->to_rfc3339();
      if (u.last_failure) up["last_failure"] = u.last_failure->to_rfc3339();
      if (!u.last_error.empty()) up["last_error"] = u.last_error;
    }
    o["upstream"] = std::move(up);
    o["store"] = {{"file_bytes", stats.file_bytes},
                  {"used_bytes", stats.used_bytes},
                  {"map_size", stats.map_size},
                  {"unwritten_batches", unwritten_.size()},
                  {"flush_errors", flush_errors_}};
    if (!last_flush_error_.empty()) o["store"].as_object()["last_error"] = last_flush_error_;
  } else {
    o["store"] = {{"error", ec.message()}};
  }
  return o;
}

json::object Daemon::devices(const DeviceQuery& q) {
  json::array out;
  std::size_t total = 0;
  // Counts every match; true when this one belongs on the requested page.
  const auto in_page = [&] {
    const bool in = total >= q.offset && out.size() < q.limit;
    ++total;
    return in;
  };
  const bool want_identity_only = !q.state || *q.state == "identity_only";
  if (!q.state || *q.state != "identity_only") {
    for (const auto& [mac, packed] : state_.devices) {
      const auto state = static_cast<RecordState>(packed.state);
      if (q.state && to_string(state) != *q.state) continue;
      if (q.seen_since && packed.last_seen.unix_seconds() < *q.seen_since) continue;
      if (q.randomized && !packed.randomized) continue;
      if (q.noncompliant) {
        const auto id = state_.identities.find(packed.intune_id);
        if (packed.intune_id.is_nil() || id == state_.identities.end() ||
            !id->second.noncompliant) {
          continue;
        }
      }
      // Unpacked only to filter on VLANs or to be printed, not for every device counted.
      std::optional<store::DeviceRecord> d;
      if (q.vlan) {
        d = stored_device(mac, packed);
        if (std::find(d->vlans.begin(), d->vlans.end(), *q.vlan) == d->vlans.end()) continue;
      }
      if (!in_page()) continue;
      if (!d) d = stored_device(mac, packed);
      out.push_back(record_value(*d));
    }
  }
  if (want_identity_only && !q.vlan && !q.randomized && !q.seen_since) {
    for (const auto& [key, io] : state_.identity_only) {
      if (!io.active || !state_.identities.contains(key)) continue;
      if (q.noncompliant && !state_.identities.at(key).noncompliant) {
        continue;
      }
      if (in_page()) out.push_back(identity_only_value(key, io.version));
    }
  }
  release_store_pages();  // the records printed were read from the store
  return {{"devices", std::move(out)}, {"total", total}, {"offset", q.offset}};
}

std::optional<json::object> Daemon::device(const std::string& key) {
  json::array found;
  if (const auto parsed = MacAddress::parse(key)) {
    if (const auto it = state_.devices.find(*parsed); it != state_.devices.end()) {
      found.push_back(record_value(stored_device(it->first, it->second)));
    }
  } else {
    const std::string wanted = lower(key);
    const auto named = identities_named(key);  // sorted
    const auto is_named = [&](const platform::Guid& id) {
      return std::binary_search(named.begin(), named.end(), id);
    };
    for_each_stored_device([&](const store::DeviceRecord& d) {
      bool match = !d.intune_id.is_nil() && is_named(d.intune_id);
      for (const auto& a : d.ipv4) match = match || ipv4_text(a.data()) == key;
      for (const auto& a : d.ipv6) match = match || ipv6_text(a.data()) == wanted;
      match = match || (!d.hostname.empty() && same_host_name(d.hostname, key));
      if (match) found.push_back(record_value(d));
    });
    for (const auto& [k, io] : state_.identity_only) {
      if (!io.active || !state_.identities.contains(k)) continue;
      if (is_named(k) || k.to_string() == wanted) {
        found.push_back(identity_only_value(k, io.version));
      }
    }
  }
  if (found.empty()) return std::nullopt;
  return json::object{{"devices", std::move(found)}};
}

std::error_code Daemon::sync_now(std::string& detail) {
  if (config_.identity.source == "none") {
    detail = "no identity source is configured (identity.source is \"none\")";
    return std::make_error_code(std::errc::operation_not_supported);
  }
  intune_timer_.cancel();
  entra_timer_.cancel();
  intune_due_ = entra_due_ = true;
  detail = sync_running_ ? "a sync is running; a full sync follows it" : "sync started";
  asio::post(io_, [this] { run_due_syncs(); });
  return {};
}

std::error_code Daemon::flush_now(std::string& detail) {
  return flush(true, detail);
}

std::error_code Daemon::upstream_retry(std::string& detail) {
  if (!upstream_) {
    detail = "no upstream sink is configured";
    return std::make_error_code(std::errc::operation_not_supported);
  }
  std::size_t moved = 0;
  if (auto ec = store_.deadletter_requeue(moved)) {
    detail = "store: " + ec.message();
    return ec;
  }
  upstream_->uploader().retry_now();
  detail = "requeued " + std::to_string(moved) + " dead letters; sending now";
  log_.info("upstream.retry_requested", kv("requeued", moved));
  return {};
}

std::string Daemon::metrics() {
  std::string m;
  const auto metric = [&m](std::string_view name, std::string_view type, std::string_view help) {
    m += "# HELP edgeid_";
    m += name;
    m += ' ';
    m += help;
    m += "\n# TYPE edgeid_";
    m += name;
    m += ' ';
    m += type;
    m += '\n';
  };
  const auto sample = [&m](std::string_view name, std::string_view labels, auto value) {
    m += "edgeid_";
    m += name;
    if (!labels.empty()) {
      m += '{';
      m += labels;
      m += '}';
    }
    m += ' ';
    m += std::to_string(value);
    m += '\n';
  };
  const auto label = [](std::string_view key, std::string_view value) {
    std::string out(key);
    out += "=\"";
    for (char c : value) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    return out + '"';
  };
  metric("uptime_seconds", "gauge", "Seconds since the agent started.");
  sample("uptime_seconds", "", clock_.now().unix_seconds() - started_.unix_seconds());
  const auto snap = capture_->snapshot();
  metric("capture_packets_total", "counter", "Packets delivered by each live interface.");
  for (const auto& i : snap.interfaces) {
    sample("capture_packets_total", label("interface", i.name), i.packets);
  }
  metric("capture_kernel_dropped_total", "counter", "Packets the kernel dropped (ps_drop).");
  for (const auto& i : snap.interfaces) {
    sample("capture_kernel_dropped_total", label("interface", i.name), i.kernel.dropped);
  }
  metric("capture_interface_dropped_total", "counter",
         "Packets the interface dropped (ps_ifdrop).");
  for (const auto& i : snap.interfaces) {
    sample("capture_interface_dropped_total", label("interface", i.name), i.kernel.if_dropped);
  }
  metric("capture_interface_up", "gauge", "1 when the interface's capture handle is open.");
  for (const auto& i : snap.interfaces) {
    sample("capture_interface_up", label("interface", i.name), i.open ? 1 : 0);
  }
  metric("capture_frames_total", "counter", "Frames decoded.");
  sample("capture_frames_total", "", snap.decode.frames);
  metric("capture_malformed_total", "counter", "Frames with a malformed protocol part.");
  sample("capture_malformed_total", "", snap.decode.malformed_total());
  std::size_t counts[4] = {0, 0, 0, 0};
  for (const auto& [mac, d] : state_.devices) ++counts[d.state & 3U];
  for (const auto& [key, io] : state_.identity_only) counts[3] += io.active ? 1 : 0;
  metric("devices", "gauge", "Records of the inventory by state.");
  sample("devices", label("state", "managed"), counts[1]);
  sample("devices", label("state", "unmanaged"), counts[2]);
  sample("devices", label("state", "identity_only"), counts[3]);
  metric("identities", "gauge", "Identities held from the identity source.");
  sample("identities", "", state_.identities.size());
  metric("sync_last_success_timestamp_seconds", "gauge", "When each identity sync last succeeded.");
  if (intune_status_.last_success) {
    sample("sync_last_success_timestamp_seconds", label("source", "intune"),
           intune_status_.last_success->unix_seconds());
  }
  if (entra_status_.last_success) {
    sample("sync_last_success_timestamp_seconds", label("source", "entra"),
           entra_status_.last_success->unix_seconds());
  }
  metric("sync_failures_total", "counter", "Identity syncs that failed.");
  sample("sync_failures_total", label("source", "intune"), intune_status_.failures);
  sample("sync_failures_total", label("source", "entra"), entra_status_.failures);
  metric("store_flush_errors_total", "counter", "Flushes the store refused (retried).");
  sample("store_flush_errors_total", "", flush_errors_);
  metric("store_records_written_total", "counter", "Device records written to the store.");
  sample("store_records_written_total", "", records_written_);
  metric("retention_removed_total", "counter", "Devices removed by the retention rule.");
  sample("retention_removed_total", "", retention_removed_);
  store::StoreStats stats;
  if (!store_.stats(stats)) {
    metric("outbox_items", "gauge", "Items waiting for the upstream.");
    sample("outbox_items", "", stats.outbox_items);
    metric("outbox_oldest_age_seconds", "gauge", "Age of the oldest outbox item.");
    sample("outbox_oldest_age_seconds", "",
           stats.outbox_oldest ? clock_.now().unix_seconds() - stats.outbox_oldest->unix_seconds()
                               : 0);
    metric("store_file_bytes", "gauge", "Size of the store's data file.");
    sample("store_file_bytes", "", stats.file_bytes);
    metric("upstream_dead_letters", "gauge", "Items the upstream refused, parked.");
    sample("upstream_dead_letters", "", stats.deadletter_items);
  }
  if (upstream_) {
    const auto u = upstream_->uploader().status();
    metric("upstream_delivered_items_total", "counter", "Outbox items the upstream accepted.");
    sample("upstream_delivered_items_total", "", u.delivered_items);
    metric("upstream_delivered_bytes_total", "counter", "Request bytes of delivered batches.");
    sample("upstream_delivered_bytes_total", "", u.delivered_bytes);
    metric("upstream_retries_total", "counter", "Failed deliveries that will be retried.");
    sample("upstream_retries_total", "", u.retries);
    metric("upstream_parked_items_total", "counter", "Items parked as dead letters.");
    sample("upstream_parked_items_total", "", u.parked_items);
  }
  return m;
}

json::object Daemon::config_redacted() {
  // The configuration holds no secret values, only the paths of secret files (not secret).
  return json::parse(config_to_json(config_)).as_object();
}

}  // namespace

int run_daemon(Config config, const DaemonOptions& options, std::ostream& err) {
  platform::StderrSink sink;
  platform::Logger log(sink, "edgeid", platform::LogLevel::info);
  try {
    Daemon daemon(std::move(config), options, log);
    return daemon.run();
  } catch (const StartError& e) {
    err << "edgeid run: " << e.what() << '\n';
    return 1;
  } catch (const ConfigError& e) {
    err << "edgeid run: " << e.what() << '\n';
    return 2;
  }
}

}  // namespace edgeid::agent

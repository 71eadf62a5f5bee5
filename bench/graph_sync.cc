// Graph sync benchmark: one full identity sync as the agent runs it (the Intune managedDevices
// list, then one Entra devices delta round, then the Intune↔Entra join), or the transport floor
// under it, against a Graph service given by URL and CA (bench/graph_sync.py runs it against
// edgeid-fake-graph in another process, so the service's CPU is not counted here). Prints one
// JSON object: wall time, user+sys CPU and peak RSS of the sync, and what it fetched.
//
//   edgeid-bench-graph-sync --url URL --ca FILE [--mode sync|fetch]
//                           [--mac-cache FILE [--cold N] | --no-enrich] [--write-mac-cache FILE]
//                           [--record DIR] [--tenant T] [--client-id ID] [--client-secret S]
//
// sync   cloud::GraphClient with the agent's options (agent/src/graph_stack.cc sets graph_url
//        only; Ethernet-MAC enrichment is on) and the agent's call sequence (daemon.cc:
//        async_sync_intune, then async_sync_entra, then identities() for the merge). The agent
//        answers the Ethernet-MAC cache from LMDB; here it is a sorted file of 32-byte records
//        mapped read-only (--mac-cache, written by an earlier run with --write-mac-cache), so
//        an unchanged device costs one look-up, as in the agent's steady state. --cold N makes
//        the first N look-ups miss: those devices are enriched through $batch, within the
//        default request budget when N <= 1000. --no-enrich turns enrichment off.
// fetch  the same GET requests (same URLs, headers, token provider, HttpClient, TlsContext and
//        connection reuse) with every body dropped after a substring search for its
//        nextLink/deltaLink: TLS, HTTP and the body buffer, no JSON and no identities. The
//        floor the sync is measured against. --record DIR also writes every body and an
//        index for `edgeid-fake-graph CA --replay DIR` (not for timing: it writes files).
//
// Defaults of --tenant/--client-id/--client-secret are the fake service's (tests/fakes).
// Exit status: 0, 1 when the sync fails, 2 for a usage error.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "cloud/graph_client.h"
#include "cloud/http_client.h"
#include "cloud/identity.h"
#include "cloud/oauth.h"
#include "cloud/tls_context.h"
#include "cloud/url.h"
#include "platform/log.h"
#include "platform/time.h"

using namespace edgeid;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string url;
  std::string ca;
  std::string mode = "sync";
  std::string mac_cache;
  std::string write_mac_cache;
  std::string record;
  std::size_t cold = 0;
  bool no_enrich = false;
  std::string tenant = "contoso-tenant";
  std::string client_id = "11111111-2222-3333-4444-555555555555";
  std::string client_secret = "fake-client-secret-value";
};

// ------------------------------------------------------------------------------ measurements

struct Sample {
  SteadyClock::time_point wall;
  double user_s = 0;
  double sys_s = 0;
  long rss_kib = 0;
  long hwm_kib = 0;
  std::size_t heap_bytes = 0;  // malloc'ed and in use, mmap'ed blocks included
};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

long status_kib(const std::string& status, std::string_view key) {
  const auto at = status.find(key);
  if (at == std::string::npos) return -1;
  return std::strtol(status.c_str() + at + key.size(), nullptr, 10);
}

Sample sample() {
  Sample s;
  s.wall = SteadyClock::now();
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  s.user_s = seconds(ru.ru_utime);
  s.sys_s = seconds(ru.ru_stime);
  std::ifstream in("/proc/self/status");
  std::ostringstream text;
  text << in.rdbuf();
  s.rss_kib = status_kib(text.str(), "VmRSS:");
  s.hwm_kib = status_kib(text.str(), "VmHWM:");
  const struct mallinfo2 heap = ::mallinfo2();  // main arena: the io thread's
  s.heap_bytes = heap.uordblks + heap.hblkhd;
  return s;
}

struct Window {
  double wall_s = 0;
  double user_s = 0;
  double sys_s = 0;
};

Window between(const Sample& a, const Sample& b) {
  return {std::chrono::duration<double>(b.wall - a.wall).count(), b.user_s - a.user_s,
          b.sys_s - a.sys_s};
}

// ------------------------------------------------------------------------------ MAC cache file

// Record: GUID (16 bytes, text order), lastSyncDateTime in Unix seconds (int64, INT64_MIN =
// none), MAC (uint64: bit 63 = present, low 48 bits the address); little-endian host order
// (the file never leaves the machine that made it). Sorted by GUID. Header: magic, count.
constexpr std::array<char, 8> kCacheMagic = {'E', 'D', 'G', 'E', 'M', 'A', 'C', '1'};
constexpr std::size_t kCacheHeader = 16;
constexpr std::size_t kCacheRecord = 32;
constexpr std::int64_t kNoTime = std::numeric_limits<std::int64_t>::min();
constexpr std::uint64_t kMacPresent = std::uint64_t{1} << 63U;

std::uint64_t mac_u64(const platform::MacAddress& mac) {
  std::uint64_t v = 0;
  for (std::uint8_t b : mac.bytes()) v = (v << 8U) | b;
  return v;
}

bool write_cache_file(const std::string& path, const std::vector<cloud::Identity>& devices) {
  std::vector<const cloud::Identity*> sorted;
  sorted.reserve(devices.size());
  for (const auto& d : devices) sorted.push_back(&d);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->intune_id < b->intune_id; });
  std::string out(kCacheMagic.data(), kCacheMagic.size());
  const std::uint64_t count = sorted.size();
  out.append(reinterpret_cast<const char*>(&count), sizeof count);
  for (const auto* d : sorted) {
    const std::int64_t at = d->last_sync ? d->last_sync->unix_seconds() : kNoTime;
    const std::uint64_t mac = d->ethernet_mac ? (kMacPresent | mac_u64(*d->ethernet_mac)) : 0;
    out.append(reinterpret_cast<const char*>(d->intune_id.bytes().data()), 16);
    out.append(reinterpret_cast<const char*>(&at), sizeof at);
    out.append(reinterpret_cast<const char*>(&mac), sizeof mac);
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(out.data(), static_cast<std::streamsize>(out.size()));
  return static_cast<bool>(file);
}

// The sync state as the agent keeps it (agent/src/sync_state.cc): meta values in memory, the
// Ethernet-MAC cache in a mapped file (LMDB there), writes collected in a pending map.
class BenchSyncState final : public cloud::SyncStateStore {
 public:
  BenchSyncState() = default;
  BenchSyncState(const BenchSyncState&) = delete;
  BenchSyncState& operator=(const BenchSyncState&) = delete;
  ~BenchSyncState() override {
    if (map_ != nullptr) ::munmap(map_, map_size_);
  }

  // Maps @p path; false (and @p why) when it is not a cache file.
  bool open(const std::string& path, std::size_t cold, std::string& why) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      why = "cannot open " + path;
      return false;
    }
    struct stat st {};
    const bool sized = ::fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(kCacheHeader);
    map_size_ = sized ? static_cast<std::size_t>(st.st_size) : 0;
    void* map = sized ? ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    ::close(fd);
    if (map == MAP_FAILED) {
      map_size_ = 0;
      why = path + " is not a MAC cache file";
      return false;
    }
    map_ = map;
    const auto* base = static_cast<const char*>(map_);
    std::uint64_t count = 0;
    std::memcpy(&count, base + kCacheMagic.size(), sizeof count);
    if (std::memcmp(base, kCacheMagic.data(), kCacheMagic.size()) != 0 ||
        count != (map_size_ - kCacheHeader) / kCacheRecord) {
      why = path + " is not a MAC cache file";
      return false;
    }
    records_ = base + kCacheHeader;
    count_ = static_cast<std::size_t>(count);
    cold_ = cold;
    return true;
  }

  std::string entra_delta_link() override { return delta_link_; }
  void set_entra_delta_link(const std::string& link) override { delta_link_ = link; }
  std::optional<platform::Timestamp> last_full_sync(const std::string& what) override {
    const auto it = full_syncs_.find(what);
    if (it == full_syncs_.end()) return std::nullopt;
    return it->second;
  }
  void set_last_full_sync(const std::string& what, platform::Timestamp at) override {
    full_syncs_[what] = at;
  }

  std::optional<MacCacheEntry> ethernet_mac(const platform::Guid& intune_id) override {
    if (const auto p = pending_.find(intune_id); p != pending_.end()) return p->second;
    ++lookups_;
    if (lookups_ <= cold_ || count_ == 0) return std::nullopt;
    std::size_t lo = 0;
    std::size_t hi = count_;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      const int c = std::memcmp(records_ + mid * kCacheRecord, intune_id.bytes().data(), 16);
      if (c == 0) return decode(records_ + mid * kCacheRecord);
      if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return std::nullopt;
  }
  void put_ethernet_mac(const platform::Guid& intune_id, const MacCacheEntry& entry) override {
    pending_[intune_id] = entry;
  }

  std::size_t cache_records() const noexcept { return count_; }
  std::size_t cache_bytes() const noexcept { return map_size_; }

 private:
  static MacCacheEntry decode(const char* record) {
    std::int64_t at = 0;
    std::uint64_t mac = 0;
    std::memcpy(&at, record + 16, sizeof at);
    std::memcpy(&mac, record + 24, sizeof mac);
    MacCacheEntry e;
    if (at != kNoTime) e.last_sync = platform::Timestamp::from_unix_seconds(at);
    if ((mac & kMacPresent) != 0) e.ethernet = platform::MacAddress::from_u64(mac & ~kMacPresent);
    return e;
  }

  std::string delta_link_;
  std::map<std::string, platform::Timestamp> full_syncs_;
  std::map<platform::Guid, MacCacheEntry> pending_;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  const char* records_ = nullptr;
  std::size_t count_ = 0;
  std::size_t cold_ = 0;
  std::size_t lookups_ = 0;
};

// ------------------------------------------------------------------------------ fetch mode

// Writes response bodies and the index edgeid-fake-graph --replay reads.
class Recorder {
 public:
  Recorder(const std::string& dir, const std::string& origin)
      : dir_(dir), index_(dir + "/index.tsv", std::ios::trunc) {
    index_ << "origin\t" << origin << '\n';
  }
  void add(const std::string& target, const std::string& body) {
    const std::string file = "page-" + std::to_string(++pages_) + ".json";
    std::ofstream out(dir_ + "/" + file, std::ios::binary | std::ios::trunc);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    index_ << "GET\t" << target << '\t' << file << '\n';
    ok_ = ok_ && static_cast<bool>(out) && static_cast<bool>(index_);
  }
  bool ok() { return ok_ && static_cast<bool>(index_.flush()); }

 private:
  std::string dir_;
  std::ofstream index_;
  std::size_t pages_ = 0;
  bool ok_ = true;
};

// Follows one paged collection with plain GETs; each body is searched for the next link and
// dropped (or recorded).
class Fetcher {
 public:
  Fetcher(cloud::HttpClient& http, cloud::TokenProvider& tokens, std::string origin,
          Recorder* recorder)
      : http_(http), tokens_(tokens), origin_(std::move(origin)), recorder_(recorder) {}

  std::size_t pages = 0;
  std::size_t bytes = 0;
  std::string error;

  // Fetches @p first and every nextLink after it; @p done runs once, at the end or on error.
  void run(const std::string& first, std::function<void()> done) {
    done_ = std::move(done);
    get(first);
  }

 private:
  void get(const std::string& link) {
    auto url = cloud::Url::parse(link);
    if (!url || link.rfind(origin_, 0) != 0) return finish("link outside " + origin_ + ": " + link);
    tokens_.async_ensure([this, url = std::move(*url)](std::error_code ec,
                                                       const std::string& detail) {
      if (ec) return finish("token: " + detail);
      cloud::HttpRequest req;
      req.url = url;
      req.headers.push_back({"Accept", "application/json"});
      req.headers.push_back({"Authorization", "Bearer " + tokens_.token().reveal()});
      http_.async_request(std::move(req), [this, target = url.target](
                                              std::error_code e, const cloud::HttpResponse& res) {
        on_response(e, target, res);
      });
    });
  }

  void on_response(std::error_code ec, const std::string& target, const cloud::HttpResponse& res) {
    if (ec) return finish("request: " + ec.message());
    if (res.status != 200) return finish("HTTP " + std::to_string(res.status));
    ++pages;
    bytes += res.body.size();
    if (recorder_ != nullptr) recorder_->add(target, res.body);
    static constexpr std::string_view kNext = "\"@odata.nextLink\":\"";
    const auto at = res.body.find(kNext);
    if (at == std::string::npos) return finish({});
    const auto begin = at + kNext.size();
    const auto end = res.body.find('"', begin);
    if (end == std::string::npos) return finish("unterminated nextLink");
    get(res.body.substr(begin, end - begin));
  }

  void finish(std::string why) {
    error = std::move(why);
    auto done = std::move(done_);
    done_ = nullptr;
    done();
  }

  cloud::HttpClient& http_;
  cloud::TokenProvider& tokens_;
  std::string origin_;
  Recorder* recorder_;
  std::function<void()> done_;
};

// ------------------------------------------------------------------------------ output

class Json {
 public:
  Json& field(std::string_view key, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", v);
    return raw(key, buf);
  }
  Json& field(std::string_view key, std::size_t v) { return raw(key, std::to_string(v)); }
  Json& field(std::string_view key, long v) { return raw(key, std::to_string(v)); }
  Json& field(std::string_view key, std::string_view v) {
    std::string quoted = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') quoted += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) quoted += c;
    }
    quoted += '"';
    return raw(key, quoted);
  }
  Json& field(std::string_view key, const Window& w) {
    Json inner;
    inner.field("wall_s", w.wall_s).field("cpu_s", w.user_s + w.sys_s);
    inner.field("user_s", w.user_s).field("sys_s", w.sys_s);
    return raw(key, inner.str());
  }
  std::string str() const { return "{" + body_ + "}"; }

 private:
  Json& raw(std::string_view key, const std::string& value) {
    if (!body_.empty()) body_ += ',';
    body_.append("\"").append(key).append("\":").append(value);
    return *this;
  }
  std::string body_;
};

// ------------------------------------------------------------------------------ main

int usage(const char* why) {
  std::fprintf(stderr,
               "edgeid-bench-graph-sync: %s\n"
               "usage: edgeid-bench-graph-sync --url URL --ca FILE [--mode sync|fetch]\n"
               "         [--mac-cache FILE [--cold N] | --no-enrich] [--write-mac-cache FILE]\n"
               "         [--record DIR] [--tenant T] [--client-id ID] [--client-secret S]\n",
               why);
  return 2;
}

std::optional<Args> parse_args(int argc, char** argv, std::string& why) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--no-enrich") {
      a.no_enrich = true;
      continue;
    }
    if (i + 1 >= argc) {
      why = "missing value after " + std::string(flag);
      return std::nullopt;
    }
    const std::string value = argv[++i];
    if (flag == "--url") {
      a.url = value;
    } else if (flag == "--ca") {
      a.ca = value;
    } else if (flag == "--mode") {
      a.mode = value;
    } else if (flag == "--mac-cache") {
      a.mac_cache = value;
    } else if (flag == "--write-mac-cache") {
      a.write_mac_cache = value;
    } else if (flag == "--record") {
      a.record = value;
    } else if (flag == "--cold") {
      a.cold = static_cast<std::size_t>(std::strtoull(value.c_str(), nullptr, 10));
    } else if (flag == "--tenant") {
      a.tenant = value;
    } else if (flag == "--client-id") {
      a.client_id = value;
    } else if (flag == "--client-secret") {
      a.client_secret = value;
    } else {
      why = "unknown option " + std::string(flag);
      return std::nullopt;
    }
  }
  if (a.url.empty() || a.ca.empty()) why = "--url and --ca are required";
  if (a.mode != "sync" && a.mode != "fetch") why = "--mode is sync or fetch";
  // A cold cache would enrich every device through $batch at the default budget (1000
  // requests per 20 s): 100 k devices take half an hour. Say which one is meant.
  if (a.mode == "sync" && a.mac_cache.empty() && !a.no_enrich) {
    why = "sync needs --mac-cache FILE or --no-enrich";
  }
  if (!why.empty()) return std::nullopt;
  return a;
}

int run(int argc, char** argv) {
  std::string why;
  const auto parsed = parse_args(argc, argv, why);
  if (!parsed) return usage(why.c_str());
  const Args& args = *parsed;
  // The agent's malloc settings (Daemon::start): two arenas, a fixed mmap threshold.
  ::mallopt(M_ARENA_MAX, 2);
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);

  platform::StderrSink sink;
  const platform::Logger log(sink, "bench", platform::LogLevel::warning);
  BenchSyncState state;
  if (!args.mac_cache.empty() && !state.open(args.mac_cache, args.cold, why)) {
    std::fprintf(stderr, "edgeid-bench-graph-sync: %s\n", why.c_str());
    return 2;
  }

  boost::asio::io_context io;
  platform::SystemClock clock;
  std::error_code ec;
  cloud::TlsOptions tls_options;
  tls_options.ca_file = args.ca;
  auto tls = cloud::TlsContext::create(tls_options, ec);
  if (!tls) {
    std::fprintf(stderr, "edgeid-bench-graph-sync: CA %s: %s\n", args.ca.c_str(),
                 ec.message().c_str());
    return 2;
  }
  cloud::HttpClient http(io, tls, cloud::HttpClientOptions{});
  cloud::OAuthOptions oauth;
  oauth.authority_url = args.url;
  oauth.graph_url = args.url;
  oauth.tenant = args.tenant;
  oauth.client_id = args.client_id;
  oauth.client_secret = platform::Secret(args.client_secret);
  cloud::TokenProvider tokens(http, clock, log.child("oauth"), std::move(oauth));
  cloud::AsioScheduler scheduler(io);
  cloud::GraphOptions options;  // the agent's: defaults but graph_url (graph_stack.cc)
  options.graph_url = args.url;
  options.enrich_ethernet = !args.no_enrich;
  cloud::GraphClient graph(http, tokens, scheduler, clock, state, log.child("graph"), options);

  auto run_until = [&io](const bool& done) {
    io.restart();
    while (!done && io.run_one() > 0) {
    }
  };

  Json out;
  out.field("mode", args.mode);
  const Sample start = sample();
  bool failed = false;
  if (args.mode == "fetch") {
    const std::string base = args.url + "/" + options.api_version;
    std::optional<Recorder> recorder;
    if (!args.record.empty()) recorder.emplace(args.record, args.url);
    Recorder* rec = recorder ? &*recorder : nullptr;
    Fetcher intune(http, tokens, args.url, rec);
    Fetcher entra(http, tokens, args.url, rec);
    bool done = false;
    intune.run(base + "/deviceManagement/managedDevices?$select=" + cloud::kIntuneSelect,
               [&] { done = true; });
    run_until(done);
    const Sample mid = sample();
    done = false;
    if (intune.error.empty()) {
      entra.run(base + "/devices/delta?$select=" + cloud::kEntraSelect, [&] { done = true; });
      run_until(done);
    }
    const Sample end = sample();
    for (const auto* f : {&intune, &entra}) {
      if (!f->error.empty()) {
        std::fprintf(stderr, "edgeid-bench-graph-sync: fetch failed: %s\n", f->error.c_str());
        failed = true;
      }
    }
    out.field("sync", between(start, end));
    out.field("intune", between(start, mid)).field("entra", between(mid, end));
    out.field("intune_pages", intune.pages).field("entra_pages", entra.pages);
    out.field("body_bytes", intune.bytes + entra.bytes);
    out.field("rss_before_kib", start.rss_kib).field("peak_rss_kib", end.hwm_kib);
    out.field("rss_after_kib", end.rss_kib);
    if (recorder && !recorder->ok()) {
      std::fprintf(stderr, "edgeid-bench-graph-sync: cannot record into %s\n", args.record.c_str());
      failed = true;
    }
  } else {
    std::optional<cloud::SyncOutcome> intune;
    std::optional<cloud::SyncOutcome> entra;
    bool done = false;
    graph.async_sync_intune([&](cloud::SyncOutcome o) {
      intune = std::move(o);
      done = true;
    });
    run_until(done);
    const Sample mid = sample();
    if (intune && !intune->ec) {
      done = false;
      graph.async_sync_entra([&](cloud::SyncOutcome o) {
        entra = std::move(o);
        done = true;
      });
      run_until(done);
    }
    const Sample synced = sample();
    for (const auto* o : {&intune, &entra}) {
      if (!*o || (*o)->ec) {
        std::fprintf(stderr, "edgeid-bench-graph-sync: sync failed: %s\n",
                     *o ? (*o)->detail.c_str() : "did not run");
        failed = true;
      }
    }
    if (failed) return 1;
    // What the agent does next (Daemon::publish_identities): the joined set for the merge.
    std::size_t joined = 0;
    {
      const auto identities = graph.identities();
      joined = identities.size();
    }
    const Sample after_join = sample();
    const cloud::SyncReport& ri = intune->report;
    const cloud::SyncReport& re = entra->report;
    out.field("sync", between(start, synced));
    out.field("intune", between(start, mid)).field("entra", between(mid, synced));
    out.field("join", between(synced, after_join));
    out.field("intune_devices", ri.intune_devices).field("intune_pages", ri.intune_pages);
    out.field("entra_devices", re.entra_devices).field("identities", joined);
    out.field("requests", ri.requests + re.requests).field("retries", ri.retries + re.retries);
    out.field("ethernet_lookups", ri.ethernet_lookups).field("ethernet_cached", ri.ethernet_cached);
    out.field("ethernet_found", ri.ethernet_found);
    out.field("mac_cache_bytes", state.cache_bytes());
    out.field("rss_before_kib", start.rss_kib).field("peak_rss_kib", synced.hwm_kib);
    out.field("peak_rss_intune_kib", mid.hwm_kib).field("heap_intune_bytes", mid.heap_bytes);
    out.field("rss_after_kib", synced.rss_kib);
    out.field("peak_rss_with_join_kib", after_join.hwm_kib);
    out.field("heap_before_bytes", start.heap_bytes).field("heap_after_bytes", synced.heap_bytes);
    // The memory representation the client holds (after the measurement: the copy of the
    // Entra set made here is not part of it). Text bytes count a shared block once per holder:
    // an upper bound; the heap figures above are the real cost.
    std::size_t intune_text = 0;
    std::size_t entra_text = 0;
    for (const auto& id : graph.intune_devices()) intune_text += id.text_capacity();
    for (const auto& id : graph.entra_devices()) entra_text += id.text_capacity();
    out.field("sizeof_identity", sizeof(cloud::Identity));
    out.field("intune_text_bytes", intune_text).field("entra_text_bytes", entra_text);
    if (!args.write_mac_cache.empty() &&
        !write_cache_file(args.write_mac_cache, graph.intune_devices())) {
      std::fprintf(stderr, "edgeid-bench-graph-sync: cannot write %s\n",
                   args.write_mac_cache.c_str());
      failed = true;
    }
  }
  http.close();
  io.restart();
  io.run();
  std::printf("%s\n", out.str().c_str());
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // bad_alloc, or a Boost.Asio failure to set up
    std::fprintf(stderr, "edgeid-bench-graph-sync: %s\n", e.what());
    return 1;
  }
}

// Graph client: one request pipeline (budget → token → send → retry/refresh) under three
// flows (Intune list, $batch enrichment, Entra delta). Continuation-passing on purpose: the
// HttpClient is callback-based and the agent's io_context thread must never block.

#include "cloud/graph_client.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <unordered_set>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "cloud/error.h"
#include "cloud/graph_error.h"
#include "identity_order.h"

namespace edgeid::cloud {

namespace json = boost::json;
using platform::Guid;
using std::chrono::milliseconds;

const char* const kIntuneSelect =
    "id,deviceName,operatingSystem,osVersion,deviceEnrollmentType,userPrincipalName,"
    "emailAddress,model,manufacturer,serialNumber,complianceState,managementAgent,"
    "managedDeviceOwnerType,wiFiMacAddress,azureADDeviceId,lastSyncDateTime";
const char* const kEntraSelect =
    "id,deviceId,displayName,operatingSystem,operatingSystemVersion,model,manufacturer,"
    "trustType,accountEnabled,isCompliant,isManaged,approximateLastSignInDateTime";

void AsioScheduler::after(milliseconds delay, std::function<void()> fn) {
  const auto scaled =
      milliseconds(static_cast<long long>(static_cast<double>(delay.count()) * scale_));
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, scaled);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code&) { fn(); });
}

std::optional<platform::Timestamp> MemorySyncStateStore::last_full_sync(const std::string& what) {
  auto it = full_syncs_.find(what);
  if (it == full_syncs_.end()) return std::nullopt;
  return it->second;
}
void MemorySyncStateStore::set_last_full_sync(const std::string& what, platform::Timestamp at) {
  full_syncs_[what] = at;
}
std::optional<SyncStateStore::MacCacheEntry> MemorySyncStateStore::ethernet_mac(
    const Guid& intune_id) {
  auto it = macs_.find(intune_id);
  if (it == macs_.end()) return std::nullopt;
  return it->second;
}
void MemorySyncStateStore::put_ethernet_mac(const Guid& intune_id, const MacCacheEntry& entry) {
  macs_[intune_id] = entry;
}

namespace {

constexpr std::size_t kDuplicateListMax = 10;
// Up to this many list entries are reserved from @odata.count (a bad count costs address
// space, not memory: the pages of a vector's unused capacity are never touched).
constexpr std::uint64_t kReserveMax = std::uint64_t{1} << 20U;

std::string describe_error(const HttpResponse& res) {
  std::string s = "HTTP " + std::to_string(res.status);
  if (auto err = parse_graph_error(res.body)) s += ": " + err->summary();
  return s;
}

bool is_retryable_status(unsigned status) {
  return status == 429 || status == 503 || status == 504;
}

}  // namespace

struct GraphClient::Impl : std::enable_shared_from_this<Impl> {
  using Reply = std::function<void(std::error_code, std::string, HttpResponse)>;
  using Step = std::function<void(std::error_code, std::string)>;

  Impl(HttpClient& h, TokenProvider& t, Scheduler& s, const platform::Clock& c, SyncStateStore& st,
       const platform::Logger& l, GraphOptions o)
      : http(h),
        tokens(t),
        scheduler(s),
        clock(c),
        state(st),
        log(l),
        opt(std::move(o)),
        origin(Url::parse(opt.graph_url)),
        rng(jitter_seed(opt.jitter_seed)),
        bucket(static_cast<double>(opt.budget_requests)),
        bucket_at(clock.monotonic()) {}

  // Retry jitter must differ between sensors and processes (or they retry in lockstep), so
  // the generator is seeded from std::random_device unless the options fix a seed (tests).
  static std::uint64_t jitter_seed(std::uint64_t configured) {
    if (configured != 0) return configured;
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32U) ^ static_cast<std::uint64_t>(device());
  }

  HttpClient& http;
  TokenProvider& tokens;
  Scheduler& scheduler;
  const platform::Clock& clock;
  SyncStateStore& state;
  platform::Logger log;
  GraphOptions opt;
  std::optional<Url> origin;
  std::mt19937_64 rng;
  double bucket = 0;
  platform::Clock::MonotonicTime bucket_at;
  bool stopped = false;
  bool busy = false;
  SyncReport report;
  Done done;

  std::vector<Identity> intune;
  std::vector<Identity> entra;  // sorted by entra_object_id (find_entra, fold_round)
  bool entra_valid = false;     // `entra` is the set the stored deltaLink applies to
  // Shares the OS/model/enrollment texts across every page of every sync (bounded, see
  // IdentityTextPool).
  IdentityTextPool text_pool;

  // ----------------------------------------------------------------- scheduling and budget

  void after(milliseconds wait, std::function<void()> fn) {
    report.waits.push_back(wait);
    std::weak_ptr<Impl> weak = shared_from_this();
    scheduler.after(wait, [weak, fn = std::move(fn)] {
      if (auto self = weak.lock(); self && !self->stopped) fn();
    });
  }

  // Token bucket: capacity budget_requests, refilled continuously over budget_window.
  milliseconds take_budget(std::size_t cost) {
    const double capacity = static_cast<double>(std::max<std::size_t>(opt.budget_requests, 1));
    const double per_ms =
        capacity / static_cast<double>(std::max<long long>(opt.budget_window.count(), 1));
    const auto now = clock.monotonic();
    const double elapsed = std::chrono::duration<double, std::milli>(now - bucket_at).count();
    bucket_at = now;
    bucket = std::min(capacity, bucket + std::max(0.0, elapsed) * per_ms);
    const double need = std::min(capacity, static_cast<double>(cost));
    if (bucket >= need) {
      bucket -= need;
      return milliseconds(0);
    }
    return milliseconds(static_cast<long long>(std::ceil((need - bucket) / per_ms)));
  }

  milliseconds backoff(int attempt) {
    const double base = static_cast<double>(opt.retry.base_backoff.count());
    double wait = base * std::pow(2.0, std::max(0, attempt - 1));
    wait = std::min(wait, static_cast<double>(opt.retry.max_backoff.count()));
    if (opt.retry.jitter > 0) {
      std::uniform_real_distribution<double> dist(1.0 - opt.retry.jitter, 1.0);
      wait *= dist(rng);
    }
    return milliseconds(static_cast<long long>(wait));
  }

  milliseconds retry_wait(const HttpResponse& res, int attempt) {
    if (auto value = res.header("Retry-After")) {
      const double now = std::chrono::duration<double>(clock.now().since_epoch()).count();
      if (auto ra = parse_retry_after(*value, now)) return std::min(*ra, opt.retry.max_retry_after);
    }
    return backoff(attempt);
  }

  // ----------------------------------------------------------------- request pipeline

  struct Attempt {
    HttpRequest request;
    std::size_t cost = 1;
    Reply reply;
    int attempts = 0;
    bool refreshed = false;
  };

  void send(HttpRequest request, std::size_t cost, Reply reply) {
    // The one place that guards the bearer token: only graph_url's origin gets it.
    if (!origin || !request.url.same_origin(*origin)) {
      reply(graph_errc::foreign_link,
            "refused to send the token to " + request.url.scheme + "://" + request.url.authority(),
            {});
      return;
    }
    auto a = std::make_shared<Attempt>();
    a->request = std::move(request);
    a->cost = cost;
    a->reply = std::move(reply);
    start(a);
  }

  void start(const std::shared_ptr<Attempt>& a) {
    if (const auto wait = take_budget(a->cost); wait.count() > 0) {
      after(wait, [self = shared_from_this(), a] { self->start(a); });
      return;
    }
    std::weak_ptr<Impl> weak = shared_from_this();
    tokens.async_ensure([weak, a](std::error_code ec, std::string detail) {
      auto self = weak.lock();
      if (!self || self->stopped) return;
      if (ec && self->token_failure_is_transient(ec)) {
        // The request waits and tries again, like one Graph itself throttled; the token
        // request counts as one of its attempts.
        ++a->attempts;
        const auto wait = self->tokens.retry_after() ? std::min(*self->tokens.retry_after(),
                                                                self->opt.retry.max_retry_after)
                                                     : self->backoff(a->attempts);
        self->retry_later(a, wait, detail);
        return;
      }
      if (ec) {
        a->reply(ec, std::move(detail), {});
        return;
      }
      self->send_now(a);
    });
  }

  // A token endpoint that throttles, fails with a 5xx or cannot be reached is retried; one that
  // refuses the credentials is not (the same request would be refused again).
  static bool token_failure_is_transient(const std::error_code& ec) {
    if (ec == graph_errc::token_unavailable) return true;
    return ec.category() != graph_category() && ec != errc::cancelled;
  }

  void send_now(const std::shared_ptr<Attempt>& a) {
    HttpRequest req = a->request;
    req.headers.push_back({"Authorization", "Bearer " + tokens.token().reveal()});
    ++a->attempts;
    ++report.requests;
    std::weak_ptr<Impl> weak = shared_from_this();
    http.async_request(std::move(req), [weak, a](std::error_code ec, HttpResponse res) {
      auto self = weak.lock();
      if (!self || self->stopped) return;
      self->on_response(a, ec, std::move(res));
    });
  }

  void retry_later(const std::shared_ptr<Attempt>& a, milliseconds wait, const std::string& why) {
    if (a->attempts >= opt.retry.max_attempts) {
      a->reply(graph_errc::retries_exhausted,
               why + " (after " + std::to_string(a->attempts) + " attempts)", {});
      return;
    }
    ++report.retries;
    log.info("graph.retry", platform::kv("reason", why), platform::kv("wait_ms", wait.count()),
             platform::kv("attempt", a->attempts));
    after(wait, [self = shared_from_this(), a] { self->start(a); });
  }

  void on_response(const std::shared_ptr<Attempt>& a, std::error_code ec, HttpResponse res) {
    if (ec) {
      if (ec == errc::cancelled) {
        a->reply(ec, "cancelled", {});
        return;
      }
      retry_later(a, backoff(a->attempts), ec.message());
      return;
    }
    if (res.status == 401) {
      if (!a->refreshed) {
        a->refreshed = true;
        tokens.invalidate();
        log.info("graph.token_refresh_after_401");
        start(a);
        return;
      }
      // Describe before moving: argument evaluation order is unspecified.
      std::string why = describe_error(res);
      a->reply(graph_errc::unauthorized, std::move(why), std::move(res));
      return;
    }
    if (is_retryable_status(res.status)) {
      retry_later(a, retry_wait(res, a->attempts), describe_error(res));
      return;
    }
    a->reply({}, {}, std::move(res));
  }

  std::optional<Url> checked_link(const std::string& link, std::error_code& ec,
                                  std::string& detail) {
    auto url = Url::parse(link);
    if (!url) {
      ec = graph_errc::unexpected_shape;
      detail = "unparseable link in a page";
      return std::nullopt;
    }
    if (!origin || !url->same_origin(*origin)) {
      ec = graph_errc::foreign_link;
      detail = "link to " + url->scheme + "://" + url->authority() + " refused (graph_url is " +
               opt.graph_url + ")";
      log.warning("graph.foreign_link", platform::kv("host", url->authority()));
      return std::nullopt;
    }
    return url;
  }

  HttpRequest get(const Url& url) {
    HttpRequest req;
    req.method = "GET";
    req.url = url;
    req.headers.push_back({"Accept", "application/json"});
    return req;
  }

  // ----------------------------------------------------------------- Intune

  struct IntuneRun {
    std::vector<Identity> items;  // in arrival order, repeated ids included, until sort_unique
    Url url;
    bool first = true;
    int parse_attempts = 0;
    std::deque<std::size_t> pending;  // enrichment: indices into items
    std::unordered_map<std::size_t, int> item_attempts;
    Step next;
  };

  void sync_intune(Step next) {
    auto run = std::make_shared<IntuneRun>();
    run->next = std::move(next);
    auto url = Url::parse(opt.graph_url + "/" + opt.api_version +
                          "/deviceManagement/managedDevices?$select=" + kIntuneSelect);
    if (!url) {
      run->next(graph_errc::unexpected_shape, "invalid graph_url " + opt.graph_url);
      return;
    }
    run->url = *url;
    intune_page(run);
  }

  void intune_page(const std::shared_ptr<IntuneRun>& run) {
    send(get(run->url), 1,
         [self = shared_from_this(), run](std::error_code ec, const std::string& detail,
                                          const HttpResponse& res) {
           if (ec) return run->next(ec, "Intune managedDevices: " + detail);
           if (res.status != 200) {
             return run->next(graph_errc::http_error,
                              "Intune managedDevices: " + describe_error(res));
           }
           self->intune_body(run, res.body);
         });
  }

  void intune_body(const std::shared_ptr<IntuneRun>& run, const std::string& body) {
    Page page;
    if (auto ec = parse_page(body, PageKind::intune, page, &text_pool)) {
      if (ec == graph_errc::invalid_json && ++run->parse_attempts < opt.retry.max_attempts) {
        ++report.retries;
        log.warning("graph.invalid_page", platform::kv("attempt", run->parse_attempts));
        after(backoff(run->parse_attempts),
              [self = shared_from_this(), run] { self->intune_page(run); });
        return;
      }
      return run->next(ec, "Intune managedDevices page: " + ec.message());
    }
    run->parse_attempts = 0;
    ++report.intune_pages;
    report.stats += page.stats;
    if (run->first) {
      report.expected_count = page.count;
      run->first = false;
      // One allocation of the final size instead of doubling (each growth briefly holds the
      // list twice).
      if (page.count) {
        run->items.reserve(static_cast<std::size_t>(std::min(*page.count, kReserveMax)));
      }
    }
    for (Identity& id : page.items) run->items.push_back(std::move(id));
    if (!page.next_link.empty()) {
      std::error_code ec;
      std::string detail;
      auto next = checked_link(page.next_link, ec, detail);
      if (!next) return run->next(ec, "Intune nextLink: " + detail);
      if (next->target == run->url.target) {
        return run->next(graph_errc::paging_loop, "Intune nextLink repeats the current page");
      }
      run->url = *next;
      intune_page(run);
      return;
    }
    sort_unique(run->items);
    report.intune_devices = run->items.size();
    if (report.expected_count && run->items.size() < *report.expected_count) {
      report.intune_incomplete = true;
      log.warning("graph.intune_incomplete", platform::kv("expected", *report.expected_count),
                  platform::kv("received", run->items.size()));
    }
    if (report.duplicates > 0) {
      log.warning("graph.intune_duplicates", platform::kv("count", report.duplicates));
    }
    if (!opt.enrich_ethernet) return commit_intune(run);
    for (std::size_t i = 0; i < run->items.size(); ++i) {
      Identity& id = run->items[i];
      auto cached = state.ethernet_mac(id.intune_id);
      if (cached && cached->last_sync == id.last_sync) {
        id.ethernet_mac = cached->ethernet;
        ++report.ethernet_cached;
        if (id.ethernet_mac) ++report.ethernet_found;
      } else {
        run->pending.push_back(i);
      }
    }
    enrich_batch(run);
  }

  // Ids repeated across pages are dropped, the first occurrence kept, and the list is put in
  // intune_id order, which join_identities() then finds in one pass instead of sorting it on
  // every call (Graph's order means nothing). Repeats are found here, once, by sorting keys,
  // not with a hash set of every id held while paging (50 B and a node allocation per device).
  void sort_unique(std::vector<Identity>& items) {
    const auto repeated = cloud::sort_unique(items);
    report.duplicates += repeated.size();
    for (std::size_t i = 0; i < repeated.size() && i < kDuplicateListMax; ++i) {
      report.duplicate_ids.push_back(repeated[i].to_string());
    }
  }

  void commit_intune(const std::shared_ptr<IntuneRun>& run) {
    intune = std::move(run->items);
    state.set_last_full_sync("intune", clock.now());
    run->next({}, {});
  }

  void enrich_batch(const std::shared_ptr<IntuneRun>& run) {
    if (run->pending.empty()) return commit_intune(run);
    std::vector<std::size_t> batch;
    std::string body = "{\"requests\":[";
    while (!run->pending.empty() && batch.size() < std::max<std::size_t>(opt.batch_size, 1)) {
      const std::size_t i = run->pending.front();
      run->pending.pop_front();
      if (!batch.empty()) body += ',';
      body += "{\"id\":\"" + std::to_string(i) +
              "\",\"method\":\"GET\",\"url\":\"/deviceManagement/managedDevices/" +
              run->items[i].intune_id.to_string() + "?$select=ethernetMacAddress\"}";
      batch.push_back(i);
    }
    body += "]}";
    auto url = Url::parse(opt.graph_url + "/" + opt.api_version + "/$batch");
    HttpRequest req;
    req.method = "POST";
    req.url = *url;
    req.headers.push_back({"Accept", "application/json"});
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = std::move(body);
    report.ethernet_lookups += batch.size();
    send(std::move(req), batch.size(),
         [self = shared_from_this(), run, batch](std::error_code ec, std::string detail,
                                                 const HttpResponse& res) {
           if (!ec && res.status != 200) {
             ec = graph_errc::http_error;
             detail = describe_error(res);
           }
           if (ec) {
             // Enrichment is best effort: the device list stays valid without Ethernet MACs.
             self->report.batch_item_failures += batch.size() + run->pending.size();
             self->log.warning("graph.batch_failed", platform::kv("error", detail));
             run->pending.clear();
             return self->commit_intune(run);
           }
           self->batch_body(run, batch, res.body);
         });
  }

  void batch_body(const std::shared_ptr<IntuneRun>& run, const std::vector<std::size_t>& batch,
                  const std::string& body) {
    // A $batch response holds at most 20 small bodies: a DOM parse is fine here.
    json::error_code jec;
    json::value doc = json::parse(body, jec);
    const json::array* responses = nullptr;
    if (!jec && doc.is_object()) {
      if (auto* r = doc.as_object().if_contains("responses"); r && r->is_array()) {
        responses = &r->as_array();
      }
    }
    std::unordered_set<std::size_t> answered;
    std::vector<std::size_t> again;
    milliseconds wait{0};
    bool throttled = false;
    if (responses != nullptr) {
      for (const json::value& item : *responses) {
        if (!item.is_object()) continue;
        const json::object& o = item.as_object();
        const json::value* idv = o.if_contains("id");
        if (idv == nullptr || !idv->is_string()) continue;
        std::size_t index = 0;
        try {
          index = std::stoul(std::string(idv->as_string()));
        } catch (...) {
          continue;
        }
        if (std::find(batch.begin(), batch.end(), index) == batch.end()) continue;
        answered.insert(index);
        unsigned status = 0;
        if (const json::value* s = o.if_contains("status"); s && s->is_number()) {
          status = static_cast<unsigned>(s->to_number<double>());
        }
        Identity& id = run->items[index];
        if (status == 200) {
          std::optional<platform::MacAddress> mac;
          if (const json::value* b = o.if_contains("body"); b && b->is_object()) {
            if (const json::value* m = b->as_object().if_contains("ethernetMacAddress");
                m && m->is_string() && !m->as_string().empty()) {
              mac = normalize_mac(std::string_view(m->as_string().data(), m->as_string().size()));
              if (!mac) ++report.stats.bad_macs;
            }
          }
          id.ethernet_mac = mac;
          if (mac) ++report.ethernet_found;
          state.put_ethernet_mac(id.intune_id, {id.last_sync, mac});
        } else if (is_retryable_status(status)) {
          throttled = true;
          HttpResponse pseudo;
          if (const json::value* h = o.if_contains("headers"); h && h->is_object()) {
            for (const auto& kv : h->as_object()) {
              if (kv.value().is_string()) {
                pseudo.headers.push_back(
                    {std::string(kv.key()), std::string(kv.value().as_string())});
              }
            }
          }
          const int n = ++run->item_attempts[index];
          if (n < opt.retry.max_attempts) {
            wait = std::max(wait, retry_wait(pseudo, n));
            again.push_back(index);
          } else {
            ++report.batch_item_failures;
          }
        } else if (status == 404) {
          // Retired between the list and the lookup: nothing to enrich.
        } else {
          ++report.batch_item_failures;
        }
      }
    }
    for (std::size_t index : batch) {
      if (answered.count(index) != 0) continue;
      const int n = ++run->item_attempts[index];
      if (n < opt.retry.max_attempts) {
        again.push_back(index);
        wait = std::max(wait, backoff(n));
      } else {
        ++report.batch_item_failures;
      }
    }
    for (auto it = again.rbegin(); it != again.rend(); ++it) run->pending.push_front(*it);
    if (!again.empty()) {
      ++report.retries;
      log.info("graph.batch_retry", platform::kv("items", again.size()),
               platform::kv("throttled", throttled), platform::kv("wait_ms", wait.count()));
      after(wait, [self = shared_from_this(), run] { self->enrich_batch(run); });
      return;
    }
    enrich_batch(run);
  }

  // ----------------------------------------------------------------- Entra

  struct EntraRun {
    bool full = true;
    bool resynced = false;
    std::vector<Identity> fresh;          // full round: the devices in arrival order
    std::vector<Removal> fresh_removals;  // full round: "@removed" entries among them
    std::vector<Identity> changes;
    std::vector<Guid> removed;
    Url url;
    int parse_attempts = 0;
    Step next;
  };

  void sync_entra(Step next, bool resynced = false) {
    auto run = std::make_shared<EntraRun>();
    run->next = std::move(next);
    run->resynced = resynced;
    const std::string link = state.entra_delta_link();
    std::optional<Url> url;
    if (!link.empty() && entra_valid) {
      std::error_code ec;
      std::string detail;
      url = checked_link(link, ec, detail);
      if (!url) return run->next(ec, "stored Entra deltaLink: " + detail);
      run->full = false;
    } else {
      url = Url::parse(opt.graph_url + "/" + opt.api_version +
                       "/devices/delta?$select=" + kEntraSelect);
      if (!url) return run->next(graph_errc::unexpected_shape, "invalid graph_url");
    }
    // A full round holds about as many devices as the last one did, or as Intune has: room for
    // them now instead of doubling (each growth briefly holds the list twice).
    if (run->full) run->fresh.reserve(std::max(entra.size(), intune.size()));
    report.entra_full_round = run->full;
    report.entra_resynced = report.entra_resynced || resynced;
    run->url = *url;
    entra_page(run);
  }

  static bool needs_resync(const HttpResponse& res) {
    if (res.status == 410) return true;
    if (res.status < 400 || res.status >= 500) return false;
    auto err = parse_graph_error(res.body);
    if (!err) return false;
    auto ieq = [](std::string_view a, std::string_view b) {
      return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
             });
    };
    for (const std::string* code : {&err->code, &err->inner_code}) {
      if (ieq(*code, "syncStateNotFound") || ieq(*code, "resyncRequired")) return true;
    }
    return false;
  }

  void entra_page(const std::shared_ptr<EntraRun>& run) {
    send(get(run->url), 1,
         [self = shared_from_this(), run](std::error_code ec, const std::string& detail,
                                          const HttpResponse& res) {
           if (ec) return run->next(ec, "Entra devices delta: " + detail);
           if (needs_resync(res)) {
             self->log.warning("graph.entra_resync", platform::kv("status", res.status));
             self->state.set_entra_delta_link("");
             self->entra_valid = false;
             if (run->resynced) {
               return run->next(graph_errc::resync_required,
                                "Entra delta: resync failed again: " + describe_error(res));
             }
             return self->sync_entra(std::move(run->next), true);
           }
           if (res.status != 200) {
             return run->next(graph_errc::http_error,
                              "Entra devices delta: " + describe_error(res));
           }
           self->entra_body(run, res.body);
         });
  }

  void entra_body(const std::shared_ptr<EntraRun>& run, const std::string& body) {
    Page page;
    if (auto ec = parse_page(body, PageKind::entra, page, &text_pool)) {
      if (ec == graph_errc::invalid_json && ++run->parse_attempts < opt.retry.max_attempts) {
        ++report.retries;
        after(backoff(run->parse_attempts),
              [self = shared_from_this(), run] { self->entra_page(run); });
        return;
      }
      return run->next(ec, "Entra devices delta page: " + ec.message());
    }
    run->parse_attempts = 0;
    report.stats += page.stats;
    for (Identity& id : page.items) {
      (run->full ? run->fresh : run->changes).push_back(std::move(id));
    }
    for (const Guid& g : page.removed) {
      if (run->full) {
        run->fresh_removals.push_back({g, run->fresh.size()});
      } else {
        run->removed.push_back(g);
      }
    }
    std::error_code ec;
    std::string detail;
    if (!page.next_link.empty()) {
      auto next = checked_link(page.next_link, ec, detail);
      if (!next) return run->next(ec, "Entra nextLink: " + detail);
      if (next->target == run->url.target) {
        return run->next(graph_errc::paging_loop, "Entra nextLink repeats the current page");
      }
      run->url = *next;
      entra_page(run);
      return;
    }
    if (page.delta_link.empty()) {
      return run->next(graph_errc::unexpected_shape,
                       "Entra delta page without nextLink or deltaLink");
    }
    if (!checked_link(page.delta_link, ec, detail)) {
      return run->next(ec, "Entra deltaLink: " + detail);
    }
    // Commit only now: a round that failed half-way leaves the previous state intact.
    if (run->full) {
      fold_round(run->fresh, std::move(run->fresh_removals));
      entra = std::move(run->fresh);
      report.entra_changes = entra.size();
      state.set_last_full_sync("entra", clock.now());
    } else {
      report.entra_changes = run->changes.size();
      apply_delta(entra, run->changes, run->removed);
    }
    report.entra_removed = run->removed.size();
    report.entra_devices = entra.size();
    entra_valid = true;
    state.set_entra_delta_link(page.delta_link);
    run->next({}, {});
  }

  // ----------------------------------------------------------------- entry points

  bool begin(Done& d) {
    if (busy) {
      SyncOutcome o;
      o.ec = graph_errc::cancelled;
      o.detail = "a sync is already running";
      d(std::move(o));
      return false;
    }
    busy = true;
    report = SyncReport{};
    done = std::move(d);
    return true;
  }

  Step finisher() {
    std::weak_ptr<Impl> weak = shared_from_this();
    return [weak](std::error_code ec, std::string detail) {
      auto self = weak.lock();
      if (!self || self->stopped) return;
      self->busy = false;
      if (ec) self->log.warning("graph.sync_failed", platform::kv("error", detail));
      SyncOutcome o{ec, std::move(detail), std::move(self->report)};
      self->report = SyncReport{};
      auto d = std::move(self->done);
      self->done = nullptr;
      d(std::move(o));
    };
  }
};

GraphClient::GraphClient(HttpClient& http, TokenProvider& tokens, Scheduler& scheduler,
                         const platform::Clock& clock, SyncStateStore& state,
                         const platform::Logger& log, GraphOptions options)
    : impl_(
          std::make_shared<Impl>(http, tokens, scheduler, clock, state, log, std::move(options))) {}

GraphClient::~GraphClient() {
  impl_->stopped = true;
}

void GraphClient::async_sync_intune(Done done) {
  if (!impl_->begin(done)) return;
  impl_->sync_intune(impl_->finisher());
}

void GraphClient::async_sync_entra(Done done) {
  if (!impl_->begin(done)) return;
  impl_->sync_entra(impl_->finisher());
}

void GraphClient::async_sync_all(Done done) {
  if (!impl_->begin(done)) return;
  std::weak_ptr<Impl> weak = impl_;
  impl_->sync_intune([weak](std::error_code ec, std::string detail) {
    auto self = weak.lock();
    if (!self || self->stopped) return;
    if (ec) return self->finisher()(ec, std::move(detail));
    self->sync_entra(self->finisher());
  });
}

const std::vector<Identity>& GraphClient::intune_devices() const noexcept {
  return impl_->intune;
}

std::vector<Identity> GraphClient::entra_devices() const {
  return impl_->entra;
}

void GraphClient::seed_entra(std::vector<Identity> devices) {
  fold_round(devices, {}, false);  // a repeated id keeps its first device
  impl_->entra = std::move(devices);
  impl_->entra_valid = true;
}

std::vector<Identity> GraphClient::identities() const {
  return join_identities(impl_->intune, impl_->entra);
}

}  // namespace edgeid::cloud

// The uploader against a scripted HTTP server and a real store: batches and acknowledgement,
// backoff and Retry-After, bisection of a refused batch down to the one bad item, drain.
#include "uploader.h"

#include <atomic>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "agent/inventory.h"
#include "agent/merge.h"
#include "fakes/fake_http_server.h"
#include "platform/temp_dir.h"

namespace {

using namespace edgeid;
using fakes::FakeHttpServer;
using fakes::FakeRequest;
using fakes::FakeResponse;

store::OutboxItem record(int n, const std::string& text = "ok") {
  store::OutboxItem o;
  o.kind = agent::kOutboxDevice;
  o.entity = "d" + std::to_string(n);
  o.payload = R"({"n":)" + std::to_string(n) + R"(,"text":")" + text + R"("})";
  o.created = platform::Timestamp::from_unix_seconds(1'700'000'000);
  return o;
}

// The server side: a handler from the test, every request recorded.
struct Collector {
  std::mutex mutex;
  std::function<FakeResponse(const FakeRequest&)> answer = [](const FakeRequest&) {
    return FakeResponse{};
  };
  std::vector<std::string> bodies;  // of 2xx answers
  FakeHttpServer server{{.tls = false, .handler = [this](const FakeRequest& r) {
                           std::lock_guard lock(mutex);
                           auto a = answer(r);
                           if (a.status / 100 == 2) bodies.push_back(r.body);
                           return a;
                         }}};

  std::size_t lines() {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& b : bodies) {
      n += static_cast<std::size_t>(std::count(b.begin(), b.end(), '\n'));
    }
    return n;
  }
};

struct Rig {
  test::TempDir dir;
  store::Store store;
  platform::MemorySink sink;
  platform::Logger log{sink, "upstream"};
  platform::SystemClock clock;
  boost::asio::io_context io;
  Collector collector;
  cloud::HttpClient http{io, nullptr, {}};
  std::unique_ptr<agent::Uploader> uploader;

  explicit Rig(agent::UploaderOptions o = {}) {
    REQUIRE_FALSE(store.open(agent::store_options(dir.path(), false)));
    cloud::CollectorOptions co;
    co.url = *cloud::Url::parse(collector.server.url("/ingest"));
    co.sensor_id = "s1";
    o.backoff_initial = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(100);
    if (!o.jitter) o.jitter = [] { return 0.0; };
    uploader = std::make_unique<agent::Uploader>(
        io, store, http, cloud::make_collector_sink(std::move(co)), std::move(o), clock, log);
  }

  void add(std::vector<store::OutboxItem> items) {
    REQUIRE_FALSE(store.apply(store::Batch{.outbox = std::move(items)}));
  }
  std::uint64_t outbox() {
    store::StoreStats st;
    REQUIRE_FALSE(store.stats(st));
    return st.outbox_items;
  }
  // Runs the io_context until @p done says so (or 10 s pass).
  template <class F>
  bool run_until(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    return done();
  }
};

}  // namespace

TEST_CASE("uploader: batches of at most max_records and max_bytes, acknowledged on 2xx") {
  agent::UploaderOptions o;
  o.max_records = 4;
  o.max_bytes = 50;  // each payload is 19 bytes: 2 per batch by bytes
  Rig rig(o);
  std::vector<store::OutboxItem> items;
  items.reserve(10);
  for (int n = 0; n < 9; ++n) items.push_back(record(n));
  items.push_back(record(9, std::string(100, 'x')));  // larger than the cap: goes alone
  rig.add(std::move(items));
  bool drained = false;
  bool all = false;
  rig.uploader->drain([&](bool ok) {
    drained = true;
    all = ok;
  });
  REQUIRE(rig.run_until([&] { return drained; }));
  CHECK(all);
  CHECK(rig.outbox() == 0);
  CHECK(rig.collector.lines() == 10);
  const auto requests = rig.collector.server.requests();
  REQUIRE(requests.size() == 6);  // 2+2+2+2+1 by bytes, then the big one
  CHECK(requests[0].header("Idempotency-Key") == "s1:1-2");
  CHECK(requests[4].header("Idempotency-Key") == "s1:9-9");
  CHECK(requests[5].header("Idempotency-Key") == "s1:10-10");
  const auto st = rig.uploader->status();
  CHECK(st.delivered_items == 10);
  CHECK(st.delivered_batches == 6);
  CHECK(st.failures == 0);
  CHECK(st.sink == "collector");
}

TEST_CASE("uploader: 5xx and dropped answers back off and retry; nothing is acknowledged early") {
  Rig rig;
  std::atomic<int> calls{0};
  rig.collector.answer = [&](const FakeRequest&) {
    FakeResponse r;
    const int n = ++calls;
    if (n == 1) r.status = 503;
    if (n == 2) r.fault = fakes::ResponseFault::close_mid_body;
    if (n == 3) r.status = 500;
    if (r.status != 200) r.reason = "Nope";
    r.body = "{\"accepted\":1}";
    return r;
  };
  rig.add({record(1), record(2)});
  rig.uploader->kick();
  REQUIRE(rig.run_until([&] { return rig.outbox() == 0; }));
  CHECK(calls == 4);
  const auto st = rig.uploader->status();
  CHECK(st.retries == 3);
  CHECK(st.failures == 0);  // reset by the success
  CHECK(st.delivered_items == 2);
  CHECK(st.last_error.find("500 Nope") == 0);
  // All four attempts carried the same batch and key: the collector collapses repeats.
  for (const auto& r : rig.collector.server.requests()) {
    CHECK(r.header("Idempotency-Key") == "s1:1-2");
  }
}

TEST_CASE("uploader: Retry-After is honoured over a shorter backoff") {
  Rig rig;
  std::atomic<int> calls{0};
  rig.collector.answer = [&](const FakeRequest&) {
    FakeResponse r;
    if (++calls == 1) {
      r.status = 429;
      r.reason = "Too Many Requests";
      r.headers.emplace_back("Retry-After", "2");
    }
    return r;
  };
  rig.add({record(1)});
  rig.uploader->kick();
  REQUIRE(rig.run_until([&] { return rig.uploader->status().backing_off; }));
  const auto st = rig.uploader->status();
  CHECK(st.next_attempt_in > std::chrono::milliseconds(1500));  // not the 20 ms backoff
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(rig.run_until([&] { return rig.outbox() == 0; }));
  CHECK(std::chrono::steady_clock::now() - start > std::chrono::milliseconds(1500));
  CHECK(calls == 2);
}

TEST_CASE("uploader: a refused batch is halved until only the bad item is parked") {
  agent::UploaderOptions o;
  o.max_records = 8;
  Rig rig(o);
  rig.collector.answer = [](const FakeRequest& r) {
    FakeResponse a;
    if (r.body.find("poison") != std::string::npos) {
      a.status = 400;
      a.reason = "Bad Request";
      a.body = "field text";
    }
    return a;
  };
  std::vector<store::OutboxItem> items;
  items.reserve(8);
  for (int n = 0; n < 8; ++n) items.push_back(record(n, n == 5 ? "poison" : "ok"));
  rig.add(std::move(items));
  bool drained = false;
  rig.uploader->drain([&](bool) { drained = true; });
  REQUIRE(rig.run_until([&] { return drained; }));
  CHECK(rig.outbox() == 0);
  CHECK(rig.collector.lines() == 7);  // every good item delivered
  std::vector<store::OutboxItem> dead;
  REQUIRE_FALSE(rig.store.deadletter_peek(10, dead));
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].seq == 6);
  CHECK(dead[0].payload.find("poison") != std::string::npos);
  store::StoreStats st;
  REQUIRE_FALSE(rig.store.stats(st));
  CHECK(st.deadletter_reason == "400 Bad Request: field text");
  const auto us = rig.uploader->status();
  CHECK(us.parked_items == 1);
  CHECK(us.refused >= 3);  // 8 -> 4 -> 2 -> 1

  // After the operator's fix, the dead letter goes out again, first.
  rig.collector.answer = [](const FakeRequest&) { return FakeResponse{}; };
  std::size_t moved = 0;
  REQUIRE_FALSE(rig.store.deadletter_requeue(moved));
  CHECK(moved == 1);
  rig.uploader->retry_now();
  REQUIRE(rig.run_until([&] { return rig.outbox() == 0; }));
  CHECK(rig.collector.lines() == 8);
}

TEST_CASE("uploader: drain reports the first retryable failure and keeps the items") {
  Rig rig;
  rig.collector.answer = [](const FakeRequest&) {
    FakeResponse a;
    a.status = 401;
    a.reason = "Unauthorized";
    return a;
  };
  rig.add({record(1), record(2)});
  bool drained = false;
  bool all = true;
  rig.uploader->drain([&](bool ok) {
    drained = true;
    all = ok;
  });
  REQUIRE(rig.run_until([&] { return drained; }));
  CHECK_FALSE(all);
  CHECK(rig.outbox() == 2);  // a credential problem is not the batch's fault: not parked
  std::vector<store::OutboxItem> dead;
  REQUIRE_FALSE(rig.store.deadletter_peek(10, dead));
  CHECK(dead.empty());
  rig.uploader->stop();
}

TEST_CASE("uploader: the batch built ahead is dropped when the one in flight fails") {
  agent::UploaderOptions o;
  o.max_records = 2;
  Rig rig(o);
  std::atomic<int> calls{0};
  rig.collector.answer = [&](const FakeRequest&) {
    FakeResponse r;
    if (++calls == 2) r.status = 500;
    return r;
  };
  rig.add({record(1), record(2), record(3), record(4), record(5), record(6)});
  bool drained = false;
  rig.uploader->drain([&](bool) { drained = true; });
  REQUIRE(rig.run_until([&] { return rig.outbox() == 0; }));
  std::vector<std::string> keys;
  for (const auto& r : rig.collector.server.requests()) {
    keys.push_back(r.header("Idempotency-Key").value_or(""));
  }
  // In order, the failed batch again before anything after it.
  CHECK(keys == std::vector<std::string>{"s1:1-2", "s1:3-4", "s1:3-4", "s1:5-6"});
  CHECK(rig.collector.lines() == 6);
}

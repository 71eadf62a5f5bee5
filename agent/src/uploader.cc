#include "uploader.h"

#include <algorithm>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/merge.h"

namespace edgeid::agent {

namespace asio = boost::asio;
using platform::kv;

// Everything the callbacks touch lives here, held by shared_ptr so that a callback arriving
// after stop() finds it alive (and sees `stopped`).
struct Uploader::State : std::enable_shared_from_this<Uploader::State> {
  State(asio::io_context& context, store::Store& outbox, cloud::HttpClient& client,
        std::unique_ptr<cloud::UpstreamSink> the_sink, UploaderOptions opts,
        const platform::Clock& time_source, const platform::Logger& logger)
      : io(context),
        store(outbox),
        http(client),
        sink(std::move(the_sink)),
        options(std::move(opts)),
        clock(time_source),
        log(logger),
        timer(context) {
    if (!options.jitter) {
      options.jitter = [engine = std::minstd_rand(std::random_device{}())]() mutable {
        return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
      };
    }
  }

  asio::io_context& io;
  store::Store& store;
  cloud::HttpClient& http;
  std::unique_ptr<cloud::UpstreamSink> sink;
  UploaderOptions options;
  const platform::Clock& clock;
  platform::Logger log;
  asio::steady_timer timer;

  bool stopped = false;
  bool in_flight = false;
  bool backing_off = false;
  bool step_posted = false;
  platform::Clock::MonotonicTime retry_at{};
  // Bisection of a refused batch: batches are at most `probe` items until the item with seq
  // `refused_until` has been delivered or parked.
  std::size_t probe = 0;
  std::uint64_t refused_until = 0;
  UploaderStatus st;
  std::vector<std::function<void(bool)>> drains;

  // A batch: its items' seqs and the requests that deliver them.
  struct Batch {
    std::vector<std::uint64_t> seqs;
    std::vector<cloud::HttpRequest> requests;
    std::uint64_t bytes = 0;
    bool empty() const noexcept { return seqs.empty(); }
  };
  Batch current;  // in flight
  // The batch after it, built while the current one is on the wire, so that the conversion
  // overlaps the peer's work (it halves a ClickHouse push). Dropped whenever the current batch
  // is not delivered: the items are still in the outbox and are built again.
  Batch next;
  bool next_posted = false;

  void post_step() {
    if (step_posted || stopped) return;
    step_posted = true;
    asio::post(io, [self = shared_from_this()] {
      self->step_posted = false;
      self->step();
    });
  }

  void finish_drains(bool ok) {
    auto pending = std::move(drains);
    drains.clear();
    for (auto& d : pending) d(ok);
  }

  void park(const std::vector<std::uint64_t>& which, const std::string& reason) {
    if (which.empty()) return;
    if (auto ec = store.outbox_park(which, reason)) {
      log.error("upstream.park_failed", kv("items", which.size()), kv("error", ec.message()));
      return;
    }
    st.parked_items += which.size();
    log.error("upstream.parked", kv("items", which.size()), kv("first_seq", which.front()),
              kv("reason", reason));
  }

  // Builds the batch of the oldest items after seq @p after (0: from the head). Items that
  // cannot be framed are parked (never silently dropped).
  std::error_code build(Batch& b, std::uint64_t after) {
    b = Batch();
    std::vector<store::OutboxItem> items;
    const std::size_t limit = probe != 0 ? probe : options.max_records;
    if (auto ec = store.outbox_peek(limit, items, {}, after)) return ec;
    // The byte cap, but always at least one item (a record larger than the cap still goes).
    std::size_t n = 0;
    std::uint64_t size = 0;
    for (; n < items.size(); ++n) {
      if (n > 0 && size + items[n].payload.size() > options.max_bytes) break;
      size += items[n].payload.size();
    }
    items.resize(n);

    std::vector<cloud::UpstreamItem> upstream;
    std::vector<std::uint64_t> bad;
    for (const auto& i : items) {
      b.seqs.push_back(i.seq);
      const bool event = i.kind == kOutboxEvent;
      const bool record = i.kind == kOutboxDevice || i.kind == kOutboxIdentityOnly;
      if (i.payload.empty() || (!event && !record)) {
        bad.push_back(i.seq);
        continue;
      }
      upstream.push_back(
          {i.seq, event ? cloud::UpstreamKind::event : cloud::UpstreamKind::record, i.payload});
    }
    std::vector<std::uint64_t> skipped;
    b.requests = sink->requests(upstream, skipped);
    bad.insert(bad.end(), skipped.begin(), skipped.end());
    if (!bad.empty()) {
      park(bad, "unreadable outbox item");
      std::erase_if(b.seqs, [&](std::uint64_t s) {
        return std::find(bad.begin(), bad.end(), s) != bad.end();
      });
    }
    for (const auto& r : b.requests) b.bytes += r.body.size();
    if (b.requests.empty()) b.seqs.clear();
    return {};
  }

  void step() {
    if (stopped || in_flight || backing_off) return;
    if (!next.empty()) {
      current = std::move(next);
      next = Batch();
    } else {
      if (auto ec = build(current, 0)) {
        fail_retry(
            cloud::DeliveryResult{cloud::Delivery::retry, std::nullopt, "outbox: " + ec.message()});
        return;
      }
      if (current.empty()) {
        // The outbox is empty, or its head held only items that were just parked.
        std::vector<store::OutboxItem> head;
        if (auto ec = store.outbox_peek(1, head); ec || head.empty()) {
          probe = 0;
          finish_drains(true);
        } else {
          post_step();
        }
        return;
      }
    }
    in_flight = true;
    send(0);
    // Build the next batch once this one is under way (posted: the write starts first).
    if (probe == 0 && !next_posted) {
      next_posted = true;
      asio::post(io, [self = shared_from_this()] {
        self->next_posted = false;
        if (self->stopped || !self->in_flight || self->current.empty()) return;
        // A store error here only costs the head start: the next step builds from the head.
        if (self->build(self->next, self->current.seqs.back())) self->next = Batch();
      });
    }
  }

  void send(std::size_t index) {
    http.async_request(current.requests[index], [self = shared_from_this(), index](
                                                    std::error_code ec,
                                                    const cloud::HttpResponse& response) {
      if (self->stopped) return;
      const auto now = self->clock.now();
      auto result = self->sink->judge(ec, response, static_cast<double>(now.unix_seconds()));
      if (result.what == cloud::Delivery::delivered && index + 1 < self->current.requests.size()) {
        self->send(index + 1);
        return;
      }
      self->in_flight = false;
      self->done(std::move(result));
    });
  }

  void done(cloud::DeliveryResult result) {
    const auto now = clock.now();
    switch (result.what) {
      case cloud::Delivery::delivered: {
        if (auto ec = store.outbox_ack(current.seqs)) {
          // Delivered but not forgotten: it will be sent again (a duplicate, never a loss).
          fail_retry(cloud::DeliveryResult{cloud::Delivery::retry, std::nullopt,
                                           "outbox acknowledge: " + ec.message()});
          return;
        }
        if (st.failures > 0) log.info("upstream.recovered", kv("after_failures", st.failures));
        st.failures = 0;
        st.delivered_items += current.seqs.size();
        ++st.delivered_batches;
        st.delivered_bytes += current.bytes;
        st.last_success = now;
        if (probe != 0 && current.seqs.back() >= refused_until) probe = 0;
        post_step();
        return;
      }
      case cloud::Delivery::refused: {
        ++st.refused;
        st.last_failure = now;
        st.last_error = result.detail;
        next = Batch();
        if (current.seqs.size() > 1) {
          probe = std::max<std::size_t>(1, current.seqs.size() / 2);
          refused_until = std::max(refused_until, current.seqs.back());
          log.warning("upstream.refused", kv("items", current.seqs.size()),
                      kv("detail", result.detail), kv("next_batch", probe));
        } else {
          park(current.seqs, result.detail);
          if (current.seqs.back() >= refused_until) probe = 0;
        }
        post_step();
        return;
      }
      case cloud::Delivery::retry: fail_retry(std::move(result)); return;
    }
  }

  void fail_retry(cloud::DeliveryResult result) {
    next = Batch();
    ++st.failures;
    ++st.retries;
    st.last_failure = clock.now();
    st.last_error = result.detail;
    // Exponential, with "equal jitter": between half and all of the step, so that a fleet
    // restarted together spreads out, yet never retries at once.
    const auto exp = std::min<std::uint64_t>(st.failures - 1, 20);
    const auto step_ms =
        std::min<std::int64_t>(options.backoff_initial.count() << exp, options.backoff_max.count());
    const std::int64_t half = step_ms / 2;
    auto delay = std::chrono::milliseconds(
        half + static_cast<std::int64_t>(options.jitter() * static_cast<double>(half)));
    if (result.retry_after) {
      delay = std::max(delay, std::min(*result.retry_after, options.retry_after_max));
    }
    log.warning("upstream.retry", kv("failures", st.failures), kv("detail", result.detail),
                kv("delay_ms", static_cast<std::int64_t>(delay.count())));
    finish_drains(false);
    if (stopped) return;  // a drain's callback stopped us
    backing_off = true;
    retry_at = clock.monotonic() + delay;
    timer.expires_after(delay);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopped) return;
      self->backing_off = false;
      self->step();
    });
  }
};

Uploader::Uploader(asio::io_context& io, store::Store& store, cloud::HttpClient& http,
                   std::unique_ptr<cloud::UpstreamSink> sink, UploaderOptions options,
                   const platform::Clock& clock, const platform::Logger& log)
    : state_(std::make_shared<State>(io, store, http, std::move(sink), std::move(options), clock,
                                     log)) {
  state_->st.sink = std::string(state_->sink->name());
}

Uploader::~Uploader() {
  try {
    stop();
  } catch (...) {  // a destructor must not throw, and there is nothing left to undo
  }
}

void Uploader::kick() {
  state_->post_step();
}

void Uploader::retry_now() {
  state_->next = State::Batch();  // requeued dead letters (lower seqs) go first
  if (state_->backing_off) {
    state_->timer.cancel();
    state_->backing_off = false;
  }
  state_->post_step();
}

void Uploader::drain(std::function<void(bool)> done) {
  state_->drains.push_back(std::move(done));
  state_->post_step();
}

void Uploader::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  state_->timer.cancel();
  state_->finish_drains(false);
}

UploaderStatus Uploader::status() const {
  UploaderStatus s = state_->st;
  s.in_flight = state_->in_flight;
  s.backing_off = state_->backing_off;
  if (s.backing_off) {
    s.next_attempt_in = std::max(std::chrono::milliseconds(0),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     state_->retry_at - state_->clock.monotonic()));
  }
  return s;
}

}  // namespace edgeid::agent

#pragma once
// Uploader: delivers the store's outbox through an upstream sink (docs/UPSTREAM.md, "Delivery").
//
// One batch in flight at a time, oldest items first, at most max_records items and max_bytes of
// stored JSON per batch. A delivered batch is acknowledged (deleted from the outbox) only after
// every request of it got a 2xx, so a crash anywhere re-sends, never loses (the sinks collapse
// the duplicates). A retryable failure backs off exponentially with jitter, at least as long as
// the peer's Retry-After. A refused batch is halved until the refused item is alone, and only
// that item is parked in the dead-letter table: good items never share a bad one's fate.
//
// Thread safety: every call, and every callback, on the io_context's thread (the daemon's
// agent thread, which also owns the Store). Lifetime: the io_context, store, HTTP client and
// logger outlive the Uploader; stop() (or the destructor) cancels the backoff timer, and the
// HTTP callback of a request in flight is ignored after it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloud/http_client.h"
#include "cloud/upstream.h"
#include "platform/log.h"
#include "platform/time.h"
#include "store/store.h"

namespace edgeid::agent {

struct UploaderOptions {
  std::size_t max_records = 500;
  std::size_t max_bytes = std::size_t{1} << 20;
  std::chrono::milliseconds backoff_initial{1'000};
  std::chrono::milliseconds backoff_max{300'000};
  std::chrono::milliseconds retry_after_max{3'600'000};
  /// Returns a value in [0, 1); the default draws from a random engine. Tests fix it.
  std::function<double()> jitter;
};

struct UploaderStatus {
  std::string sink;
  bool in_flight = false;
  bool backing_off = false;
  std::uint64_t delivered_items = 0;
  std::uint64_t delivered_batches = 0;
  std::uint64_t delivered_bytes = 0;  ///< request bodies of delivered batches
  std::uint64_t failures = 0;         ///< consecutive retryable failures
  std::uint64_t retries = 0;          ///< retryable failures since start
  std::uint64_t refused = 0;          ///< refused answers since start (before bisection)
  std::uint64_t parked_items = 0;     ///< items moved to the dead-letter table since start
  std::optional<platform::Timestamp> last_success;
  std::optional<platform::Timestamp> last_failure;
  std::string last_error;
  std::chrono::milliseconds next_attempt_in{0};  ///< while backing off
};

class Uploader {
 public:
  Uploader(boost::asio::io_context& io, store::Store& store, cloud::HttpClient& http,
           std::unique_ptr<cloud::UpstreamSink> sink, UploaderOptions options,
           const platform::Clock& clock, const platform::Logger& log);
  ~Uploader();
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  /// New items may be waiting: send now unless a batch is in flight or a backoff runs.
  void kick();
  /// Ends a backoff early (an operator asked) and kicks.
  void retry_now();
  /// Runs @p done once the outbox is empty (true) or at the first retryable failure (false).
  /// For `edgeid run --once`.
  void drain(std::function<void(bool delivered_all)> done);
  void stop();

  UploaderStatus status() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace edgeid::agent

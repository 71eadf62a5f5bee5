// Crash safety and full-disk behaviour, with real processes: a child writes, the parent kills it
// or fills its disk, then checks what survived.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <sys/mount.h>
#include <sys/wait.h>

#include <doctest/doctest.h>

#include "store/error.h"
#include "store/store.h"
#include "store_test_util.h"

using namespace edgeid::store;
using edgeid::platform::MacAddress;
using edgeid::store::test::make_device;
using edgeid::store::test::ScratchDir;

namespace {

constexpr int kDevicesPerBatch = 50;
constexpr int kItemsPerBatch = 5;

StoreOptions crash_options(const std::filesystem::path& dir) {
  StoreOptions o;
  o.environment.directory = dir;
  o.environment.initial_map_size = std::size_t{1} << 20;  // small: growth happens under fire
  o.environment.max_map_size = std::size_t{1} << 30;
  return o;
}

std::uint64_t last_batch(Store& store) {
  std::error_code ec;
  auto v = store.meta("last_batch", ec);
  return v ? std::stoull(*v) : 0;
}

// Batch n: devices with unique MACs carrying version n, outbox items naming n, meta last_batch=n.
Batch make_batch(std::uint64_t n) {
  Batch b;
  for (int j = 0; j < kDevicesPerBatch; ++j) {
    auto d = make_device(n * kDevicesPerBatch + static_cast<std::uint64_t>(j));
    d.version = n;
    b.devices.push_back(d);
  }
  for (int j = 0; j < kItemsPerBatch; ++j) {
    OutboxItem o;
    o.entity = "batch-" + std::to_string(n);
    o.entity_version = n;
    o.payload = std::to_string(n) + ":" + std::to_string(j);
    b.outbox.push_back(o);
  }
  b.meta = {{"last_batch", std::to_string(n)}};
  return b;
}

// The child: append batches forever, report each committed batch number on the pipe.
[[noreturn]] void writer(const std::filesystem::path& dir, int report_fd) {
  Store store;
  if (store.open(crash_options(dir))) _exit(3);
  for (std::uint64_t n = last_batch(store) + 1;; ++n) {
    if (store.apply(make_batch(n))) _exit(4);
    const std::string line = std::to_string(n) + "\n";
    if (::write(report_fd, line.data(), line.size()) < 0) _exit(5);
    // Acknowledge a few old items now and then, as an upstream would.
    if (n % 7 == 0) {
      std::vector<OutboxItem> items;
      if (!store.outbox_peek(3, items)) {
        std::vector<std::uint64_t> seqs;
        seqs.reserve(items.size());
        for (const auto& it : items) seqs.push_back(it.seq);
        store.outbox_ack(seqs);
      }
    }
  }
}

}  // namespace

TEST_CASE("SIGKILL at random moments, 100 times: every committed batch is intact, nothing torn") {
  ScratchDir dir;
  std::mt19937 rng(20261125);
  std::uint64_t reported = 0;
  std::uint64_t acked_items_floor = 0;
  for (int round = 0; round < 100; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      writer(dir.path(), fds[1]);
    }
    ::close(fds[1]);
    ::usleep(std::uniform_int_distribution<unsigned>(2'000, 40'000)(rng));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    // What the child said it committed before dying.
    std::string text;
    char buf[4096];
    for (ssize_t n = ::read(fds[0], buf, sizeof buf); n > 0; n = ::read(fds[0], buf, sizeof buf)) {
      text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    REQUIRE_MESSAGE((WIFSIGNALED(status) || WEXITSTATUS(status) == 0),
                    "writer failed on its own with status " << WEXITSTATUS(status));
    for (std::size_t pos = 0, nl = text.find('\n'); nl != std::string::npos;
         pos = nl + 1, nl = text.find('\n', pos)) {
      reported = std::max<std::uint64_t>(reported, std::stoull(text.substr(pos, nl - pos)));
    }

    Store store;
    REQUIRE_FALSE(store.open(crash_options(dir.path())));
    const auto last = last_batch(store);
    CHECK(last >= reported);  // a reported commit is durable
    // Every batch up to `last` is complete; nothing beyond it is visible.
    StoreStats st;
    REQUIRE_FALSE(store.stats(st));
    CHECK(st.devices == last * kDevicesPerBatch);
    std::error_code ec;
    for (std::uint64_t n : {std::uint64_t{1}, last / 2 + 1, last}) {
      if (n == 0 || n > last) continue;
      for (int j = 0; j < kDevicesPerBatch; j += 7) {
        auto d =
            store.device(make_device(n * kDevicesPerBatch + static_cast<std::uint64_t>(j)).mac, ec);
        REQUIRE(d);
        CHECK(d->version == n);
      }
    }
    CHECK_FALSE(store.device(make_device((last + 1) * kDevicesPerBatch).mac, ec).has_value());
    // Outbox: items are never lost (only acknowledged ones are gone): the newest batch's items
    // are all there, and sequence numbers are strictly increasing.
    std::vector<OutboxItem> items;
    REQUIRE_FALSE(store.outbox_peek(1'000'000, items));
    CHECK(items.size() + acked_items_floor <= last * kItemsPerBatch);
    std::size_t newest = 0;
    for (std::size_t k = 0; k < items.size(); ++k) {
      if (k > 0) CHECK(items[k].seq > items[k - 1].seq);
      if (items[k].entity_version == last) ++newest;
    }
    if (last > 0) CHECK(newest == kItemsPerBatch);
    // Acknowledged items are at most 3 per 7 batches.
    CHECK(items.size() + 3 * (last / 7 + 1) >= last * kItemsPerBatch);
  }
  CHECK(reported > 0);
}

TEST_CASE("a full disk fails the batch cleanly; after space returns, writing goes on") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: mounting a small tmpfs needs root (CI runs as root)");
    return;
  }
  ScratchDir dir;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    // The child gets its own mount namespace, so the tiny tmpfs is invisible to everything else.
    auto say = [&](const std::string& s) {
      const std::string line = s + "\n";
      (void)!::write(fds[1], line.data(), line.size());
    };
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=600k") != 0) {
      say(std::string("setup ") + std::strerror(errno));
      _exit(0);
    }
    StoreOptions o;
    o.environment.directory = dir.path() / "db";
    o.environment.initial_map_size = std::size_t{8} << 20;  // bigger than the disk
    o.environment.max_map_size = std::size_t{64} << 20;
    std::uint64_t committed = 0;
    std::error_code failure;
    {
      Store store;
      if (auto ec = store.open(o)) {
        say("open " + ec.message());
        _exit(1);
      }
      for (std::uint64_t n = 1; n < 1000; ++n) {
        if ((failure = store.apply(make_batch(n)))) break;
        committed = n;
      }
      say("failed " + failure.message());
      say("committed " + std::to_string(committed));
      // Nothing of the failed batch is visible; the store still reads.
      if (last_batch(store) != committed) _exit(10);
      StoreStats st;
      if (store.stats(st) || st.devices != committed * kDevicesPerBatch) _exit(11);
    }
    // Space returns.
    if (::mount("tmpfs", dir.path().c_str(), "tmpfs", MS_REMOUNT, "size=16m") != 0) _exit(12);
    Store store;
    if (store.open(o)) _exit(13);
    if (last_batch(store) != committed) _exit(14);
    if (store.apply(make_batch(committed + 1))) _exit(15);
    if (last_batch(store) != committed + 1) _exit(16);
    say("ok");
    _exit(0);
  }
  ::close(fds[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string text;
  char buf[1024];
  for (ssize_t n = ::read(fds[0], buf, sizeof buf); n > 0; n = ::read(fds[0], buf, sizeof buf)) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  INFO("child said: " << text);
  if (text.rfind("setup ", 0) == 0) {
    MESSAGE("skipped: no mount namespace here (" << text << ")");
    return;
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(text.find("No space left on device") != std::string::npos);
  CHECK(text.find("ok") != std::string::npos);
}

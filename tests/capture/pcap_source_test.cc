#include "capture/pcap_source.h"

#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>

#include <doctest/doctest.h>

#include "capture/decode.h"
#include "capture/device_table.h"
#include "capture/shared_dir.h"

namespace edgeid::capture {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct CountingSink final : PacketSink {
  std::size_t packets = 0;
  std::size_t bytes = 0;
  void on_packet(const Packet& p) noexcept override {
    ++packets;
    bytes += p.data.size();
  }
};

TEST_CASE("offline: pcap and pcapng files from the shared captures") {
  const auto pcaps = test::shared_dir() / "pcaps";
  if (!fs::is_directory(pcaps)) {
    MESSAGE("SKIP: shared captures not found at " << pcaps);
    return;
  }
  for (const char* name :
       {"zeek__arp-who-has.pcap", "libpcap__rarp_req_reply.pcapng", "zeek__linuxsll-arp.pcap"}) {
    CAPTURE(name);
    std::error_code ec;
    std::string detail;
    auto source = open_offline(pcaps / name, ec, detail);
    REQUIRE(source);
    CHECK_FALSE(source->stats());
    CountingSink sink;
    std::size_t delivered = 0;
    while (!(ec = source->dispatch(-1, sink, delivered))) {
    }
    CHECK(ec == errc::end_of_file);
    CHECK(sink.packets >= 2);
  }
}

TEST_CASE("offline: a missing or garbage file is an error with libpcap's reason") {
  std::error_code ec;
  std::string detail;
  CHECK_FALSE(open_offline("/nonexistent.pcap", ec, detail));
  CHECK(ec == errc::open_failed);
  CHECK_FALSE(detail.empty());
  const auto path = fs::temp_directory_path() / ("edgeid-garbage-" + std::to_string(getpid()));
  std::ofstream(path) << "this is not a capture file at all";
  CHECK_FALSE(open_offline(path, ec, detail));
  CHECK(ec == errc::open_failed);
  fs::remove(path);
}

// A scripted source for LiveCapture: delivers `packets` per dispatch until told to break.
struct FakeSource final : PacketSource {
  int remaining_ok;
  explicit FakeSource(int ok_dispatches) : remaining_ok(ok_dispatches) {}
  std::error_code dispatch(int, PacketSink& sink, std::size_t& delivered) override {
    delivered = 0;
    if (remaining_ok-- <= 0) return errc::read_failed;
    static const std::uint8_t kFrame[60] = {};
    Packet p;
    p.data = kFrame;
    p.wire_length = 60;
    sink.on_packet(p);
    delivered = 1;
    return {};
  }
  LinkType link_type() const noexcept override { return LinkType::ethernet; }
  std::optional<KernelStats> stats() noexcept override { return KernelStats{10, 1, 2}; }
  int selectable_fd() const noexcept override { return -1; }
  std::string last_error() const override { return "The interface went down"; }
};

TEST_CASE("live: a failing interface is reopened with doubling backoff, never fatal") {
  platform::ManualClock clock;
  platform::MemorySink log_sink;
  platform::Logger logger(log_sink, "capture");
  int open_attempts = 0;
  std::deque<bool> script = {true, false, false, true};  // open, fail, fail, open
  LiveCapture::Opener opener = [&](const LiveOptions&, std::error_code& ec,
                                   std::string& detail) -> std::unique_ptr<PacketSource> {
    ++open_attempts;
    const bool ok = script.empty() ? true : script.front();
    if (!script.empty()) script.pop_front();
    if (!ok) {
      ec = errc::open_failed;
      detail = "eth9: No such device";
      return nullptr;
    }
    return std::make_unique<FakeSource>(2);
  };
  LiveCapture live({LiveOptions{"eth9"}}, clock, logger, opener, Backoff{1000ms, 4000ms});
  CountingSink sink;
  CHECK(live.poll(sink, 0ms) == 1);  // opened, one packet
  CHECK(live.poll(sink, 0ms) == 1);
  CHECK(live.poll(sink, 0ms) == 0);  // the read breaks: closed, retry in 1 s
  auto s = live.status();
  REQUIRE(s.size() == 1);
  CHECK_FALSE(s[0].open);
  CHECK(s[0].failures == 1);
  CHECK(s[0].kernel.received == 10);  // kept across the close
  CHECK(open_attempts == 1);
  clock.advance(999ms);
  live.poll(sink, 0ms);
  CHECK(open_attempts == 1);  // not yet
  clock.advance(1ms);
  live.poll(sink, 0ms);  // attempt 2 fails: next in 2 s
  CHECK(open_attempts == 2);
  clock.advance(1999ms);
  live.poll(sink, 0ms);
  CHECK(open_attempts == 2);
  clock.advance(1ms);
  live.poll(sink, 0ms);  // attempt 3 fails: next in 4 s
  CHECK(open_attempts == 3);
  clock.advance(4000ms);
  CHECK(live.poll(sink, 0ms) == 1);  // attempt 4 opens and delivers
  s = live.status();
  CHECK(s[0].open);
  CHECK(s[0].opens == 2);
  CHECK(s[0].failures == 3);
  CHECK(s[0].packets == 3);
  CHECK(log_sink.joined().find("capture.interface_failed") != std::string::npos);
}

TEST_CASE("live: loopback opens with a BPF filter (needs CAP_NET_RAW)") {
  if (geteuid() != 0) {
    MESSAGE("SKIP: not root, cannot open a live interface");
    return;
  }
  std::error_code ec;
  std::string detail;
  LiveOptions o;
  o.interface = "lo";
  o.filter = "arp or udp";
  o.poll_timeout = 50ms;
  auto source = open_live(o, ec, detail);
  REQUIRE_MESSAGE(source, detail);
  CHECK(source->selectable_fd() >= 0);
  CountingSink sink;
  std::size_t delivered = 0;
  CHECK_FALSE(source->dispatch(-1, sink, delivered));  // non-blocking: nothing or something
  const auto stats = source->stats();
  REQUIRE(stats);
  o.filter = "this is not bpf";
  CHECK_FALSE(open_live(o, ec, detail));
  CHECK(ec == errc::bad_filter);
  o.interface = "edgeid-no-such-if";
  o.filter.clear();
  CHECK_FALSE(open_live(o, ec, detail));
  CHECK(ec == errc::open_failed);
}

}  // namespace
}  // namespace edgeid::capture

#pragma once
/// @file
/// FrameBatch: decoded frames packed for hand-over from the thread that reads and decodes to the
/// thread that applies them to a DeviceTable. A FrameFacts views the packet buffer, which
/// libpcap reuses for the next packet; a batch copies the facts a frame proved and the bytes
/// their texts view, so its frames stay valid after the packet is gone, at the size of what was
/// proved (a few dozen bytes for most frames) rather than of the frame.
///
/// Error policy: no exceptions except std::bad_alloc; append() reports a full batch by
/// returning false. Thread safety: a plain value; hand a batch from one thread to the other
/// under the caller's synchronisation.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "capture/decode.h"
#include "platform/time.h"

namespace edgeid::capture {

class FrameBatch {
 public:
  /// A batch takes up to @p max_frames frames and @p text_bytes bytes of text. A frame whose
  /// texts alone exceed text_bytes is still taken when the batch is empty (the text area grows
  /// for it), so a batch can always make progress.
  explicit FrameBatch(std::size_t max_frames = 4096,
                      std::size_t text_bytes = std::size_t{64} * 1024);

  /// Copies @p frame (with the texts its facts view) seen at @p when. Returns false, and leaves
  /// the batch unchanged, when it is full.
  bool append(const FrameFacts& frame, platform::Timestamp when);

  std::size_t size() const noexcept { return frames_.size(); }
  bool empty() const noexcept { return frames_.empty(); }
  /// Forgets every frame; capacity is kept for reuse.
  void clear() noexcept;

  /// Rebuilds frame @p index into @p out and returns its time. The texts of @p out's facts view
  /// this batch: valid until clear() or the batch's destruction. @p out's scratch is not used.
  platform::Timestamp load(std::size_t index, FrameFacts& out) const noexcept;
  /// The source MAC of frame @p index, if it has one (what DeviceTable::prefetch() needs).
  const MacAddress* source(std::size_t index) const noexcept;

 private:
  struct Frame {
    platform::Timestamp when;
    MacAddress src;
    MacAddress dst;
    bool has_src = false;
    bool has_dst = false;
    std::uint8_t fact_count = 0;
    VlanStack vlans;
    std::uint32_t wire_length = 0;
    std::uint32_t first_fact = 0;
  };

  std::size_t max_frames_;
  std::vector<Frame> frames_;
  std::vector<Fact> facts_;
  // Facts' texts point into this area, so it never moves while frames use it: it is replaced
  // (never reallocated in place) only when the batch is empty.
  std::unique_ptr<std::uint8_t[]> text_;
  std::size_t text_capacity_;
  std::size_t text_used_ = 0;
};

}  // namespace edgeid::capture

#include "capture/frame_batch.h"

#include <algorithm>
#include <cstring>

namespace edgeid::capture {

FrameBatch::FrameBatch(std::size_t max_frames, std::size_t text_bytes)
    : max_frames_(std::max<std::size_t>(max_frames, 1)),
      text_(std::make_unique<std::uint8_t[]>(text_bytes)),
      text_capacity_(text_bytes) {
  frames_.reserve(max_frames_);
  // Most frames prove one or two facts (the source address); more is reallocated as needed.
  facts_.reserve(max_frames_ * 2);
}

bool FrameBatch::append(const FrameFacts& frame, platform::Timestamp when) {
  if (frames_.size() >= max_frames_) return false;
  const auto facts = frame.view();
  std::size_t text = 0;
  for (const Fact& f : facts) text += f.text.size();
  if (text > text_capacity_ - text_used_) {
    if (!frames_.empty()) return false;
    text_ = std::make_unique<std::uint8_t[]>(text);
    text_capacity_ = text;
    text_used_ = 0;
  }
  Frame out;
  out.when = when;
  out.src = frame.src;
  out.dst = frame.dst;
  out.has_src = frame.has_src;
  out.has_dst = frame.has_dst;
  out.fact_count = frame.fact_count;
  out.vlans = frame.vlans;
  out.wire_length = frame.wire_length;
  out.first_fact = static_cast<std::uint32_t>(facts_.size());
  for (const Fact& f : facts) {
    Fact& copy = facts_.emplace_back(f);
    if (f.text.empty()) continue;
    std::uint8_t* at = text_.get() + text_used_;
    std::memcpy(at, f.text.data(), f.text.size());
    copy.text = {at, f.text.size()};
    text_used_ += f.text.size();
  }
  frames_.push_back(out);
  return true;
}

void FrameBatch::clear() noexcept {
  frames_.clear();
  facts_.clear();
  text_used_ = 0;
}

platform::Timestamp FrameBatch::load(std::size_t index, FrameFacts& out) const noexcept {
  const Frame& f = frames_[index];
  out.src = f.src;
  out.dst = f.dst;
  out.has_src = f.has_src;
  out.has_dst = f.has_dst;
  out.vlans = f.vlans;
  out.wire_length = f.wire_length;
  out.fact_count = f.fact_count;
  out.scratch_used = 0;
  std::copy_n(facts_.begin() + f.first_fact, f.fact_count, out.facts.begin());
  return f.when;
}

const MacAddress* FrameBatch::source(std::size_t index) const noexcept {
  const Frame& f = frames_[index];
  return f.has_src ? &f.src : nullptr;
}

}  // namespace edgeid::capture
